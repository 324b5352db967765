"""LtiStartAssessment, the auto-post page and the deep-linking picker/response (tool side)."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.test import RequestFactory

from proctor_lti.exams.models import Exam
from proctor_lti.lti.launch_data import LaunchData, ProctoringClaims
from proctor_lti.lti.proctoring import (
    end_assessment_return_url,
    start_assessment_jwt,
    start_assessment_response,
)
from proctor_lti.lti.views_services import deep_linking_start
from tests.factories import (
    AttemptFactory,
    ContextFactory,
    DeploymentFactory,
    ExamFactory,
    IdentityFactory,
    PlatformFactory,
    ResourceLinkFactory,
)

from .conftest import decode_tool_jwt

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
AP = "https://purl.imsglobal.org/spec/lti-ap/claim/"
DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
FIELD = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@pytest.fixture
def attempt(db):  # type: ignore[no-untyped-def]
    platform = PlatformFactory(issuer="https://edx.example.org")
    deployment = DeploymentFactory(platform=platform, deployment_id="dep-7")
    context = ContextFactory(platform=platform, deployment=deployment)
    link = ResourceLinkFactory(context=context, resource_link_id="block-v1:x", title="Final")
    exam = ExamFactory(context=context, resource_link=link, delivery="lti_proctoring")
    return AttemptFactory(
        exam=exam,
        lti_attempt_number=3,
        lti_session_data='opaque "<session>" & data',
        lti_start_assessment_url="https://edx.example.org/start?x=1&y=<2>",
    )


def test_start_assessment_echoes_session_data_and_names_the_attempt(attempt, tool_key):
    claims = decode_tool_jwt(
        start_assessment_jwt(attempt), tool_key, audience="https://edx.example.org"
    )
    platform = attempt.exam.context.platform
    assert claims["iss"] == platform.client_id and claims["aud"] == platform.issuer
    assert claims[LTI + "message_type"] == "LtiStartAssessment"
    assert claims[LTI + "version"] == "1.3.0" and claims[LTI + "deployment_id"] == "dep-7"
    assert claims[LTI + "resource_link"] == {"id": "block-v1:x", "title": "Final"}
    assert claims[AP + "session_data"] == 'opaque "<session>" & data'
    assert claims[AP + "attempt_number"] == 3 and claims[AP + "end_assessment_return"] is True
    assert claims["exp"] - claims["iat"] <= 300 and claims["nonce"]


def test_start_assessment_page_posts_the_escaped_jwt_without_our_csrf_token(attempt, tool_key):
    request = RequestFactory().get("/")
    response = start_assessment_response(request, attempt)
    html = response.content.decode()
    assert 'action="https://edx.example.org/start?x=1&amp;y=&lt;2&gt;"' in html
    fields = dict(FIELD.findall(html))
    assert set(fields) == {"JWT"}
    decode_tool_jwt(unescape(fields["JWT"]), tool_key, audience="https://edx.example.org")
    assert "csrfmiddlewaretoken" not in html and "lti-auto-post.js" in html
    assert response["Cache-Control"] == "no-store"
    assert "<button" in html  # works without JavaScript


def test_a_javascript_start_assessment_url_is_refused_with_a_4xx(attempt, tool_key):
    from proctor_lti.core.errors import UserFacingError

    attempt.lti_start_assessment_url = "javascript:alert(1)"
    with pytest.raises(UserFacingError) as caught:
        start_assessment_response(RequestFactory().get("/"), attempt)
    assert 400 <= caught.value.status < 500


def test_an_attempt_not_started_by_proctoring_services_cannot_start_an_assessment(attempt):
    from proctor_lti.core.errors import UserFacingError

    attempt.lti_attempt_number = None
    with pytest.raises(UserFacingError):
        start_assessment_jwt(attempt)


def test_the_end_assessment_return_url_must_be_http(attempt):
    def launch(url: str) -> LaunchData:
        ctx = attempt.exam.context
        return LaunchData(
            message_type="LtiEndAssessment",
            platform=ctx.platform,
            deployment=ctx.deployment,
            identity=None,
            context=ctx,  # type: ignore
            membership=None,
            resource_link=None,
            role="learner",
            proctoring=ProctoringClaims(return_url=url),
        )

    assert (
        end_assessment_return_url(launch("https://edx.example.org/done"))
        == "https://edx.example.org/done"
    )
    assert end_assessment_return_url(launch("javascript:alert(1)")) == ""


# --- deep linking ------------------------------------------------------------------------


def dl_launch(
    *, role: str = "staff", data: object = "opaque-42", accept_types: list[str] | None = None
) -> LaunchData:
    platform = PlatformFactory(issuer="https://canvas.example.edu")
    deployment = DeploymentFactory(platform=platform, deployment_id="dep-dl")
    context = ContextFactory(platform=platform, deployment=deployment)
    identity = IdentityFactory(platform=platform)
    settings_claim = {
        "deep_link_return_url": "https://canvas.example.edu/dl/return?a=1",
        "accept_types": accept_types or ["ltiResourceLink"],
        "accept_presentation_document_targets": ["iframe", "window"],
    }
    if data is not None:
        settings_claim["data"] = data
    return LaunchData(
        message_type="LtiDeepLinkingRequest",
        platform=platform,
        deployment=deployment,
        identity=identity,
        context=context,
        membership=None,
        resource_link=None,
        role=role,
        claims={DL + "deep_linking_settings": settings_claim},
        launch_id="launch-abc",
    )


def _start(client, launch):  # type: ignore[no-untyped-def]
    client.force_login(launch.identity.user)
    request = RequestFactory().get("/lti/launch/")
    request.user = launch.identity.user
    from django.contrib.sessions.backends.cache import SessionStore

    request.session = SessionStore()
    return deep_linking_start(request, launch)


def test_the_picker_lists_the_courses_exams_and_creates_a_new_one(client, db, tool_key):
    launch = dl_launch()
    ExamFactory(context=launch.context, title="Midterm")
    ExamFactory(title="Other course's exam")
    page = _start(client, launch).content.decode()
    assert "Midterm" in page and "Other course" not in page
    response = client.post(
        "/lti/deep-linking/",
        {
            "launch_id": "launch-abc",
            "choice": "new",
            "title": "Final exam",
            "delivery": "access_code",
            "preset": "recommended",
        },
        secure=True,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'action="https://canvas.example.edu/dl/return?a=1"' in html
    claims = decode_tool_jwt(
        unescape(dict(FIELD.findall(html))["JWT"]), tool_key, audience="https://canvas.example.edu"
    )
    exam = Exam.objects.get(title="Final exam")
    assert exam.context == launch.context and exam.preset == "recommended"
    assert claims[LTI + "message_type"] == "LtiDeepLinkingResponse"
    assert claims[LTI + "deployment_id"] == "dep-dl"
    assert claims[DL + "data"] == "opaque-42"
    (item,) = claims[DL + "content_items"]
    assert item["type"] == "ltiResourceLink" and item["title"] == "Final exam"
    assert item["url"].endswith("/lti/launch/") and item["custom"] == {"exam_id": str(exam.pk)}
    # One response per request: the stash is gone.
    again = client.post(
        "/lti/deep-linking/",
        {"launch_id": "launch-abc", "choice": "existing", "exam": exam.pk},
        secure=True,
    )
    assert again.status_code == 410


def test_an_existing_exam_of_another_course_cannot_be_linked(client, db, tool_key):
    launch = dl_launch(data=None)
    other = ExamFactory(title="Elsewhere")
    _start(client, launch)
    response = client.post(
        "/lti/deep-linking/",
        {"launch_id": "launch-abc", "choice": "existing", "exam": other.pk},
        secure=True,
    )
    assert response.status_code == 400
    mine = ExamFactory(context=launch.context, title="Mine")
    response = client.post(
        "/lti/deep-linking/",
        {"launch_id": "launch-abc", "choice": "existing", "exam": mine.pk},
        secure=True,
    )
    claims = decode_tool_jwt(
        unescape(dict(FIELD.findall(response.content.decode()))["JWT"]),
        tool_key,
        audience="https://canvas.example.edu",
    )
    assert DL + "data" not in claims  # absent in the request -> absent in the response
    assert claims[DL + "content_items"][0]["custom"]["exam_id"] == str(mine.pk)


def test_cancel_returns_no_content_items(client, db, tool_key):
    launch = dl_launch()
    _start(client, launch)
    response = client.post(
        "/lti/deep-linking/", {"launch_id": "launch-abc", "cancel": "1"}, secure=True
    )
    claims = decode_tool_jwt(
        unescape(dict(FIELD.findall(response.content.decode()))["JWT"]),
        tool_key,
        audience="https://canvas.example.edu",
    )
    assert claims[DL + "content_items"] == [] and claims[DL + "data"] == "opaque-42"


def test_only_the_launching_instructor_can_answer(client, db, tool_key, django_user_model):
    launch = dl_launch()
    _start(client, launch)
    client.force_login(django_user_model.objects.create_user("mallory"))
    response = client.post(
        "/lti/deep-linking/", {"launch_id": "launch-abc", "cancel": "1"}, secure=True
    )
    assert response.status_code == 403
    client.logout()
    response = client.post(
        "/lti/deep-linking/", {"launch_id": "launch-abc", "cancel": "1"}, secure=True
    )
    assert response.status_code == 403


def test_learners_and_placements_without_resource_links_get_a_4xx(client, db):
    assert _start(client, dl_launch(role="learner")).status_code == 403
    assert _start(client, dl_launch(accept_types=["file"])).status_code == 400
