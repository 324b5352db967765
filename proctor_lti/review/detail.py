"""Reads for one attempt: flags with evidence, events, gaps, notes, score, peer signals."""

from __future__ import annotations

import statistics
from typing import Any

from django.db.models import F, Prefetch, Sum

from proctor_lti.exams.models import (
    Accommodation,
    AgreementAcceptance,
    Attempt,
    PrecheckFrame,
)
from proctor_lti.exams.vocabulary import EVENT_METRIC, FLAG_METRIC
from proctor_lti.recordings.models import AttemptVault, Chunk, Recording

from . import scoring
from .models import AttemptReview, AttemptScore, Evidence, Flag, ReviewNote
from .scoring_service import attempt_exam_seconds
from .timeline import TLEvent, TLFlag, render_timeline
from .vocabulary import FLAG_LABELS, REASON_CODES, flag_label

GAP_EVENTS = {"network_offline": "network_online"}
ID_KINDS = ("photo_id", "room_scan", "camera_test")


def _offset(attempt: Attempt, event: Any) -> float:
    if event.offset_s is not None:
        return max(0.0, float(event.offset_s))
    if attempt.started_at:
        return max(0.0, (event.occurred_at - attempt.started_at).total_seconds())
    return 0.0


def attempt_gaps(attempt: Attempt, events: list[Any], recordings: list[Recording],
                 chunk_seconds: float = 6.0) -> list[tuple[float, float, str]]:
    """Network gaps (offline -> online events) and upload gaps (missing chunk ranges)."""
    gaps: list[tuple[float, float, str]] = []
    open_at: float | None = None
    for e in events:
        if e.type == "network_offline" and open_at is None:
            open_at = _offset(attempt, e)
        elif e.type == "network_online" and open_at is not None:
            gaps.append((open_at, _offset(attempt, e), "offline"))
            open_at = None
    if open_at is not None:
        gaps.append((open_at, open_at + chunk_seconds, "offline"))
    gaps += _reload_gaps(attempt, events, recordings, chunk_seconds)
    with_gaps = [rec for rec in recordings if rec.gaps]
    starts: dict[tuple[int, int], float] = {}
    if with_gaps:
        # Where a gap lies in time comes from the chunks around it (their start in the exam),
        # not from sequence numbers: recording starts late, segments differ in length.
        starts = {(r, q): t for r, q, t in Chunk.objects.filter(
            recording__in=with_gaps, start_s__isnull=False)
            .values_list("recording_id", "seq", "start_s")}
    for rec in with_gaps:
        for rng in rec.gaps:
            try:
                first, last = int(rng[0]), int(rng[-1])
            except (TypeError, ValueError, IndexError):
                continue
            before, after = starts.get((rec.pk, first - 1)), starts.get((rec.pk, last + 1))
            missing = last - first + 1
            if before is not None and after is not None and after > before:
                slot = (after - before) / (missing + 1)
                span = (before + slot, after)
            elif after is not None:
                span = (max(0.0, after - missing * chunk_seconds), after)
            elif before is not None:
                span = (before + chunk_seconds, before + (missing + 1) * chunk_seconds)
            else:  # no neighbour with a time: estimate from the sequence numbers
                span = (first * chunk_seconds, (last + 1) * chunk_seconds)
            gaps.append((round(span[0], 3), round(span[1], 3), f"{rec.kind} upload"))
    return sorted(gaps)


def _reload_gaps(attempt: Attempt, events: list[Any], recordings: list[Recording],
                 chunk_seconds: float) -> list[tuple[float, float, str]]:
    """Stretches lost to a page reload: from the end of the last piece stored before each
    `recording_resumed` event to the event (recording started again then)."""
    resumed = [_offset(attempt, e) for e in events if e.type == "recording_resumed"]
    if not resumed:
        return []
    starts = sorted(Chunk.objects.filter(
        recording__in=[r for r in recordings if r.kind in ("webcam", "screen")],
        start_s__isnull=False).values_list("start_s", flat=True))
    gaps = []
    for t in resumed:
        before = [s for s in starts if s < t]
        lost_from = min(t, before[-1] + chunk_seconds) if before else t
        if t - lost_from > 0.5:
            gaps.append((round(lost_from, 3), round(t, 3), "page reload"))
    return gaps


def peer_signals(attempt: Attempt) -> list[scoring.PeerSignal]:
    """How this attempt compares with the other attempts of the exam (separate signal)."""
    others = list(Attempt.objects.filter(exam_id=attempt.exam_id, started_at__isnull=False,
                                         ended_at__isnull=False).exclude(pk=attempt.pk)
                  .values_list("pk", "started_at", "ended_at"))
    head_types = [t for t, m in FLAG_METRIC.items() if m == "head_movement"] + ["head_movement"]
    secs = dict(Flag.objects.filter(attempt__exam_id=attempt.exam_id, type__in=head_types)
                .exclude(decision=Flag.Decision.DISMISSED).values("attempt_id")
                .annotate(s=Sum(F("end_s") - F("start_s"))).values_list("attempt_id", "s"))
    own_s = attempt_exam_seconds(attempt)
    out = []
    shares = [(secs.get(pk) or 0.0) / max(60.0, (e - s).total_seconds())
              for pk, s, e in others]
    sig = scoring.peer_signal("head_movement", "Looking away compared with peers",
                              (secs.get(attempt.pk) or 0.0) / max(60.0, own_s), shares)
    if sig:
        out.append(sig)
    if attempt.started_at and attempt.ended_at:
        durations = [(e - s).total_seconds() / 60 for _pk, s, e in others]
        own = (attempt.ended_at - attempt.started_at).total_seconds() / 60
        sig = scoring.peer_signal("duration", "Time taken compared with peers", own, durations)
        if sig:
            sig.much_more = False
            if sig.z <= -scoring.PEER_Z and statistics.pstdev(durations) > 0:
                sig.label = "Finished much faster than peers"
            out.append(sig)
    return out


def attempt_detail(*, attempt: Attempt, for_student: bool = False) -> dict[str, Any]:
    """Everything the attempt page shows, in a fixed number of queries."""
    flags = list(attempt.flags.all().select_related("decided_by", "decided_by__lti_identity")
                 .prefetch_related(Prefetch("evidence",
                                            queryset=Evidence.objects.order_by("at_s"))))
    events = list(attempt.events.all().order_by("occurred_at", "id"))
    recordings = list(Recording.objects.filter(attempt=attempt))
    duration = attempt_exam_seconds(attempt, max((f.end_s for f in flags), default=0.0))
    gaps = attempt_gaps(attempt, events, recordings)
    shown_events = [e for e in events if e.type != "heartbeat"]
    # Status changes written by review (e.g. "reviewed" days later) are in the log, but the
    # timeline covers the exam: events after it would squash the exam into a sliver.
    on_timeline = [e for e in shown_events
                   if e.type != "status_change" or _offset(attempt, e) <= duration]
    svg = render_timeline(
        duration_s=duration,
        flags=[TLFlag(f.pk, f.type, f.start_s, f.end_s, f.decision, f.confidence)
               for f in flags],
        events=[TLEvent(e.type, _offset(attempt, e)) for e in on_timeline],
        gaps=gaps)
    score = AttemptScore.objects.filter(attempt=attempt).first()
    vault = (AttemptVault.objects.filter(attempt=attempt)
             .values("retain_until", "purged_at").first() or {})
    data: dict[str, Any] = {
        "attempt": attempt,
        "flags": [{"flag": f, "label": flag_label(f.type), "duration": f.end_s - f.start_s,
                   "metric": scoring.metric_of(f.type)} for f in flags],
        "events": [{"event": e, "label": flag_label(e.type), "at_s": _offset(attempt, e),
                    "scored": EVENT_METRIC.get(e.type) is not None} for e in shown_events],
        "timeline_svg": svg,
        "duration_s": duration,
        "gaps": gaps,
        "score": score,
        "kinds": {r.kind: r for r in recordings},
        "recordings": recordings,
        "retain_until": vault.get("retain_until"),
        "media_purged_at": vault.get("purged_at"),
    }
    if for_student:
        return data
    data.update({
        "review": AttemptReview.objects.filter(attempt=attempt)
        .select_related("decided_by__lti_identity").first(),
        "notes": list(ReviewNote.objects.filter(attempt=attempt)
                      .select_related("author__lti_identity").order_by("created_at")),
        "accommodation": Accommodation.objects.filter(exam_id=attempt.exam_id,
                                                      user_id=attempt.user_id).first(),
        "agreement": AgreementAcceptance.objects.filter(attempt=attempt)
        .select_related("version").first(),
        "peer_signals": peer_signals(attempt),
        "reason_codes": {k: list(v.items()) for k, v in REASON_CODES.items()},
        "id_kinds": [] if vault.get("purged_at") else [
            k for k in ID_KINDS if k in {r.kind for r in recordings}],
        # Results only: the still itself is erased by the exam flow once checked.
        "precheck_frames": list(PrecheckFrame.objects.filter(attempt=attempt)
                                .values("kind", "state", "result", "created_at")
                                .order_by("created_at")),
        "flag_labels": FLAG_LABELS,
    })
    return data
