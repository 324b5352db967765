"""LTI Proctoring Services, tool side: the signed LtiStartAssessment message.

After `LtiStartProctoring` and passed checks, the browser posts a form field `JWT` to the
platform's `start_assessment_url`. Open edX checks its signature, exp, session_data,
attempt_number and resource_link.id; Blackboard Learn the same. LtiEndAssessment routing
lives in exams.entry.handle_launch; `end_assessment_return_url` helps it.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from proctor_lti.core.errors import UserFacingError

from .autopost import auto_post_response, check_platform_url
from .launch_data import LaunchData
from .models import Deployment
from .signing import sign_tool_jwt

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
LTI_AP = "https://purl.imsglobal.org/spec/lti-ap/claim/"
MSG_START_ASSESSMENT = "LtiStartAssessment"


def attempt_deployment(attempt: Any) -> Deployment:
    """The deployment the attempt's course was launched through."""
    context = attempt.exam.context
    if context.deployment_id:
        return context.deployment
    deployments = list(context.platform.deployments.all()[:2])
    if len(deployments) == 1:
        return deployments[0]
    raise UserFacingError(
        _("This exam's course is not linked to a deployment of the tool."),
        hint=_("Open the exam again from your course."),
        code="lti_no_deployment",
        status=409,
    )


def start_assessment_jwt(
    attempt: Any, *, end_assessment_return: bool = True, verified_user: dict[str, Any] | None = None
) -> str:
    """The signed LtiStartAssessment for `attempt` (iss = client_id, aud = platform issuer).

    Echoes the attempt's LtiStartProctoring session_data exactly, its attempt_number and the
    exam's resource link. `verified_user` (e.g. {"name": ..., "picture": ...}) is optional.
    """
    exam = attempt.exam
    platform = exam.context.platform
    if exam.resource_link is None or attempt.lti_attempt_number is None:
        raise UserFacingError(
            _("This attempt was not started by LTI Proctoring Services."),
            hint=_("Open the exam again from your course."),
            code="lti_not_proctoring_attempt",
            status=409,
        )
    claims: dict[str, Any] = {
        LTI + "message_type": MSG_START_ASSESSMENT,
        LTI + "version": "1.3.0",
        LTI + "deployment_id": attempt_deployment(attempt).deployment_id,
        LTI + "resource_link": {"id": exam.resource_link.resource_link_id},
        LTI_AP + "session_data": attempt.lti_session_data,
        LTI_AP + "attempt_number": int(attempt.lti_attempt_number),
        LTI_AP + "end_assessment_return": bool(end_assessment_return),
    }
    if exam.resource_link.title:
        claims[LTI + "resource_link"]["title"] = exam.resource_link.title
    if verified_user:
        claims[LTI_AP + "verified_user"] = verified_user
    return sign_tool_jwt(claims, platform=platform)


def start_assessment_response(
    request: HttpRequest, attempt: Any, *, end_assessment_return: bool = True
) -> HttpResponse:
    """The page that posts the LtiStartAssessment (field `JWT`) to start_assessment_url."""
    action = check_platform_url(attempt.lti_start_assessment_url, what=_("start assessment"))
    token = start_assessment_jwt(attempt, end_assessment_return=end_assessment_return)
    return auto_post_response(
        request,
        action=action,
        fields={"JWT": token},
        title=_("Starting your exam"),
        message=_("Your checks are complete. Taking you to your exam now..."),
    )


def end_assessment_return_url(launch: LaunchData) -> str:
    """Where to send the student after LtiEndAssessment ("" when the platform gave none).

    Only http(s) URLs: the return URL comes from the platform and ends up in a redirect.
    """
    url = launch.proctoring.return_url if launch.proctoring else ""
    url = url or (launch.claims.get(LTI + "launch_presentation") or {}).get("return_url", "")
    try:
        return check_platform_url(url, what="return")
    except UserFacingError:
        return ""
