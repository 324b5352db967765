"""CSV export of an exam's attempts and flags (for misconduct hearings and records)."""

from __future__ import annotations

import csv
import io

from django.http import HttpRequest, HttpResponse
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from proctor_lti.core.audit import audit_record
from proctor_lti.core.models import AuditEntry
from proctor_lti.exams.models import Exam

from . import access, selectors
from .models import Flag
from .views import review_view


def _safe(value: object) -> str:
    """Neutralise spreadsheet formulas (CSV injection) in text cells."""
    text = "" if value is None else str(value)
    # Spreadsheets skip leading spaces and read full-width signs as formulas too.
    lead = text.lstrip(" \u3000")[:1]
    if text[:1] in ("\t", "\r", "\n") or lead in ("=", "+", "-", "@", "\uff1d", "\uff0b",
                                                "\uff0d", "\uff20"):
        return "'" + text
    return text


def exam_csv(*, exam: Exam) -> str:
    """Two sections in one file: one row per attempt, then one row per flag."""
    overview = selectors.exam_overview(exam=exam, params={"sort": "-suspicion"})
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["section", "attempt_id", "student", "email", "attempt_number", "status",
                "started_at", "suspicion_percent", "level", "flags", "upload_gaps",
                "accommodation", "outcome", "compared_with_class"])
    for r in overview["rows"]:
        w.writerow(["attempt", r.attempt_id or "", _safe(r.name), _safe(r.email),
                    r.number or "", r.status_label,
                    r.started_at.isoformat() if r.started_at else "",
                    "" if r.score is None else f"{r.score:.1f}", r.band or "", r.flags_total,
                    r.gaps, _safe((r.accommodation or {}).get("summary", "")), r.outcome,
                    _safe("; ".join(r.peer_labels))])
    w.writerow([])
    w.writerow(["section", "attempt_id", "flag_id", "type", "source", "start_s", "end_s",
                "duration_s", "confidence", "rule", "decision", "reason_code", "decided_by",
                "decided_at"])
    flags = (Flag.objects.filter(attempt__exam=exam)
             .select_related("decided_by__lti_identity").order_by("attempt_id", "start_s"))
    for f in flags:
        w.writerow(["flag", f.attempt_id, f.pk, f.type, f.source, f"{f.start_s:.3f}",
                    f"{f.end_s:.3f}", f"{f.end_s - f.start_s:.3f}", f"{f.confidence:.3f}",
                    _safe(f.explanation.get("rule", "")), f.decision, f.reason_code,
                    _safe(selectors.display_name(f.decided_by) if f.decided_by else ""),
                    f.decided_at.isoformat() if f.decided_at else ""])
    return out.getvalue()


@require_GET
@review_view
def exam_export_csv(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = access.exam_for_staff(request.user, exam_id)
    body = exam_csv(exam=exam)
    audit_record(actor=request.user, action=AuditEntry.Action.EXPORT, target=exam,
                 context_id=exam.context_id, request=request, detail={"export": "exam_csv"})
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    name = slugify(exam.title)[:60] or f"exam-{exam.pk}"
    response["Content-Disposition"] = f'attachment; filename="review-{name}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response
