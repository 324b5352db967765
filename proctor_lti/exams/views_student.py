"""The student's pages: Before you Begin, pre-checks, agreement, proctored session."""

from __future__ import annotations

from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from proctor_lti.core.errors import UserFacingError, error_page

from . import selectors, services
from .models import Attempt, Exam

S = Attempt.Status
# The recorder restarts every EXAM_SEGMENT_SECONDS so each segment is a WebM file that
# decodes on its own. EXAM_CHUNK_SECONDS > 0 adds a MediaRecorder timeslice inside a segment;
# 0 (default) sends each segment as one chunk: Chrome cuts timeslice chunks mid-block, so a
# later chunk is not valid WebM on its own (the server reassembles the segment before
# analysis), and whole segments cost fewer requests.
HEARTBEAT_SECONDS = 15


def friendly_errors(view):  # type: ignore[no-untyped-def]
    """Render UserFacingError as the error page (a clear 4xx with an error id)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except UserFacingError as error:
            return error_page(request, error)

    return wrapper


def student_page(view):  # type: ignore[no-untyped-def]
    @login_required
    @friendly_errors
    @wraps(view)
    def wrapper(request: HttpRequest, attempt_id: int, *args: Any, **kwargs: Any) -> HttpResponse:
        attempt = selectors.attempt_for_student(attempt_id=attempt_id, user=request.user)
        return view(request, attempt, *args, **kwargs)

    return wrapper


def page_context(request: HttpRequest, attempt: Attempt, **extra: Any) -> dict[str, Any]:
    eff = selectors.effective_settings(exam=attempt.exam, user=attempt.user)
    return {
        "attempt": attempt,
        "exam": attempt.exam,
        "eff": eff,
        "high_visibility": selectors.high_visibility_for(request.user),
        "checks": selectors.required_checks(eff),
        "opens_new_window": bool(attempt.exam.exam_url)
        or attempt.exam.delivery == Exam.Delivery.PROCTORING_SERVICES,
        **extra,
    }


def warning_texts() -> dict[str, Any]:
    """Texts of the Warning box and status messages, translated here (JS has no gettext)."""
    return {
        "mobile": {
            "title": _("Phones and tablets are not supported."),
            "fix": _("Open the exam on a laptop or desktop computer with Chrome, Edge or Firefox."),
        },
        "browser": {
            "title": _("This browser cannot record the exam."),
            "fix": _(
                "Use a current version of Chrome, Edge or Firefox, and close "
                "private or incognito mode."
            ),
        },
        "no_camera": {
            "title": _("No camera found."),
            "fix": _("Connect a webcam (or close other programs using it), then check again."),
        },
        "no_microphone": {
            "title": _("No microphone found."),
            "fix": _("Connect a microphone or headset, then check again."),
        },
        "second_screen": {
            "title": _("More than one screen is connected."),
            "fix": _("Disconnect extra monitors (or set them to mirror), then check again."),
        },
        "popups": {
            "title": _("Pop-ups are blocked."),
            "fix": _(
                "The exam opens in a new window. Allow pop-ups for this site "
                "(the icon at the right of the address bar), then check again."
            ),
        },
        "recheck": _("Check again"),
        "all_clear": _("Everything is ready. You can start the pre-checks."),
        "n_problems": _("%s things need fixing before you start."),
        "hv_on": _("High visibility mode is on."),
        "hv_off": _("High visibility mode is off."),
    }


def check_texts() -> dict[str, Any]:
    return {
        "passed": _("Passed."),
        "running": _("Checking..."),
        "waiting": _("Waiting for the check on the server..."),
        "unavailable": _(
            "The automatic check is not available right now. Continue: your instructor will "
            "be told the check could not run."
        ),
        "slow": _("The check is taking longer than usual. Try again in a moment."),
        "offline": _("You seem to be offline. Check your connection, then try again."),
        "permission_denied": _(
            "Camera or microphone access was refused. Click the camera icon "
            "in the address bar, choose Allow, then try again."
        ),
        "device_busy": _(
            "Your camera or microphone is in use by another program. Close it "
            "(video calls, other tabs), then try again."
        ),
        "device_missing": _(
            "No camera or microphone was found. Connect a webcam and a microphone (or a "
            "headset), then try again."
        ),
        "mic_silent": _(
            "We heard nothing. Check that your microphone is not muted, speak, then try again."
        ),
        "not_monitor": _("You shared a window or a tab. Share your entire screen instead."),
        "share_cancelled": _(
            "Screen sharing was cancelled. Click Share screen and choose Entire screen."
        ),
        "slow_upload": _(
            "Your connection is slow (%s kbit/s). Move closer to your router or "
            "use a cable; you can continue, but the upload may take a while after "
            "the exam."
        ),
        "speed": _("Upload speed: %s kbit/s."),
        "room_recording": _("Recording the room scan: %s seconds left."),
        "room_done": _("Room scan recorded."),
        "all_done": _("All checks passed. Continue to the exam agreement."),
        "reasons": {
            "too_dark": _("Too dark: turn on a light or face a window, then try again."),
            "no_face": _("We cannot see your face: sit in front of the camera, facing it."),
            "multiple_faces": _("More than one face: make sure you are alone, then try again."),
            "move_closer": _("Move closer: your face should fill more of the picture."),
            "not_an_image": _("We could not read the camera picture. Check your camera."),
        },
        "id_no_face": _(
            "We cannot see the photo on your ID. Hold it closer, photo side to "
            "the camera, without glare."
        ),
    }


def session_texts() -> dict[str, Any]:
    return {
        "recording": _("Recording"),
        "not_recording": _("Not recording"),
        "saved": _("All saved"),
        "uploading": _("Sending..."),
        "catching_up": _("Catching up after a slow or lost connection..."),
        "offline": _("Offline: saved on this computer"),
        "back_online": _("You are back online. Your recording is catching up."),
        "camera_stopped": _("Your camera stopped."),
        "microphone_stopped": _("Your microphone stopped."),
        "screen_stopped": _("Screen sharing stopped."),
        "not_monitor": _("Share your entire screen, not a window or a tab."),
        "saving": _("Saving your recording: %s pieces left..."),
        "still_pending": _(
            "Some of your recording is still being sent (%s pieces). Keep this "
            "window open; it continues on its own."
        ),
        "ended": _("Your session has ended."),
        "terminated": _("Your instructor ended this session."),
        "time_left": _("Time left: %s min"),
        "code_copied": _("Access code copied."),
        "minimise": _("Minimise"),
        "restore": _("Show webcam"),
        "popup_blocked": _(
            "Pop-ups are blocked: allow pop-ups for this site, then click Open the exam again."
        ),
        "started": _("Recording started."),
    }


def _page_config(attempt: Attempt, eff: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """Data for the page's ES module (rendered with json_script; never a secret)."""
    return {
        "attemptId": attempt.pk,
        "recording": eff["recording"],
        "verification": eff["verification"],
        "lockdown": eff["lockdown"],
        "tools": eff["tools"],
        "exempt": eff["exempt"],
        "opensNewWindow": bool(attempt.exam.exam_url)
        or attempt.exam.delivery == Exam.Delivery.PROCTORING_SERVICES,
        **extra,
    }


@student_page
def before(request: HttpRequest, attempt: Attempt) -> HttpResponse:
    if attempt.status == S.IN_PROGRESS:
        return HttpResponseRedirect(reverse("exams:session", args=[attempt.pk]))
    if attempt.status not in (S.CREATED, S.PRECHECKS, S.READY, S.INTERRUPTED):
        return _ended(request, attempt)
    ctx = page_context(request, attempt)
    eff = ctx["eff"]
    ctx.update(
        {
            "recorded": selectors.recorded_items(eff),
            "restrictions": selectors.restrictions(eff),
            "page_config": _page_config(
                attempt, eff, prefsUrl=reverse("exams:pref_high_visibility")
            ),
            "warning_texts": warning_texts(),
        }
    )
    return render(request, "exams/before.html", ctx)


@student_page
def prechecks(request: HttpRequest, attempt: Attempt) -> HttpResponse:
    if attempt.status == S.IN_PROGRESS:
        return HttpResponseRedirect(reverse("exams:session", args=[attempt.pk]))
    if attempt.status not in (S.CREATED, S.PRECHECKS, S.READY, S.INTERRUPTED):
        return _ended(request, attempt)
    ctx = page_context(request, attempt)
    passed = {k: v.get("passed", False) for k, v in (attempt.precheck_results or {}).items()}
    ctx["page_config"] = _page_config(
        attempt,
        ctx["eff"],
        checks=ctx["checks"],
        passed=passed,
        base=reverse("exams:before", args=[attempt.pk]).rsplit("/", 2)[0],
        next=reverse("exams:agreement", args=[attempt.pk]),
    )
    ctx["texts"] = {**warning_texts(), **check_texts()}
    return render(request, "exams/prechecks.html", ctx)


@student_page
@require_http_methods(["GET", "POST"])
def agreement(request: HttpRequest, attempt: Attempt) -> HttpResponse:
    if attempt.status == S.IN_PROGRESS:
        return HttpResponseRedirect(reverse("exams:session", args=[attempt.pk]))
    missing = selectors.checks_missing(attempt=attempt)
    if missing:
        return HttpResponseRedirect(reverse("exams:prechecks", args=[attempt.pk]))
    eff = selectors.effective_settings(exam=attempt.exam, user=attempt.user)
    needs_agreement = bool(eff["verification"].get("agreement"))
    version = selectors.agreement_current() if needs_agreement else None
    if needs_agreement and version is None:
        raise UserFacingError(
            "The exam agreement has not been written yet.",
            hint="Ask your institution's administrator to add it.",
            code="no_agreement",
            status=503,
        )
    error = ""
    if request.method == "POST":
        if needs_agreement:
            if request.POST.get("accept") != "yes":
                error = "accept"
            else:
                services.agreement_accept(
                    attempt=attempt,
                    version=int(request.POST.get("version") or 0),
                    ip=request.META.get("REMOTE_ADDR"),
                    user_agent=request.META.get("HTTP_USER_AGENT", ""),
                )
        else:
            services.attempt_begin(attempt=attempt)
        if not error:
            return HttpResponseRedirect(reverse("exams:session", args=[attempt.pk]))
    ctx = page_context(
        request, attempt, version=version, needs_agreement=needs_agreement, error=error
    )
    return render(request, "exams/agreement.html", ctx, status=400 if error else 200)


@student_page
def session(request: HttpRequest, attempt: Attempt) -> HttpResponse:
    if attempt.status in (S.CREATED, S.PRECHECKS, S.READY):
        return HttpResponseRedirect(reverse("exams:before", args=[attempt.pk]))
    if attempt.status != S.IN_PROGRESS:
        return _ended(request, attempt)
    ctx = page_context(request, attempt)
    exam = attempt.exam
    api = reverse("exams:before", args=[attempt.pk]).rsplit("/", 2)[0]
    ctx["page_config"] = _page_config(
        attempt,
        ctx["eff"],
        base=api,
        segmentSeconds=int(settings.EXAM_SEGMENT_SECONDS),
        chunkSeconds=int(settings.EXAM_CHUNK_SECONDS),
        heartbeatSeconds=HEARTBEAT_SECONDS,
        delivery=exam.delivery,
        hasAccessCode=bool(exam.access_code),
        examUrl=exam.exam_url if exam.delivery == Exam.Delivery.ACCESS_CODE else "",
        startedAt=attempt.started_at.isoformat() if attempt.started_at else None,
        durationMinutes=ctx["eff"]["duration_minutes"],
    )
    ctx["texts"] = session_texts()
    ctx["open_exam_url"] = (
        start_assessment_url(attempt)
        if exam.delivery == Exam.Delivery.PROCTORING_SERVICES
        else exam.exam_url
    )
    return render(request, "exams/session.html", ctx)


START_ASSESSMENT_SALT = "exams.start-assessment"
START_ASSESSMENT_MAX_AGE_S = 6 * 3600


def start_assessment_url(attempt: Attempt) -> str:
    """The exam-window address for LTI Proctoring Services, carrying a signed attempt token.

    The exam opens in a new top-level window, which does not share the LMS frame's
    (partitioned) cookies; the token stands in for the session, and is only honoured while
    the attempt is in progress.
    """
    token = signing.dumps({"a": attempt.pk, "u": attempt.user_id}, salt=START_ASSESSMENT_SALT)
    return f"{reverse('exams:start_assessment', args=[attempt.pk])}?t={token}"


@friendly_errors
def start_assessment(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """Opened by the session page in the exam window: posts LtiStartAssessment to the LMS."""
    attempt = None
    if request.user.is_authenticated:
        attempt = Attempt.objects.filter(pk=attempt_id, user=request.user).first()
    if attempt is None:
        try:
            data = signing.loads(
                request.GET.get("t", ""),
                salt=START_ASSESSMENT_SALT,
                max_age=START_ASSESSMENT_MAX_AGE_S,
            )
        except signing.BadSignature:
            raise UserFacingError(
                _("This exam link has expired."),
                hint=_("Go back to the proctoring window and click Open the exam again."),
                code="bad_exam_link",
                status=403,
            ) from None
        attempt = Attempt.objects.filter(pk=attempt_id, user_id=data.get("u")).first()
        if attempt is None or data.get("a") != attempt_id:
            raise UserFacingError(
                _("This exam link is not valid."), code="bad_exam_link", status=403
            )
    if attempt.status != S.IN_PROGRESS:
        raise UserFacingError(
            _("Your proctored session is not running."),
            hint=_("Go back to the proctoring window and begin the exam there."),
            code="session_not_active",
            status=409,
        )
    from proctor_lti.lti.proctoring import start_assessment_response

    return start_assessment_response(request, attempt)


def accessibility(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "exams/accessibility.html",
        {"high_visibility": selectors.high_visibility_for(request.user)},
    )


@student_page
def done(request: HttpRequest, attempt: Attempt) -> HttpResponse:
    return _ended(request, attempt)


def _ended(request: HttpRequest, attempt: Attempt) -> HttpResponse:
    return render(
        request,
        "exams/ended.html",
        {
            "attempt": attempt,
            "high_visibility": selectors.high_visibility_for(request.user),
            "done_texts": {
                "pending": _(
                    "Sending the rest of your recording: %s pieces left. Keep this "
                    "window open until it says it is done."
                ),
                "saved": _("Your recording has been saved. You can close this window."),
            },
        },
    )
