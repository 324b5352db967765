"""Token endpoint, NRPS, ACS, deep-linking return and LtiStartAssessment checks."""

from __future__ import annotations

import time
import uuid

import pytest

from proctor_lti.devlms import platform, sessions
from proctor_lti.devlms.models import DevAcsAction, DevCourseLink, DevProctoringSession
from proctor_lti.devlms.platform import LTI, LTI_AP, LTI_DL

from .conftest import assertion

HOST = {"HTTP_HOST": "lms.test", "SERVER_NAME": "lms.test"}
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture(autouse=True)
def _hosts(settings):  # type: ignore[no-untyped-def]
    settings.ALLOWED_HOSTS = ["lms.test", "testserver"]


def _token(client, jwt_token, scope=platform.SCOPE_NRPS):  # type: ignore[no-untyped-def]
    return client.post("/dev-lms/token", {
        "grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": jwt_token, "scope": scope}, **HOST)


def test_it_issues_an_access_token_for_a_valid_assertion(client, config, tool):
    response = _token(client, tool.sign(assertion(config)))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "Bearer" and body["scope"] == platform.SCOPE_NRPS
    assert tool.fetched == ["http://tool.test/lti/jwks/"]


@pytest.mark.parametrize("change", [
    {"iss": "someone-else"},
    {"sub": "someone-else"},
    {"aud": "http://other.test/token"},
    {"exp": int(time.time()) - 3600},
    {"exp": None},
    {"iat": None},
    {"iat": int(time.time()) + 3600},
])
def test_it_rejects_a_bad_assertion(client, config, tool, change):
    response = _token(client, tool.sign(assertion(config, **change)))
    assert response.status_code == 401, response.content
    assert response.json()["error"] == "invalid_client"


def test_it_rejects_an_assertion_signed_with_another_key(client, config, tool):
    from .conftest import ToolSigner

    stranger = ToolSigner()
    stranger.kid = tool.kid  # same kid, different key: the signature must fail
    response = _token(client, stranger.sign(assertion(config)))
    assert response.status_code == 401


def test_it_rejects_an_hs256_assertion(client, config, tool):
    import jwt

    forged = jwt.encode(assertion(config), "secret", algorithm="HS256",
                        headers={"kid": tool.kid})
    assert _token(client, forged).status_code == 401


def test_it_rejects_a_replayed_assertion(client, config, tool):
    signed = tool.sign(assertion(config))
    assert _token(client, signed).status_code == 200
    replay = _token(client, signed)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"


def test_it_rejects_an_unknown_scope(client, config, tool):
    response = _token(client, tool.sign(assertion(config)), scope="https://evil.test/all")
    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"


def test_it_serves_the_roster_only_with_the_membership_scope(client, config, tool):
    url = "/dev-lms/nrps/demo-course-101/memberships"
    assert client.get(url, **HOST).status_code == 401
    acs_token = _token(client, tool.sign(assertion(config)), scope=platform.SCOPE_ACS).json()
    denied = client.get(url, HTTP_AUTHORIZATION=f"Bearer {acs_token['access_token']}", **HOST)
    assert denied.status_code == 403
    token = _token(client, tool.sign(assertion(config))).json()["access_token"]
    body = client.get(url, {"limit": 2}, HTTP_AUTHORIZATION=f"Bearer {token}", **HOST)
    assert body.status_code == 200
    assert body["Content-Type"].startswith("application/vnd.ims.lti-nrps.v2")
    assert len(body.json()["members"]) == 2 and 'rel="next"' in body["Link"]
    learners = client.get(url, {"role": "Learner"}, HTTP_AUTHORIZATION=f"Bearer {token}", **HOST)
    assert {m["name"] for m in learners.json()["members"]} == {
        "Ada Lovelace", "Grace Hopper", "Alan Turing"}


def _session(user_key="ada") -> DevProctoringSession:  # type: ignore[no-untyped-def]
    link, _ = DevCourseLink.objects.get_or_create(
        resource_link_id="rl-p", defaults={"title": "Final",
                                           "kind": DevCourseLink.Kind.PROCTORING})
    return sessions.proctoring_session_start(link=link, user_key=user_key)


def _start_assessment(config, session, **changes):  # type: ignore[no-untyped-def]
    now = int(time.time())
    claims = {
        "iss": config.client_id, "aud": config.issuer, "iat": now, "exp": now + 300,
        "nonce": uuid.uuid4().hex, LTI + "message_type": "LtiStartAssessment",
        LTI + "version": "1.3.0", LTI + "deployment_id": config.deployment_id,
        LTI + "resource_link": {"id": session.link.resource_link_id},
        LTI_AP + "session_data": session.session_data,
        LTI_AP + "attempt_number": session.attempt_number,
        LTI_AP + "end_assessment_return": True,
    }
    claims.update(changes)
    return claims


def test_it_accepts_a_valid_start_assessment_and_runs_the_attempt(client, config, tool):
    session = _session()
    response = client.post("/dev-lms/proctoring/start-assessment/",
                           {"JWT": tool.sign(_start_assessment(config, session))}, **HOST)
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.status == "running" and session.end_assessment_return


@pytest.mark.parametrize("change", [
    {LTI_AP + "session_data": "not-the-one"},
    {LTI_AP + "attempt_number": 7},
    {LTI + "resource_link": {"id": "another"}},
    {LTI + "message_type": "LtiResourceLinkRequest"},
    {"aud": "http://elsewhere.test"},
])
def test_it_refuses_a_start_assessment_that_does_not_match(client, config, tool, change):
    session = _session()
    response = client.post("/dev-lms/proctoring/start-assessment/",
                           {"JWT": tool.sign(_start_assessment(config, session, **change))},
                           **HOST)
    assert response.status_code == 400
    session.refresh_from_db()
    assert session.status == "launched"


def test_it_records_acs_actions_and_answers_the_status(client, config, tool):
    session = _session()
    session.status = "running"
    session.save()
    token = _token(client, tool.sign(assertion(config)), scope=platform.SCOPE_ACS).json()
    body = {"user": {"iss": config.client_id, "sub": "devlms-ada"},
            "resource_link": {"id": "rl-p"}, "attempt_number": 1, "action": "terminate",
            "incident_time": "2026-01-01T00:00:00Z", "incident_severity": 0.9,
            "reason_code": "multiple_faces", "reason_msg": "Two people on camera"}
    import json

    response = client.post("/dev-lms/acs/", json.dumps(body),
                           content_type="application/vnd.ims.lti-ap.v1.control+json",
                           HTTP_AUTHORIZATION=f"Bearer {token['access_token']}", **HOST)
    assert response.status_code == 200 and response.json() == {"status": "terminated"}
    assert DevAcsAction.objects.get().payload["reason_code"] == "multiple_faces"
    bad = client.post("/dev-lms/acs/", json.dumps({**body, "action": "explode"}),
                      content_type="application/vnd.ims.lti-ap.v1.control+json",
                      HTTP_AUTHORIZATION=f"Bearer {token['access_token']}", **HOST)
    assert bad.status_code == 400 and DevAcsAction.objects.count() == 1


def test_it_adds_a_deep_linked_exam_to_the_course(client, config, tool):
    now = int(time.time())
    data = platform.message_hint(purpose="deep-link", user="katherine")
    claims = {"iss": config.client_id, "aud": config.issuer, "iat": now, "exp": now + 300,
              "nonce": uuid.uuid4().hex, LTI + "message_type": "LtiDeepLinkingResponse",
              LTI + "version": "1.3.0", LTI + "deployment_id": config.deployment_id,
              LTI_DL + "data": data, LTI_DL + "content_items": [
                  {"type": "ltiResourceLink", "title": "Quiz 3 (proctored)",
                   "url": "http://tool.test/lti/launch/", "custom": {"exam_id": "12"}}]}
    response = client.post("/dev-lms/deep-link/return/", {"JWT": tool.sign(claims)}, **HOST)
    assert response.status_code == 200
    link = DevCourseLink.objects.get(from_deep_linking=True)
    assert link.title == "Quiz 3 (proctored)" and link.custom == {"exam_id": "12"}
    forged = {**claims, "nonce": uuid.uuid4().hex, LTI_DL + "data": "tampered"}
    assert client.post("/dev-lms/deep-link/return/", {"JWT": tool.sign(forged)},
                       **HOST).status_code == 400
