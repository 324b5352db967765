"""Review writes: flags from detection and lockdown events, reviewer decisions, outcomes.

Pipeline position: recordings' aggregation task -> flags_replace_from_detection -> lockdown
flags -> score_recalculate. Every reviewer action writes an audit entry (REVIEW).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from proctor_lti.core.audit import audit_record
from proctor_lti.core.errors import UserFacingError
from proctor_lti.core.models import AuditEntry
from proctor_lti.exams.models import Attempt, Exam

from .lockdown import lockdown_flag_specs
from .models import AttemptReview, Evidence, Flag, ReviewNote
from .scoring_service import score_recalculate, scores_recalculate_for_exam  # noqa: F401
from .vocabulary import REASON_CODES

logger = logging.getLogger(__name__)
REVIEW_PREFIX = "review-"

__all__ = [
    "flags_replace_from_detection", "flags_from_lockdown_events", "flag_decide",
    "review_note_add", "attempt_outcome_set", "attempt_acs_send", "score_recalculate",
    "scores_recalculate_for_exam",
]


def _overlaps(a_start: float, a_end: float, b_start: float, b_end: float) -> bool:
    # Zero-length spans (point events) overlap a span that contains them.
    return a_start <= b_end and b_start <= a_end


def _carry_decisions(new: list[Flag], old: list[Flag]) -> None:
    """Copy a reviewer's decision onto the new flag that matches it (same type, overlap)."""
    decided = [f for f in old if f.decision != Flag.Decision.OPEN]
    for flag in new:
        for prev in decided:
            if prev.type == flag.type and _overlaps(prev.start_s, prev.end_s,
                                                    flag.start_s, flag.end_s):
                flag.decision = prev.decision
                flag.reason_code = prev.reason_code
                flag.decided_by_id = prev.decided_by_id
                flag.decided_at = prev.decided_at
                decided.remove(prev)
                break


def _attr(obj: Any, name: str) -> Any:
    return obj[name] if isinstance(obj, Mapping) else getattr(obj, name)


def _store_thumbnail(attempt: Attempt, data: bytes) -> tuple[str, str]:
    """Encrypt and store one evidence image with the attempt's data key."""
    from proctor_lti.recordings import crypto
    from proctor_lti.recordings.storage import media_write

    # Same naming and binding as recordings.analysis, so one reader serves both.
    name = f"recordings/{attempt.id}/evidence/{REVIEW_PREFIX}{secrets.token_hex(8)}.enc"
    label = f"evidence/{name}"
    key = crypto.data_key(crypto.vault_for(attempt.id))
    media_write(name, crypto.encrypt(key, data, crypto.aad_for(attempt.id, label)))
    return name, label


def _evidence_items(evidence: Any) -> list[dict[str, Any]]:
    """Normalise `evidence` to [{"t", "data" | "name", "label"}].

    Accepted shapes: {seconds: jpeg bytes}, or a list of dicts as recordings keeps them in
    Segment.evidence ({"t", "name", optionally "label"/"aad_label"}) for thumbnails that
    are already stored encrypted.
    """
    items: list[dict[str, Any]] = []
    if not evidence:
        return items
    if isinstance(evidence, Mapping):
        for t, value in evidence.items():
            if isinstance(value, bytes | bytearray | memoryview):
                items.append({"t": float(t), "data": bytes(value)})
            elif isinstance(value, str):
                items.append({"t": float(t), "name": value, "label": f"evidence/{value}"})
        return items
    for entry in evidence:
        if isinstance(entry, Mapping) and "t" in entry:
            item: dict[str, Any] = {"t": float(entry["t"])}
            if entry.get("data") is not None:
                item["data"] = bytes(entry["data"])
            elif entry.get("name"):
                item["name"] = str(entry["name"])
                item["label"] = str(entry.get("aad_label") or f"evidence/{entry['name']}")
            else:
                continue
            items.append(item)
    return items


def _evidence_for(flag: Flag, items: list[dict[str, Any]], limit: int = 6) -> list[dict[str, Any]]:
    wanted = {round(float(t), 3) for t in flag.explanation.get("evidence_timestamps") or []}
    inside = [i for i in items if round(i["t"], 3) in wanted
              or flag.start_s - 0.5 <= i["t"] <= flag.end_s + 0.5]
    return inside[:limit]


def flags_replace_from_detection(*, attempt: Attempt, flags: Iterable[Any],
                                 evidence: Any = None) -> list[Flag]:
    """Replace the attempt's detection flags with `flags` (detection.Flag objects or dicts).

    Idempotent: the aggregation may run again (a late segment, a re-run from admin) and the
    result is the same set of flags. Reviewer decisions survive on the new flag of the same
    type whose time span overlaps the decided one. Evidence thumbnails given as bytes are
    encrypted with the attempt's data key. Lockdown flags and the score are refreshed too.
    """
    items = _evidence_items(evidence)
    stored: dict[int, tuple[str, str]] = {}
    # Encrypt and write outside the transaction: storage can be slow, the DB lock short.
    for index, item in enumerate(items):
        if "data" in item:
            stored[index] = _store_thumbnail(attempt, item["data"])
    for index, item in enumerate(items):
        if index in stored:
            item["name"], item["label"] = stored[index]

    old_names: list[str] = []
    with transaction.atomic():
        Attempt.objects.select_for_update().filter(pk=attempt.pk).first()
        old = list(attempt.flags.filter(source=Flag.Source.DETECTION))
        old_names = list(Evidence.objects.filter(flag__in=old).values_list("storage_name",
                                                                            flat=True))
        new: list[Flag] = []
        for f in flags:
            start, end = float(_attr(f, "start_s")), float(_attr(f, "end_s"))
            new.append(Flag(attempt=attempt, source=Flag.Source.DETECTION,
                            type=str(_attr(f, "type")), start_s=start, end_s=max(start, end),
                            confidence=float(_attr(f, "confidence")),
                            explanation=dict(_attr(f, "explanation") or {})))
        _carry_decisions(new, old)
        attempt.flags.filter(pk__in=[f.pk for f in old]).delete()
        Flag.objects.bulk_create(new)
        rows = []
        for flag in new:
            for item in _evidence_for(flag, items):
                rows.append(Evidence(flag=flag, at_s=item["t"], storage_name=item["name"],
                                     aad_label=item.get("label", "")))
        Evidence.objects.bulk_create(rows)
        flags_from_lockdown_events(attempt=attempt, rescore=False)
        score_recalculate(attempt=attempt)
    kept = {r.storage_name for r in rows}
    # Only thumbnails this module wrote; recordings owns the ones named in Segment.evidence.
    stale = [n for n in old_names if n not in kept and REVIEW_PREFIX in n.rsplit("/", 1)[-1]]
    if stale:
        transaction.on_commit(lambda: _delete_files(stale))
    return new


def _delete_files(names: list[str]) -> None:
    from proctor_lti.recordings.storage import media_delete

    for name in names:
        try:
            media_delete(name)
        except OSError:
            logger.warning("could not delete stale evidence file %s", name)


def flags_from_lockdown_events(*, attempt: Attempt, rescore: bool = True) -> list[Flag]:
    """Turn the attempt's lockdown events into flags (away spans, copy/paste bursts...).

    Idempotent like the detection flags: lockdown flags are replaced, decisions kept.
    Events that map to no behaviour metric (heartbeats, network changes) stay in the event
    log and the timeline only.
    """
    events = list(attempt.events.all().order_by("occurred_at", "id"))
    specs = lockdown_flag_specs(events, attempt.started_at)
    with transaction.atomic():
        old = list(attempt.flags.filter(source=Flag.Source.LOCKDOWN))
        new = [Flag(attempt=attempt, source=Flag.Source.LOCKDOWN, type=s.type,
                    start_s=s.start_s, end_s=s.end_s, confidence=1.0,
                    explanation=s.explanation) for s in specs]
        _carry_decisions(new, old)
        attempt.flags.filter(pk__in=[f.pk for f in old]).delete()
        Flag.objects.bulk_create(new)
        if rescore:
            score_recalculate(attempt=attempt)
    return new


def _context_id(attempt: Attempt) -> int:
    return attempt.exam.context_id


def flag_decide(*, flag: Flag, actor: Any, decision: str, reason_code: str,
                request: HttpRequest | None = None) -> Flag:
    """Confirm or dismiss a flag (or reopen it) with a reason code; re-scores the attempt."""
    if decision not in Flag.Decision.values:
        raise UserFacingError(_("Unknown decision."), code="bad_decision")
    allowed = REASON_CODES.get(decision, {})
    if decision != Flag.Decision.OPEN and reason_code not in allowed:
        raise UserFacingError(_("Choose a reason for this decision."),
                              hint=_("Pick one of the listed reasons."), code="bad_reason")
    previous = flag.decision
    with transaction.atomic():
        flag.decision = decision
        flag.reason_code = reason_code if decision != Flag.Decision.OPEN else ""
        flag.decided_by = actor if decision != Flag.Decision.OPEN else None
        flag.decided_at = timezone.now() if decision != Flag.Decision.OPEN else None
        flag.save(update_fields=["decision", "reason_code", "decided_by", "decided_at",
                                 "updated_at"])
        audit_record(actor=actor, action=AuditEntry.Action.REVIEW, target=flag,
                     context_id=_context_id(flag.attempt), request=request,
                     detail={"event": "flag_decided", "attempt": flag.attempt_id,
                             "type": flag.type, "from": previous, "to": decision,
                             "reason_code": flag.reason_code})
        score_recalculate(attempt=flag.attempt)
    return flag


def _refuse_nul(text: str) -> None:
    """PostgreSQL cannot store NUL in text or jsonb: bad input, not a server error."""
    if "\x00" in (text or ""):
        raise UserFacingError(_("The text contains a character that cannot be stored."),
                              code="bad_text")


def review_note_add(*, attempt: Attempt, actor: Any, text: str,
                    request: HttpRequest | None = None) -> ReviewNote:
    """Add a reviewer note to the attempt's incident log."""
    text = (text or "").strip()
    if not text:
        raise UserFacingError(_("The note is empty."), code="empty_note")
    _refuse_nul(text)
    if len(text) > 5000:
        raise UserFacingError(_("The note is too long (5,000 characters at most)."),
                              code="note_too_long")
    with transaction.atomic():
        note = ReviewNote.objects.create(attempt=attempt, author=actor, text=text)
        audit_record(actor=actor, action=AuditEntry.Action.REVIEW, target=attempt,
                     context_id=_context_id(attempt), request=request,
                     detail={"event": "note_added", "note": note.pk})
    return note


def attempt_outcome_set(*, attempt: Attempt, actor: Any, outcome: str,
                        request: HttpRequest | None = None) -> AttemptReview:
    """Record the reviewer's outcome (no issue / needs follow-up / incident) with who and when.

    A reviewable attempt moves to `reviewed` through the exam flow's status machine.
    """
    if outcome not in {o for o in AttemptReview.Outcome.values if o}:
        raise UserFacingError(_("Choose an outcome."), code="bad_outcome")
    with transaction.atomic():
        review, _created = AttemptReview.objects.get_or_create(attempt=attempt)
        previous = review.outcome
        review.outcome = outcome
        review.decided_by = actor
        review.decided_at = timezone.now()
        review.save()
        audit_record(actor=actor, action=AuditEntry.Action.REVIEW, target=attempt,
                     context_id=_context_id(attempt), request=request,
                     detail={"event": "outcome_set", "from": previous, "to": outcome})
        if attempt.status == Attempt.Status.REVIEWABLE:
            _mark_reviewed(attempt, actor)
    return review


def _mark_reviewed(attempt: Attempt, actor: Any) -> None:
    from proctor_lti.exams.services import attempt_transition

    try:
        attempt_transition(attempt=attempt, to=Attempt.Status.REVIEWED, actor=actor,
                           reason="review outcome")
    except UserFacingError as exc:  # the status machine refused: keep the outcome anyway
        logger.warning("attempt %s not moved to reviewed: %s", attempt.pk, exc.message)


ACS_ACTIONS = ("flag", "terminate")


def attempt_acs_send(*, attempt: Attempt, actor: Any, action: str, reason: str = "",
                     request: HttpRequest | None = None) -> Any:
    """Send `flag` or `terminate` to the platform's Assessment Control Service."""
    if action not in ACS_ACTIONS:
        raise UserFacingError(_("Unknown Assessment Control action."), code="bad_acs_action")
    _refuse_nul(reason)
    if attempt.exam.delivery != Exam.Delivery.PROCTORING_SERVICES or not attempt.lti_acs_url:
        raise UserFacingError(
            _("This attempt was not started through LTI Proctoring Services, so the platform "
              "offers no Assessment Control Service for it."), code="no_acs", status=409)
    from proctor_lti.lti.service_clients import LtiServiceError, acs_send

    try:
        result = acs_send(attempt, action=action, reason_code=f"reviewer_{action}",
                          reason_msg=reason[:500])
    except LtiServiceError as exc:
        raise UserFacingError(_("The platform did not accept the request: %(error)s")
                              % {"error": exc}, code="acs_failed", status=502) from exc
    audit_record(actor=actor, action=AuditEntry.Action.REVIEW, target=attempt,
                 context_id=_context_id(attempt), request=request,
                 detail={"event": "acs_sent", "action": action, "reason": reason,
                         "result": str(result)[:200]})
    if action == "terminate":
        # The platform has ended the assessment: end the proctored session too, or the
        # student's page would go on recording.
        from proctor_lti.exams.attempts import attempt_end

        attempt_end(attempt=attempt, actor=actor, reason=f"terminated by reviewer: {reason}"[:200],
                    terminated=True)
    return result
