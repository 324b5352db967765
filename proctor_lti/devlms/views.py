"""Pages of the development LMS: the course, launches, the OIDC auth endpoint, the quiz."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from . import platform, roster, sessions
from .models import DevAcsAction, DevCourseLink, DevProctoringSession, DevQuiz


def handles_platform_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Render PlatformError as a 4xx page (or JSON for the service endpoints)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except platform.PlatformError as exc:
            if request.path.startswith(("/dev-lms/token", "/dev-lms/nrps", "/dev-lms/acs")):
                response = JsonResponse({"error": exc.code, "error_description": exc.message},
                                        status=exc.status)
                if exc.status == 401:
                    response["WWW-Authenticate"] = f'Bearer error="{exc.code}"'
                return response
            return render(request, "devlms/error.html", {"message": exc.message,
                                                         "code": exc.code}, status=exc.status)

    return wrapper


def lms_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Like a real LMS, let framed tools open pop-ups they can talk to.

    Django's default `Cross-Origin-Opener-Policy: same-origin` on the page that frames the
    tool makes Chromium sever every pop-up a cross-site iframe opens (window.open returns
    null), which Canvas, Moodle and Open edX pages do not do.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Cross-Origin-Opener-Policy"] = "unsafe-none"
        return response

    return wrapper


LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


def _other_loopback_name(request: HttpRequest, issuer: str) -> bool:
    """Opened at localhost while seeded for 127.0.0.1 (or the reverse): the tool refuses to
    be framed by an origin it does not know, so the browser goes to the seeded address."""
    seeded = urlsplit(issuer)
    here = urlsplit(f"{request.scheme}://{request.get_host()}")
    return (here.hostname in LOOPBACK_HOSTS and seeded.hostname in LOOPBACK_HOSTS
            and here.hostname != seeded.hostname and here.port == seeded.port)


@lms_page
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    config = platform.config_for(request)
    if _other_loopback_name(request, config.issuer):
        return redirect(f"{config.issuer}/")
    links = list(DevCourseLink.objects.all())
    return render(request, "devlms/home.html", {
        "config": config,
        "links": links,
        "students": roster.students(),
        "instructors": roster.instructors(),
        "course_title": roster.COURSE_TITLE,
        "course_label": roster.COURSE_LABEL,
        "acs_actions": DevAcsAction.objects.select_related("session")[:10],
        "proctoring_sessions": DevProctoringSession.objects.select_related("link")
        .order_by("-created_at")[:10],
    })


@lms_page
@require_GET
@handles_platform_errors
def launch(request: HttpRequest) -> HttpResponse:
    """The LMS page that frames the tool (like Canvas), with an 'open in new window' link."""
    config = platform.config_for(request)
    user = roster.USERS.get(request.GET.get("user", ""))
    if user is None:
        raise platform.PlatformError(_("Choose one of the demo people to launch as."))
    kind = request.GET.get("kind", "resource")
    link = DevCourseLink.objects.filter(resource_link_id=request.GET.get("link", "")).first()
    extra: dict[str, Any] = {}
    if kind == "deep_linking":
        if not user.is_instructor:
            raise platform.PlatformError(_("Only instructors can add tools to the course."))
        message_type, link = "LtiDeepLinkingRequest", None
        extra["dl_data"] = platform.message_hint(purpose="deep-link", user=user.key)
    elif kind == "proctoring":
        if link is None or link.kind != DevCourseLink.Kind.PROCTORING:
            raise platform.PlatformError(_("That course item is not a proctored assessment."))
        session = sessions.proctoring_session_start(link=link, user_key=user.key)
        message_type = "LtiStartProctoring"
        extra.update(attempt_number=session.attempt_number, session_data=session.session_data)
    elif kind == "resource":
        if link is None:
            raise platform.PlatformError(_("Unknown course item."))
        message_type = "LtiResourceLinkRequest"
    else:
        raise platform.PlatformError(_("Unknown launch kind."))
    window = platform.login_initiation_url(config, user=user, message_type=message_type,
                                           link=link, target="window", **extra)
    framed = platform.login_initiation_url(config, user=user, message_type=message_type,
                                           link=link, target="iframe", **extra)
    return render(request, "devlms/launch.html", {
        "config": config, "user": user, "link": link, "message_type": message_type,
        "frame_url": framed, "window_url": window,
        "course_title": roster.COURSE_TITLE,
    })


@csrf_exempt
@xframe_options_exempt
@require_http_methods(["GET", "POST"])
@handles_platform_errors
def auth(request: HttpRequest) -> HttpResponse:
    """OIDC authorization endpoint: answers the tool's login redirect with a signed id_token."""
    config = platform.config_for(request)
    params = request.POST if request.method == "POST" else request.GET
    missing = [name for name in ("client_id", "redirect_uri", "login_hint", "state", "nonce",
                                 "response_type", "scope") if not params.get(name)]
    if missing:
        raise platform.PlatformError(_("The login request is missing: %s") % ", ".join(missing))
    if params["client_id"] != config.client_id:
        raise platform.PlatformError(_("Unknown client_id."), code="unauthorized_client")
    if params["response_type"] != "id_token" or "openid" not in params["scope"].split():
        raise platform.PlatformError(_("response_type must be id_token with scope openid."),
                                     code="unsupported_response_type")
    if params.get("response_mode", "form_post") != "form_post":
        raise platform.PlatformError(_("Only response_mode=form_post is supported."))
    redirect_uri = params["redirect_uri"]
    if urlsplit(redirect_uri)._replace(query="", fragment="").geturl() not in (
        config.tool_launch_url, config.tool_launch_url.rstrip("/")
    ):
        raise platform.PlatformError(_("redirect_uri is not registered for this tool."),
                                     code="invalid_request_uri")
    hint = platform.read_message_hint(params.get("lti_message_hint", ""))
    if hint.get("user") != params["login_hint"]:
        raise platform.PlatformError(_("login_hint does not match the launch."),
                                     code="login_required")
    user = roster.USERS.get(params["login_hint"])
    if user is None:
        raise platform.PlatformError(_("Unknown user."), code="login_required")
    claims = platform.id_token_claims(config, user=user, hint=hint, nonce=params["nonce"])
    return render(request, "devlms/autopost.html", {
        "action": redirect_uri,
        "fields": {"id_token": platform.sign(claims), "state": params["state"]},
        "title": _("Launching the tool"),
    })


@lms_page
@csrf_exempt  # the dev LMS has no login session to protect
@xframe_options_exempt
@require_http_methods(["GET", "POST"])
def quiz(request: HttpRequest, slug: str) -> HttpResponse:
    """A tiny web exam behind an access code, like a Canvas quiz with an access code."""
    quiz_obj = DevQuiz.objects.filter(slug=slug).first()
    if quiz_obj is None:
        return render(request, "devlms/error.html",
                      {"message": _("No such quiz."), "code": "not_found"}, status=404)
    state = "ask"
    if request.method == "POST":
        if request.POST.get("answers") == "1":
            state = "submitted"
        elif request.POST.get("access_code", "").strip() == quiz_obj.access_code:
            state = "open"
        else:
            state = "wrong"
    return render(request, "devlms/quiz.html", {"quiz": quiz_obj, "state": state},
                  status=403 if state == "wrong" else 200)
