"""Endpoints the tool calls or posts back to: JWKS, token, NRPS, ACS, deep-linking return,
and the LTI Proctoring Services start-assessment / end pages."""

from __future__ import annotations

import json
import uuid

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from . import platform, roster, sessions
from .models import DevCourseLink, DevProctoringSession
from .verify import client_credentials, require_bearer, use_once, verify_tool_jwt
from .views import handles_platform_errors, lms_page

NRPS_MEDIA_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
ACS_MEDIA_TYPE = "application/vnd.ims.lti-ap.v1.control+json"


@require_GET
def jwks(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(platform.jwks())
    response["Cache-Control"] = "public, max-age=300"
    return response


@csrf_exempt
@require_POST
@handles_platform_errors
def token(request: HttpRequest) -> JsonResponse:
    body = client_credentials(platform.config_for(request), request.POST.dict())
    response = JsonResponse(body)
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@handles_platform_errors
def nrps(request: HttpRequest, context_id: str) -> JsonResponse:
    """Names and Role Provisioning Services 2.0 for the demo course (paged with rel=next)."""
    require_bearer(request.headers.get("Authorization", ""), platform.SCOPE_NRPS)
    if context_id != roster.COURSE_ID:
        raise platform.PlatformError("Unknown context.", status=404, code="not_found")
    config = platform.config_for(request)
    members = list(roster.USERS.values())
    role = request.GET.get("role")
    if role:
        members = [u for u in members if any(r == role or r.endswith("#" + role)
                                             for r in u.roles)]
    try:
        limit = max(1, int(request.GET.get("limit", "100")))
        offset = max(0, int(request.GET.get("offset", "0")))
    except ValueError as exc:
        raise platform.PlatformError("limit and offset must be integers.") from exc
    page = members[offset:offset + limit]
    url = config.url(f"nrps/{context_id}/memberships")
    response = JsonResponse({
        "id": url,
        "context": {"id": roster.COURSE_ID, "label": roster.COURSE_LABEL,
                    "title": roster.COURSE_TITLE},
        "members": [{"status": "Active", "name": u.name, "given_name": u.given_name,
                     "family_name": u.family_name, "email": u.email, "user_id": u.sub,
                     "lis_person_sourcedid": u.sub, "roles": list(u.roles)} for u in page],
    }, content_type=NRPS_MEDIA_TYPE)
    if offset + limit < len(members):
        query = f"limit={limit}&offset={offset + limit}" + (f"&role={role}" if role else "")
        response["Link"] = f'<{url}?{query}>; rel="next"'
    return response


@csrf_exempt
@require_POST
@handles_platform_errors
def acs(request: HttpRequest) -> JsonResponse:
    """Assessment Control Service: records the action and answers with the attempt status."""
    require_bearer(request.headers.get("Authorization", ""), platform.SCOPE_ACS)
    content_type = request.content_type or ""
    if content_type not in (ACS_MEDIA_TYPE, "application/json"):
        raise platform.PlatformError(f"Content-Type must be {ACS_MEDIA_TYPE}.", status=415,
                                     code="unsupported_media_type")
    try:
        payload = json.loads(request.body or b"null")
    except ValueError as exc:
        raise platform.PlatformError("The body is not JSON.") from exc
    _record, status = sessions.acs_record(payload)
    return JsonResponse({"status": status}, content_type=ACS_MEDIA_TYPE)


@lms_page
@csrf_exempt
@xframe_options_exempt
@require_POST
@handles_platform_errors
def deep_link_return(request: HttpRequest) -> HttpResponse:
    """Receives the LtiDeepLinkingResponse, verifies it and adds the link to the course."""
    config = platform.config_for(request)
    claims = verify_tool_jwt(config, request.POST.get("JWT", ""), audience=config.issuer)
    dl = "https://purl.imsglobal.org/spec/lti-dl/claim/"
    if claims.get(platform.LTI + "message_type") != "LtiDeepLinkingResponse":
        raise platform.PlatformError("message_type must be LtiDeepLinkingResponse.")
    if claims.get(platform.LTI + "deployment_id") != config.deployment_id:
        raise platform.PlatformError("Unknown deployment_id.")
    use_once("nonce", str(claims.get("nonce") or ""))
    data = platform.read_message_hint(str(claims.get(dl + "data") or ""))
    if data.get("purpose") != "deep-link":
        raise platform.PlatformError("The data claim was not echoed back.")
    items = claims.get(dl + "content_items") or []
    if not isinstance(items, list):
        raise platform.PlatformError("content_items must be a list.")
    added = []
    for item in items:
        if not isinstance(item, dict) or item.get("type") != "ltiResourceLink":
            continue
        custom = item.get("custom") if isinstance(item.get("custom"), dict) else {}
        proctored = bool(custom.get("proctoring_services"))
        added.append(DevCourseLink.objects.create(
            resource_link_id=f"dl-{uuid.uuid4().hex[:12]}",
            title=str(item.get("title") or _("Proctored exam"))[:255],
            url=str(item.get("url") or "")[:1000],
            custom={str(k): str(v) for k, v in custom.items()},
            kind=DevCourseLink.Kind.PROCTORING if proctored else DevCourseLink.Kind.RESOURCE,
            from_deep_linking=True,
        ))
    return render(request, "devlms/deep_link_done.html", {
        "items": items, "added": added, "message": claims.get(dl + "msg", ""),
        "error": claims.get(dl + "errormsg", ""),
    })


@csrf_exempt
@xframe_options_exempt
@require_POST
@handles_platform_errors
def start_assessment(request: HttpRequest) -> HttpResponse:
    """Verifies the tool's LtiStartAssessment and shows the (tiny) assessment."""
    config = platform.config_for(request)
    session = sessions.start_assessment_verify(config, request.POST.get("JWT", ""))
    return redirect("devlms:assessment", session_id=session.pk)


@lms_page
@xframe_options_exempt
@require_GET
def assessment(request: HttpRequest, session_id: int) -> HttpResponse:
    session = get_object_or_404(DevProctoringSession.objects.select_related("link"),
                                pk=session_id)
    return render(request, "devlms/assessment.html", {
        "session": session, "user": roster.USERS.get(session.user_key),
        "running": session.status == DevProctoringSession.Status.RUNNING,
    })


@csrf_exempt  # the dev LMS has no login session to protect
@xframe_options_exempt
@require_POST
@handles_platform_errors
def assessment_end(request: HttpRequest, session_id: int) -> HttpResponse:
    """The learner submits: with end_assessment_return, launch LtiEndAssessment to the tool."""
    session = get_object_or_404(DevProctoringSession.objects.select_related("link"),
                                pk=session_id)
    if session.status not in (DevProctoringSession.Status.RUNNING,
                              DevProctoringSession.Status.PAUSED):
        raise platform.PlatformError(_("This attempt is not running."), status=409)
    sessions.proctoring_session_end(session=session)
    if not session.end_assessment_return:
        return redirect("devlms:assessment_finished", session_id=session.pk)
    config = platform.config_for(request)
    user = roster.USERS[session.user_key]
    return redirect(platform.login_initiation_url(
        config, user=user, message_type="LtiEndAssessment", link=session.link,
        attempt_number=session.attempt_number, session_id=session.pk))


@lms_page
@xframe_options_exempt
@require_GET
def assessment_finished(request: HttpRequest, session_id: int) -> HttpResponse:
    session = get_object_or_404(DevProctoringSession.objects.select_related("link"),
                                pk=session_id)
    return render(request, "devlms/finished.html", {
        "session": session, "course_url": reverse("devlms:home")})
