"""Review pages for course staff, and the optional own-flags page for students. Thin views."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from proctor_lti.core.audit import audit_record
from proctor_lti.core.errors import UserFacingError, error_page
from proctor_lti.core.models import AuditEntry
from proctor_lti.exams.models import Exam
from proctor_lti.lti import roster
from proctor_lti.lti.service_clients import LtiServiceError
from proctor_lti.recordings.crypto import CryptoError
from proctor_lti.recordings.playback import AUDIT_WINDOW_SECONDS
from proctor_lti.recordings.storage import StorageUnavailable

from . import access, selectors, services
from .detail import attempt_detail
from .evidence import evidence_bytes
from .models import AttemptReview, Evidence, Flag
from .overview_rows import render_rows

logger = logging.getLogger(__name__)


def review_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in users only; refusals and bad input become the plain error page (no 500)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            if not request.user.is_authenticated:
                raise UserFacingError(
                    _("Please open the review from your course in the LMS."),
                    hint=_("Your session may have expired: launch the tool again."),
                    code="not_signed_in", status=403)
            return view(request, *args, **kwargs)
        except Http404:
            # One answer for "does not exist" and "not yours": nothing leaks.
            return error_page(request, UserFacingError(
                _("There is nothing you may see at this address."), code="not_found",
                status=404))
        except UserFacingError as exc:
            return error_page(request, exc)

    return wrapper


@require_GET
@review_view
def exam_index(request: HttpRequest) -> HttpResponse:
    ids = access.manageable_context_ids(request.user)
    exams = Exam.objects.select_related("context").order_by("context__title", "title")
    if ids is not None:
        exams = exams.filter(context_id__in=ids)
    return render(request, "review/index.html", {"exams": exams})


@require_GET
@review_view
def exam_overview(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = access.exam_for_staff(request.user, exam_id)
    roster.roster_refresh_in_background(exam.context)
    data = selectors.exam_overview(exam=exam, params=request.GET)
    return render(request, "review/overview.html", {
        "roster_synced_at": roster.roster_synced_at(exam.context),
        "can_sync_roster": bool(exam.context.nrps_url),
        "exam": exam, **data, "params": request.GET,
        "columns": _columns(request, data["sort"]),
        "rows_html": render_rows(data["rows"], len(data["flag_types"])),
        "sorts": selectors.SORTS, "status_labels": selectors.STATUS_LABELS,
        "band_labels": selectors.BAND_LABELS})


@require_POST
@review_view
def roster_refresh(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = access.exam_for_staff(request.user, exam_id)
    try:
        result = roster.roster_sync(exam.context)
    except LtiServiceError as exc:
        raise UserFacingError(_("The LMS did not send the class list: %(error)s")
                              % {"error": exc}, code="roster_failed", status=502,
                              hint=_("Try again later; the list below is the last known one.")
                              ) from exc
    messages.success(request, _("Class list refreshed: %(n)s members.") % {"n": result.members})
    return redirect("review:exam", exam_id=exam.pk)


def _columns(request: HttpRequest, sort: str) -> list[dict[str, Any]]:
    """Table headers; sortable ones link to the same page with the other direction."""
    cols = [("name", _("Student"), "name"), ("suspicion", _("Suspicion"), "-suspicion"),
            ("status", _("Status"), "status"), ("started", _("Started"), "-started"),
            ("flags", _("Flags"), None), ("gaps", _("Upload gaps"), None),
            ("accommodations", _("Accommodations"), None),
            ("peers", _("Compared with class"), None)]
    out = []
    for key, label, default in cols:
        col: dict[str, Any] = {"key": key, "label": label, "sort": bool(default)}
        if default:
            current = sort.lstrip("-") == key
            descending = sort.startswith("-")
            nxt = (key if descending else f"-{key}") if current else default
            query = request.GET.copy()
            query["sort"] = nxt
            col["url"] = f"?{query.urlencode()}"
            col["aria"] = ("descending" if descending else "ascending") if current else "none"
        out.append(col)
    return out


@require_GET
@review_view
def attempt_page(request: HttpRequest, attempt_id: int) -> HttpResponse:
    attempt = access.attempt_for_staff(request.user, attempt_id)
    data = attempt_detail(attempt=attempt)
    return render(request, "review/attempt.html", {
        **data, "exam": attempt.exam, "outcomes": [o for o in AttemptReview.Outcome.choices
                                                   if o[0]],
        "can_acs": attempt.exam.delivery == Exam.Delivery.PROCTORING_SERVICES
        and bool(attempt.lti_acs_url)})


@require_GET
@review_view
def incident_report(request: HttpRequest, attempt_id: int) -> HttpResponse:
    attempt = access.attempt_for_staff(request.user, attempt_id)
    data = attempt_detail(attempt=attempt)
    audit_record(actor=request.user, action=AuditEntry.Action.EXPORT, target=attempt,
                 context_id=attempt.exam.context_id, request=request,
                 detail={"export": "incident_report"})
    return render(request, "review/report.html", {**data, "exam": attempt.exam})


def _back(attempt_id: int, anchor: str = "") -> HttpResponse:
    url = reverse("review:attempt", args=[attempt_id])
    return redirect(f"{url}#{anchor}" if anchor else url)


@require_POST
@review_view
def flag_decision(request: HttpRequest, flag_id: int) -> HttpResponse:
    flag = Flag.objects.select_related("attempt__exam__context").filter(pk=flag_id).first()
    if flag is None:
        raise Http404
    access.attempt_for_staff(request.user, flag.attempt_id)
    services.flag_decide(flag=flag, actor=request.user,
                         decision=request.POST.get("decision", ""),
                         reason_code=request.POST.get("reason_code", ""), request=request)
    return _back(flag.attempt_id, f"flag-{flag.pk}")


@require_POST
@review_view
def note_add(request: HttpRequest, attempt_id: int) -> HttpResponse:
    attempt = access.attempt_for_staff(request.user, attempt_id)
    services.review_note_add(attempt=attempt, actor=request.user,
                             text=request.POST.get("text", ""), request=request)
    return _back(attempt.pk, "notes")


@require_POST
@review_view
def outcome_set(request: HttpRequest, attempt_id: int) -> HttpResponse:
    attempt = access.attempt_for_staff(request.user, attempt_id)
    services.attempt_outcome_set(attempt=attempt, actor=request.user,
                                 outcome=request.POST.get("outcome", ""), request=request)
    return _back(attempt.pk, "outcome")


@require_POST
@review_view
def acs_action(request: HttpRequest, attempt_id: int) -> HttpResponse:
    attempt = access.attempt_for_staff(request.user, attempt_id)
    services.attempt_acs_send(attempt=attempt, actor=request.user,
                              action=request.POST.get("action", ""),
                              reason=request.POST.get("reason", ""), request=request)
    return _back(attempt.pk, "acs")


def _evidence_response(request: HttpRequest, evidence: Evidence) -> HttpResponse:
    attempt = evidence.flag.attempt
    try:
        body = evidence_bytes(evidence=evidence)
    except (CryptoError, FileNotFoundError, OSError):
        raise UserFacingError(_("This evidence image is no longer available (deleted at the "
                                "end of the retention period, or damaged)."),
                              code="evidence_gone", status=410) from None
    except StorageUnavailable:
        raise UserFacingError(_("Evidence storage is briefly unavailable; try again in a "
                                "moment."), code="storage_unavailable", status=503) from None
    # One entry per person and image per window: reloading a page is not a new viewing
    # (the same rule as recordings' playback audit).
    if cache.add(f"review:evidence-viewed:{request.user.pk}:{evidence.pk}", 1,
                 AUDIT_WINDOW_SECONDS):
        audit_record(actor=request.user, action=AuditEntry.Action.VIEW_EVIDENCE,
                     target=evidence, context_id=attempt.exam.context_id, request=request,
                     detail={"attempt": attempt.pk, "flag": evidence.flag_id})
    response = HttpResponse(body, content_type=evidence.mime_type or "image/jpeg")
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _evidence(evidence_id: int) -> Evidence:
    evidence = (Evidence.objects.select_related("flag__attempt__exam__context")
                .filter(pk=evidence_id).first())
    if evidence is None:
        raise Http404
    return evidence


@require_GET
@review_view
def evidence_image(request: HttpRequest, evidence_id: int) -> HttpResponse:
    evidence = _evidence(evidence_id)
    access.attempt_for_staff(request.user, evidence.flag.attempt_id)
    return _evidence_response(request, evidence)


@require_GET
@review_view
def my_attempt(request: HttpRequest, attempt_id: int) -> HttpResponse:
    attempt = access.attempt_for_student(request.user, attempt_id)
    data = attempt_detail(attempt=attempt, for_student=True)
    return render(request, "review/my_attempt.html", {**data, "exam": attempt.exam})


@require_GET
@review_view
def my_evidence_image(request: HttpRequest, evidence_id: int) -> HttpResponse:
    evidence = _evidence(evidence_id)
    access.attempt_for_student(request.user, evidence.flag.attempt_id)
    return _evidence_response(request, evidence)

