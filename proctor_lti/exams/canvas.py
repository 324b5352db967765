"""Canvas quiz access codes through the Canvas REST API (optional, per course).

With a CanvasQuizAccess token for the course, the tool sets a random access code on the
quiz (`PUT /api/v1/courses/:course_id/quizzes/:quiz_id` with quiz[access_code]) and keeps it
on the exam, so only the proctored session can reveal it; after the exam window closes the
code is rotated, so a code seen during one window is useless afterwards.
"""

from __future__ import annotations

import logging
import secrets
import string

import requests
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from proctor_lti.core import sealing
from proctor_lti.core.audit import audit_record
from proctor_lti.core.errors import UserFacingError
from proctor_lti.core.models import AuditEntry

from .models import CanvasQuizAccess, Exam

logger = logging.getLogger(__name__)
CODE_ALPHABET = string.ascii_uppercase.replace("O", "").replace("I", "") + "23456789"


def access_code_generate(length: int = 10) -> str:
    """A random code without look-alike characters (O/0, I/1), easy to read aloud."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def canvas_access_code_set(*, exam: Exam, code: str | None = None, actor: object = None) -> str:
    """Set (or rotate) the quiz's access code in Canvas, then store it on the exam.

    The exam's course needs a CanvasQuizAccess token, the platform's canvas_api_base_url,
    the course's lms_course_id and the exam's lms_assignment_id (the quiz id). Raises
    UserFacingError (502/504) when Canvas refuses or does not answer; the old code stays.
    """
    context = exam.context
    access = CanvasQuizAccess.objects.filter(context=context).first()
    base = (context.platform.canvas_api_base_url or "").rstrip("/")
    if access is None or not base or not context.lms_course_id or not exam.lms_assignment_id:
        raise UserFacingError(
            _("Canvas API access is not configured for this exam."),
            hint=_(
                "Add a Canvas API token for the course, the Canvas "
                "address of the platform, and the quiz id."
            ),
            code="canvas_not_configured",
            status=409,
        )
    code = code or access_code_generate()
    url = f"{base}/api/v1/courses/{context.lms_course_id}/quizzes/{exam.lms_assignment_id}"
    timeout = getattr(settings, "LTI_HTTP_TIMEOUT_SECONDS", 10)
    try:
        response = requests.put(
            url,
            data={"quiz[access_code]": code},
            headers={"Authorization": f"Bearer {access.api_token_plain()}"},
            timeout=(timeout, timeout),
        )
    except requests.Timeout:
        _fail(access, "timeout")
        raise UserFacingError(
            _("Canvas did not answer in time; the access code was not changed."),
            code="canvas_timeout",
            status=504,
        ) from None
    except requests.RequestException as exc:
        _fail(access, type(exc).__name__)
        raise UserFacingError(
            _("Canvas could not be reached; the access code was not changed."),
            code="canvas_unreachable",
            status=502,
        ) from None
    if response.status_code >= 300:
        _fail(access, f"HTTP {response.status_code}")
        raise UserFacingError(
            _("Canvas refused to change the access code (HTTP %(s)s).")
            % {"s": response.status_code},
            hint=_("Check that the token belongs to a teacher of the course."),
            code="canvas_refused",
            status=502,
        )
    Exam.objects.filter(pk=exam.pk).update(access_code=code, access_code_set_at=timezone.now())
    exam.access_code, exam.access_code_set_at = code, timezone.now()
    if access.last_error:
        CanvasQuizAccess.objects.filter(pk=access.pk).update(last_error="")
    audit_record(
        actor=actor,
        action=AuditEntry.Action.SETTINGS_CHANGE,
        target=exam,
        context_id=context.pk,
        detail={"canvas_access_code": "set"},
    )
    return code


def _fail(access: CanvasQuizAccess, reason: str) -> None:
    logger.warning("canvas access code update failed for context %s: %s", access.context_id, reason)
    CanvasQuizAccess.objects.filter(pk=access.pk).update(last_error=reason[:500])


def canvas_access_codes_rotate_due() -> int:
    """Rotate the code of every Canvas-managed exam whose window closed after the code was
    last set. Returns how many were rotated; failures are logged and retried next run."""
    now = timezone.now()
    due = Exam.objects.filter(
        delivery=Exam.Delivery.ACCESS_CODE,
        window_closes_at__lte=now,
        context__canvas_quiz_access__isnull=False,
    ).filter(Q(access_code_set_at__isnull=True) | Q(access_code_set_at__lt=F("window_closes_at")))
    rotated = 0
    for exam in due.select_related("context", "context__platform"):
        try:
            canvas_access_code_set(exam=exam)
            rotated += 1
        except UserFacingError as exc:
            logger.warning("rotation of exam %s failed: %s", exam.pk, exc.message)
    return rotated


def canvas_tokens_reseal(*, dry_run: bool = False) -> dict[str, int]:
    """Re-seal the stored Canvas API tokens with the current master key (key rotation)."""
    def save(access: CanvasQuizAccess, sealed: str) -> None:
        CanvasQuizAccess.objects.filter(pk=access.pk).update(api_token=sealed)

    return sealing.reseal_all(((a, a.api_token, CanvasQuizAccess.TOKEN_PURPOSE)
                               for a in CanvasQuizAccess.objects.all()), save, dry_run=dry_run)
