"""Review reads: the exam overview (a fixed number of queries for any class size).

Queries of `exam_overview`: attempts (+ user, identity, review, score), flag counts, segment
progress, recording gaps, accommodations, roster learners without an attempt: six, whether
the class has 10 students or 1,000. Sorting and filtering then happen in Python over rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, Q, Sum
from django.utils.translation import gettext_lazy as _

from proctor_lti.exams.models import Accommodation, Attempt, Exam
from proctor_lti.lti.models import Membership
from proctor_lti.recordings.models import Recording, Segment

from . import scoring
from .models import Flag
from .vocabulary import flag_label

STATUS_GROUPS: dict[str, tuple[str, ...]] = {
    "not_started": (),
    "in_progress": ("created", "prechecks", "ready", "in_progress"),
    "analysing": ("submitted", "analysing"),
    "ready": ("reviewable",),
    "reviewed": ("reviewed",),
    "ended": ("interrupted", "terminated", "error"),
}
STATUS_LABELS = {
    "not_started": _("Not started"),
    "in_progress": _("In progress"),
    "analysing": _("Analysing"),
    "ready": _("Ready for review"),
    "reviewed": _("Reviewed"),
    "ended": _("Ended early"),
}
BAND_LABELS = {"red": _("High"), "yellow": _("Medium"), "green": _("Low")}
SORTS = ("suspicion", "-suspicion", "name", "-name", "status", "-status", "started", "-started")
ANALYSED_KINDS = ("webcam",)


def status_group(status: str | None) -> str:
    for group, members in STATUS_GROUPS.items():
        if status in members:
            return group
    return "not_started" if status is None else "ended"


ROW_FIELDS = ("pk", "user_id", "number", "status", "started_at", "ended_at", "suspicion_score",
              "user__username", "user__first_name", "user__last_name", "user__email",
              "user__lti_identity__name", "user__lti_identity__email", "review__outcome")


def _name(v: Mapping[str, Any]) -> str:
    """Display name from a values() row: the LMS name, else email, else the Django user."""
    full = f"{v['user__first_name'] or ''} {v['user__last_name'] or ''}".strip()
    return (v["user__lti_identity__name"] or v["user__lti_identity__email"] or full
            or v["user__username"])


def display_name(user: Any) -> str:
    identity = getattr(user, "lti_identity", None)
    if identity is not None and (identity.name or identity.email):
        return identity.name or identity.email
    return user.get_full_name() or user.get_username()


@dataclass
class Row:
    attempt_id: int | None
    user_id: int
    name: str
    email: str
    number: int
    status: str
    status_group: str
    started_at: Any
    score: float | None
    band: str | None
    flag_counts: dict[str, int] = field(default_factory=dict)
    flags_total: int = 0
    segments_done: int = 0
    segments_total: int = 0
    gaps: int = 0
    accommodation: dict[str, Any] | None = None
    outcome: str = ""
    peer_labels: list[str] = field(default_factory=list)
    type_counts: list[int] = field(default_factory=list)

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status_group])

    @property
    def band_label(self) -> str:
        return str(BAND_LABELS.get(self.band or "", _("Not scored")))

    @property
    def progress_pct(self) -> int:
        return round(100 * self.segments_done / self.segments_total) if self.segments_total else 0


def _peer_labels(rows: list[Row], head_secs: dict[int, float],
                 durations: dict[int, float]) -> None:
    """Label attempts that stand out from the class. A separate signal, not the score."""
    shares = {pk: head_secs.get(pk, 0.0) / max(secs, 60.0) for pk, secs in durations.items()}
    looked = scoring.peer_z_scores(shares)
    fast = scoring.peer_z_scores(durations)
    for row in rows:
        if row.attempt_id is None:
            continue
        if looked.get(row.attempt_id, 0.0) >= scoring.PEER_Z:
            row.peer_labels.append(str(_("Looked away much more than peers")))
        if fast.get(row.attempt_id, 0.0) <= -scoring.PEER_Z:
            row.peer_labels.append(str(_("Finished much faster than peers")))


def exam_overview(*, exam: Exam, params: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every attempt of the exam and every rostered learner who has not started.

    `params`: sort (one of SORTS), band (red/yellow/green/none), status (a STATUS_GROUPS key),
    flag (a flag type present), q (name or email contains). Unknown values are ignored.
    """
    params = params or {}
    # values(): 500 rows as dicts cost a tenth of 500 model instances with their JSON fields.
    attempts = list(Attempt.objects.filter(exam=exam).values(*ROW_FIELDS))
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    head_secs: dict[int, float] = defaultdict(float)
    for rec in (Flag.objects.filter(attempt__exam=exam)
                .exclude(decision=Flag.Decision.DISMISSED)
                .values("attempt_id", "type")
                .annotate(n=Count("id"), secs=Sum(F("end_s") - F("start_s")))):
        counts[rec["attempt_id"]][rec["type"]] = rec["n"]
        if scoring.metric_of(rec["type"]) == "head_movement":
            head_secs[rec["attempt_id"]] += rec["secs"] or 0.0
    progress = {rec["recording__attempt_id"]: rec for rec in (
        Segment.objects.filter(recording__attempt__exam=exam, recording__kind__in=ANALYSED_KINDS)
        .values("recording__attempt_id")
        .annotate(total=Count("id"), done=Count("id", filter=Q(status__in=["done", "failed"]))))}
    gaps: dict[int, int] = defaultdict(int)
    for attempt_id, gap_list in Recording.objects.filter(attempt__exam=exam).values_list(
            "attempt_id", "gaps"):
        gaps[attempt_id] += len(gap_list or [])
    accommodations = {a.user_id: a for a in Accommodation.objects.filter(exam=exam)}

    rows: list[Row] = []
    durations: dict[int, float] = {}
    for a in attempts:
        pk = a["pk"]
        outcome = a["review__outcome"] or ""
        group = status_group(a["status"])
        if outcome and group == "ready":
            group = "reviewed"
        prog = progress.get(pk, {})
        mine = counts.get(pk, {})
        rows.append(Row(
            attempt_id=pk, user_id=a["user_id"], name=_name(a),
            email=a["user__lti_identity__email"] or a["user__email"], number=a["number"],
            status=a["status"], status_group=group, started_at=a["started_at"],
            score=a["suspicion_score"], band=scoring.band(a["suspicion_score"]),
            flag_counts=mine, flags_total=sum(mine.values()),
            segments_done=prog.get("done", 0), segments_total=prog.get("total", 0),
            gaps=gaps.get(pk, 0), outcome=outcome,
            accommodation=_accommodation_summary(accommodations.get(a["user_id"]))))
        if a["started_at"] and a["ended_at"] and a["ended_at"] > a["started_at"]:
            durations[pk] = (a["ended_at"] - a["started_at"]).total_seconds()
    _peer_labels(rows, head_secs, durations)

    started = {a["user_id"] for a in attempts}
    for m in (Membership.objects.filter(context_id=exam.context_id, role=Membership.Role.LEARNER)
              .exclude(user_id__in=started).select_related("user", "user__lti_identity")):
        identity = getattr(m.user, "lti_identity", None)
        rows.append(Row(attempt_id=None, user_id=m.user_id, name=display_name(m.user),
                        email=identity.email if identity else m.user.email, number=0,
                        status="", status_group="not_started", started_at=None, score=None,
                        band=None,
                        accommodation=_accommodation_summary(accommodations.get(m.user_id))))

    flag_types = sorted({t for c in counts.values() for t in c})
    for row in rows:
        row.type_counts = [row.flag_counts.get(t, 0) for t in flag_types]
    total = len(rows)
    rows = _filter(rows, params)
    requested = params.get("sort") or ""
    sort = requested if requested in SORTS else "-suspicion"
    rows = _sort(rows, sort)
    return {"rows": rows, "flag_types": [(t, flag_label(t)) for t in flag_types],
            "sort": sort, "total": total, "shown": len(rows),
            "band_counts": _band_counts(rows)}


def _accommodation_summary(acc: Accommodation | None) -> dict[str, Any] | None:
    if acc is None:
        return None
    parts = []
    if acc.extra_time_minutes:
        parts.append(str(_("%(n)s min extra time") % {"n": acc.extra_time_minutes}))
    for check in acc.exempt_checks or []:
        parts.append(str(_("exempt from %(check)s") % {"check": str(check).replace("_", " ")}))
    if acc.alternate_settings:
        parts.append(str(_("alternate settings")))
    return {"summary": "; ".join(parts) or str(_("accommodation on file"))}


def _filter(rows: list[Row], params: Mapping[str, str]) -> list[Row]:
    band = params.get("band")
    if band in ("red", "yellow", "green"):
        rows = [r for r in rows if r.band == band]
    elif band == "none":
        rows = [r for r in rows if r.band is None]
    status = params.get("status")
    if status in STATUS_GROUPS:
        rows = [r for r in rows if r.status_group == status]
    flag = params.get("flag")
    if flag:
        rows = [r for r in rows if r.flag_counts.get(flag)]
    q = (params.get("q") or "").strip().lower()
    if q:
        rows = [r for r in rows if q in r.name.lower() or q in (r.email or "").lower()]
    return rows


def _sort(rows: list[Row], sort: str) -> list[Row]:
    reverse = sort.startswith("-")
    key = sort.lstrip("-")
    order = list(STATUS_GROUPS)
    if key == "suspicion":
        # Unscored rows always last, whatever the direction.
        scored = sorted([r for r in rows if r.score is not None],
                        key=lambda r: (r.score, r.name.lower()), reverse=reverse)
        return scored + sorted([r for r in rows if r.score is None], key=lambda r: r.name.lower())
    if key == "name":
        return sorted(rows, key=lambda r: (r.name.lower(), r.number), reverse=reverse)
    if key == "status":
        return sorted(rows, key=lambda r: (order.index(r.status_group), r.name.lower()),
                      reverse=reverse)
    with_start = sorted([r for r in rows if r.started_at], key=lambda r: r.started_at,
                        reverse=reverse)
    return with_start + [r for r in rows if not r.started_at]


def _band_counts(rows: list[Row]) -> dict[str, int]:
    out = {"red": 0, "yellow": 0, "green": 0}
    for r in rows:
        if r.band in out:
            out[r.band] += 1
    return out
