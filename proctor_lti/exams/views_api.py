"""JSON endpoints the student pages call (session auth + CSRF header from the page)."""

from __future__ import annotations

import json
import logging
import time
from functools import wraps
from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from proctor_lti.core.errors import UserFacingError

from . import attempts, selectors, services
from .models import Attempt, Exam, PrecheckFrame

logger = logging.getLogger(__name__)

SPEEDTEST_MAX_BYTES = 2 * 1024 * 1024


def api(view):  # type: ignore[no-untyped-def]
    """Signed-in student, own attempt, errors as JSON {error, detail, hint, error_id}."""

    @wraps(view)
    def wrapper(
        request: HttpRequest, attempt_id: int | None = None, *args: Any, **kwargs: Any
    ) -> JsonResponse:
        try:
            if not request.user.is_authenticated:
                raise UserFacingError(
                    _("Your session has expired. Open the exam again from your course."),
                    status=401,
                    code="not_signed_in",
                )
            if attempt_id is None:
                return view(request, *args, **kwargs)
            attempt = selectors.attempt_for_student(attempt_id=attempt_id, user=request.user)
            return view(request, attempt, *args, **kwargs)
        except UserFacingError as exc:
            return JsonResponse(
                {
                    "error": exc.code,
                    "detail": exc.message,
                    "hint": exc.hint,
                    "error_id": exc.error_id,
                },
                status=exc.status,
            )

    return wrapper


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise UserFacingError(_("The request body is not valid JSON."), code="bad_json") from None
    if not isinstance(data, dict):
        raise UserFacingError(_("Expected a JSON object."), code="bad_json")
    return data


@require_POST
@api
def check_record(request: HttpRequest, attempt: Attempt, check: str) -> JsonResponse:
    if check in attempts.SERVER_CHECKS:
        raise UserFacingError(
            _("This check is judged on the server."), status=403, code="server_check"
        )
    data = _json_body(request)
    detail = data.get("detail") if isinstance(data.get("detail"), dict) else {}
    if len(json.dumps(detail)) > 2000:
        raise UserFacingError(_("Check details are too long."))
    services.precheck_record(
        attempt=attempt, check=check, passed=bool(data.get("passed")), detail=detail
    )
    return _checks_state(attempt)


def _checks_state(attempt: Attempt) -> JsonResponse:
    attempt.refresh_from_db()
    return JsonResponse(
        {"status": attempt.status, "missing": selectors.checks_missing(attempt=attempt)}
    )


@require_POST
@api
def check_continue(request: HttpRequest, attempt: Attempt, check: str) -> JsonResponse:
    attempts.precheck_continue_anyway(attempt=attempt, check=check)
    return _checks_state(attempt)


@require_POST
@api
def frame_submit(request: HttpRequest, attempt: Attempt, kind: str) -> JsonResponse:
    if not request.content_type.startswith("image/"):
        raise UserFacingError(
            _("Send the picture as image/jpeg."), status=415, code="bad_content_type"
        )
    frame = services.precheck_frame_submit(attempt=attempt, kind=kind, image_bytes=request.body)
    return JsonResponse(
        {
            "frame_id": frame.pk,
            "state": frame.state,
            "poll": reverse("exams:frame_result", args=[attempt.pk, frame.pk]),
        },
        status=202,
    )


@require_GET
@api
def frame_result(request: HttpRequest, attempt: Attempt, frame_id: int) -> JsonResponse:
    frame = PrecheckFrame.objects.filter(pk=frame_id, attempt=attempt).first()
    if frame is None:
        raise UserFacingError(_("Picture not found."), status=404, code="not_found")
    failures = PrecheckFrame.objects.filter(
        attempt=attempt, kind=frame.kind, state=PrecheckFrame.State.DONE, result__ok=False
    ).count()
    return JsonResponse(
        {
            "state": frame.state,
            "ok": frame.result.get("ok"),
            "reason": frame.result.get("reason_code"),
            "message": frame.result.get("message", ""),
            "failures": failures,
            "may_continue": failures >= attempts.FRAME_FAILURES_BEFORE_CONTINUE
            or frame.state == PrecheckFrame.State.FAILED,
        }
    )


@require_POST
@api
def speedtest(request: HttpRequest, attempt: Attempt) -> JsonResponse:
    """Receive and discard a blob; the browser times the round trip to measure upload speed."""
    started = time.perf_counter()
    size = 0
    while chunk := request.read(64 * 1024):
        size += len(chunk)
        if size > SPEEDTEST_MAX_BYTES:
            raise UserFacingError(_("The speed-test upload is too large."), status=413)
    return JsonResponse(
        {"bytes": size, "server_ms": round((time.perf_counter() - started) * 1000, 1)}
    )


@require_POST
@api
def heartbeat(request: HttpRequest, attempt: Attempt) -> JsonResponse:
    if attempt.status == Attempt.Status.IN_PROGRESS:
        try:
            services.attempt_heartbeat(attempt=attempt)
        except DatabaseError:
            # A missed heartbeat is harmless (the next one comes within seconds); say so
            # with a 503 the page retries, never a 500.
            logger.warning("heartbeat of attempt %s not stored", attempt.pk, exc_info=True)
            response = JsonResponse({"error": "retry_later", "status": attempt.status}, status=503)
            response["Retry-After"] = "5"
            return response
    return JsonResponse({"status": attempt.status, "server_time": timezone.now().isoformat()})


@require_GET
@api
def access_code(request: HttpRequest, attempt: Attempt) -> JsonResponse:
    code = services.access_code_reveal(attempt=attempt, user=request.user)
    response = JsonResponse({"code": code, "exam_url": attempt.exam.exam_url})
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@api
def end(request: HttpRequest, attempt: Attempt) -> JsonResponse:
    data = _json_body(request)
    services.attempt_end(
        attempt=attempt, actor=request.user, reason=str(data.get("reason", "student ended"))[:200]
    )
    return_url = ""
    if attempt.exam.delivery == Exam.Delivery.PROCTORING_SERVICES:
        from proctor_lti.lti.autopost import check_platform_url

        try:
            return_url = check_platform_url(attempt.lti_return_url, what="return")
        except UserFacingError:
            return_url = ""
    return JsonResponse(
        {
            "status": attempt.status,
            "return_url": return_url,
            "done_url": reverse("exams:done", args=[attempt.pk]),
        }
    )


@require_POST
@api
def pref_high_visibility(request: HttpRequest) -> JsonResponse:
    data = _json_body(request)
    services.preference_set_high_visibility(user=request.user, enabled=bool(data.get("enabled")))
    return JsonResponse({"high_visibility": bool(data.get("enabled"))})


@require_GET
def csrf(request: HttpRequest) -> JsonResponse:
    """A fresh CSRF token for a long-lived page whose token was rotated by a new sign-in."""
    response = JsonResponse({"token": get_token(request)})
    response["Cache-Control"] = "no-store"
    return response
