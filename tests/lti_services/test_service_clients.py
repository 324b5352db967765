"""Service token, NRPS and ACS clients against a loopback platform."""

from __future__ import annotations

import time

import pytest

from proctor_lti.lti import service_clients as sc
from proctor_lti.lti.models import Membership
from proctor_lti.lti.roster import roster_sync
from proctor_lti.lti.signing import sign_tool_jwt
from tests.factories import (
    AttemptFactory,
    ExamFactory,
    IdentityFactory,
    MembershipFactory,
    ResourceLinkFactory,
)

from .conftest import decode_tool_jwt

NRPS = sc.SCOPE_NRPS


def test_tool_jwts_carry_the_active_kid_a_short_expiry_and_a_fresh_nonce(
    service_platform, tool_key
):
    first = decode_tool_jwt(
        sign_tool_jwt({"x": 1}, platform=service_platform),
        tool_key,
        audience=service_platform.issuer,
    )
    second = decode_tool_jwt(
        sign_tool_jwt({"x": 1}, platform=service_platform),
        tool_key,
        audience=service_platform.issuer,
    )
    assert first["iss"] == service_platform.client_id
    assert 0 < first["exp"] - first["iat"] <= 300
    assert abs(first["iat"] - time.time()) < 5
    assert first["nonce"] != second["nonce"] and first["jti"] != second["jti"]


def test_the_token_assertion_is_signed_for_the_token_endpoint_and_the_token_is_cached(
    service_platform, token_endpoint, tool_key
):
    assert sc.service_token(platform=service_platform, scopes=[NRPS]) == "token-1"
    assert sc.service_token(platform=service_platform, scopes=[NRPS]) == "token-1"
    (seen,) = token_endpoint.requests_to("/token")
    assert seen.form["grant_type"] == "client_credentials"
    assert (
        seen.form["client_assertion_type"]
        == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    )
    assert seen.form["scope"] == NRPS
    claims = decode_tool_jwt(
        seen.form["client_assertion"], tool_key, audience=service_platform.auth_token_url
    )
    assert claims["iss"] == claims["sub"] == service_platform.client_id
    assert claims["jti"]
    # Another scope set is another token.
    assert sc.service_token(platform=service_platform, scopes=[sc.SCOPE_ACS]) == "token-2"


def test_the_assertion_audience_is_the_platforms_auth_audience_when_set(
    service_platform, token_endpoint, tool_key
):
    service_platform.auth_audience = "https://lms.example.edu/oauth2/token"
    service_platform.save()
    sc.service_token(platform=service_platform, scopes=[NRPS])
    (seen,) = token_endpoint.requests_to("/token")
    decode_tool_jwt(
        seen.form["client_assertion"], tool_key, audience="https://lms.example.edu/oauth2/token"
    )


def test_a_short_lived_token_is_refreshed_before_it_expires(
    service_platform, loopback, tool_key, monkeypatch
):
    loopback.route("POST", "/token", (200, {}, {"access_token": "short", "expires_in": 1}))
    sc.service_token(platform=service_platform, scopes=[NRPS])
    sc.service_token(platform=service_platform, scopes=[NRPS])
    assert len(loopback.requests_to("/token")) == 2  # 1 s tokens are never cached


def test_a_refused_token_raises_with_the_platforms_answer_but_never_the_assertion(
    service_platform, loopback, tool_key
):
    loopback.route("POST", "/token", (400, {}, {"error": "invalid_client"}))
    with pytest.raises(sc.LtiServiceError) as caught:
        sc.service_token(platform=service_platform, scopes=[NRPS])
    assert caught.value.status == 400 and "invalid_client" in str(caught.value)
    assertion = loopback.requests_to("/token")[0].form["client_assertion"]
    assert assertion not in str(caught.value)


def test_scopes_the_platform_did_not_grant_are_reported(service_platform, loopback, tool_key):
    loopback.route(
        "POST", "/token", (200, {}, {"access_token": "t", "expires_in": 3600, "scope": ""})
    )
    with pytest.raises(sc.LtiServiceError, match="did not grant"):
        sc.service_token(platform=service_platform, scopes=[sc.SCOPE_ACS])


def test_an_unreachable_token_endpoint_is_a_transient_error(service_platform, tool_key, settings):
    service_platform.auth_token_url = "http://127.0.0.1:9/token"
    with pytest.raises(sc.LtiServiceError) as caught:
        sc.service_token(platform=service_platform, scopes=[NRPS])
    assert caught.value.transient


def _page(members, next_url=None):  # type: ignore[no-untyped-def]
    headers = {"Link": f'<{next_url}>; rel="next"'} if next_url else {}
    return 200, {"Content-Type": sc.NRPS_MEDIA_TYPE, **headers}, {"id": "x", "members": members}


def test_nrps_follows_next_links_and_maps_roles(course, token_endpoint, loopback, tool_key):
    loopback.route(
        "GET",
        "/nrps",
        _page(
            [
                {
                    "user_id": "s1",
                    "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
                    "name": "Ana Learner",
                    "email": "ana@example.edu",
                },
                {"user_id": "t1", "roles": ["Instructor"], "name": "Tea Cher"},
            ],
            next_url=loopback.url("/nrps2"),
        ),
    )
    loopback.route(
        "GET",
        "/nrps2",
        _page(
            [
                {
                    "user_id": "ta",
                    "roles": [
                        "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"
                    ],
                },
                {
                    "user_id": "dev",
                    "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#ContentDeveloper"],
                },
                {"user_id": "gone", "roles": ["Learner"], "status": "Inactive"},
            ]
        ),
    )
    members = {m.user_id: m for m in sc.nrps_fetch_members(course)}
    assert {k: m.role for k, m in members.items()} == {
        "s1": "learner",
        "t1": "staff",
        "ta": "staff",
        "dev": "staff",
        "gone": "learner",
    }
    assert not members["gone"].is_active and members["s1"].email == "ana@example.edu"
    page = loopback.requests_to("/nrps")[0]
    assert page.headers["accept"] == sc.NRPS_MEDIA_TYPE
    assert page.headers["authorization"] == "Bearer token-1"
    assert len(loopback.requests_to("/token")) == 1  # one token for both pages


def test_a_course_without_nrps_raises_a_clear_error(course):
    course.nrps_url = ""
    with pytest.raises(sc.LtiServiceError, match="no roster service"):
        sc.nrps_fetch_members(course)


def test_an_expired_token_gets_one_fresh_token_on_401(course, token_endpoint, loopback, tool_key):
    def nrps(seen):  # type: ignore[no-untyped-def]
        if seen.headers["authorization"] == "Bearer token-1":
            return 401, {}, {"error": "expired"}
        return _page([])

    loopback.route("GET", "/nrps", nrps)
    assert sc.nrps_fetch_members(course) == []
    assert len(loopback.requests_to("/token")) == 2


def test_roster_sync_adds_updates_and_removes_memberships(
    course, token_endpoint, loopback, tool_key
):
    known = IdentityFactory(platform=course.platform, sub="t1", name="")
    MembershipFactory(context=course, user=known.user, role="learner")
    leaver = MembershipFactory(context=course, role="learner")
    admin = MembershipFactory(context=course, role="admin")
    loopback.route(
        "GET",
        "/nrps",
        _page(
            [
                {"user_id": "s1", "roles": ["Learner"], "given_name": "Ana", "family_name": "B"},
                {"user_id": "t1", "roles": ["Instructor"], "name": "Tea Cher"},
                {"user_id": "x", "roles": ["Learner"], "status": "Deleted"},
            ]
        ),
    )
    result = roster_sync(course)
    assert (result.added, result.updated, result.removed) == (1, 1, 1)
    roles = dict(Membership.objects.filter(context=course).values_list("user_id", "role"))
    assert roles[known.user_id] == "staff" and admin.user_id in roles
    assert leaver.user_id not in roles
    known.refresh_from_db()
    assert known.name == "Tea Cher"
    assert course.platform.identities.get(sub="s1").name == "Ana B"
    # Running it again changes nothing.
    assert roster_sync(course).added == 0


@pytest.fixture
def proctored_attempt(course, loopback):  # type: ignore[no-untyped-def]
    identity = IdentityFactory(platform=course.platform, sub="student-sub")
    exam = ExamFactory(
        context=course,
        delivery="lti_proctoring",
        resource_link=ResourceLinkFactory(context=course, resource_link_id="rl-9"),
    )
    return AttemptFactory(
        exam=exam,
        user=identity.user,
        lti_attempt_number=2,
        lti_acs_url=loopback.url("/acs"),
        lti_session_data="s",
    )


def test_acs_posts_the_control_message_with_its_media_type(
    proctored_attempt, token_endpoint, loopback, tool_key
):
    loopback.route("POST", "/acs", (200, {}, {"status": "terminated"}))
    answer = sc.acs_send(
        proctored_attempt,
        action="terminate",
        severity=0.9,
        reason_code="multiple_faces",
        reason_msg="Two people",
        extra_time=None,
    )
    assert answer == {"status": "terminated"}
    (seen,) = loopback.requests_to("/acs")
    assert seen.headers["content-type"] == sc.ACS_MEDIA_TYPE
    assert token_endpoint.requests_to("/token")[0].form["scope"] == sc.SCOPE_ACS
    body = seen.json
    assert body["user"] == {"iss": "https://lms.example.edu", "sub": "student-sub"}
    assert body["resource_link"] == {"id": "rl-9"} and body["attempt_number"] == 2
    assert body["action"] == "terminate" and body["incident_severity"] == 0.9
    assert body["reason_code"] == "multiple_faces" and body["incident_time"].endswith("Z")


def test_acs_retries_server_errors_with_backoff_then_succeeds(
    proctored_attempt, token_endpoint, loopback, tool_key, monkeypatch
):
    sleeps: list[float] = []
    monkeypatch.setattr(sc.time, "sleep", sleeps.append)
    answers = iter([(503, {}, "busy"), (502, {}, "bad gateway"), (200, {}, {"status": "paused"})])
    loopback.route("POST", "/acs", lambda seen: next(answers))
    assert sc.acs_send(proctored_attempt, action="pause")["status"] == "paused"
    assert len(loopback.requests_to("/acs")) == 3
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0] > 0


def test_acs_gives_up_after_bounded_retries(
    proctored_attempt, token_endpoint, loopback, tool_key, monkeypatch
):
    monkeypatch.setattr(sc.time, "sleep", lambda s: None)
    loopback.route("POST", "/acs", (500, {}, "down"))
    with pytest.raises(sc.LtiServiceError) as caught:
        sc.acs_send(proctored_attempt, action="flag")
    assert caught.value.status == 500 and "down" in caught.value.answer
    assert len(loopback.requests_to("/acs")) == sc.ACS_MAX_ATTEMPTS


def test_acs_does_not_retry_a_refusal(proctored_attempt, token_endpoint, loopback, tool_key):
    loopback.route("POST", "/acs", (400, {}, {"error": "unknown attempt"}))
    with pytest.raises(sc.LtiServiceError, match="unknown attempt"):
        sc.acs_send(proctored_attempt, action="flag")
    assert len(loopback.requests_to("/acs")) == 1


def test_acs_rejects_bad_arguments_and_attempts_without_a_service(proctored_attempt):
    with pytest.raises(ValueError):
        sc.acs_send(proctored_attempt, action="explode")
    with pytest.raises(ValueError):
        sc.acs_send(proctored_attempt, action="flag", severity=1.5)
    proctored_attempt.lti_acs_url = ""
    with pytest.raises(sc.LtiServiceError, match="without an Assessment Control"):
        sc.acs_send(proctored_attempt, action="flag")


def test_service_urls_must_be_https_in_production(course, settings, tool_key):
    settings.LTI_ALLOW_INSECURE_PLATFORMS = False
    with pytest.raises(sc.LtiServiceError, match="not https"):
        sc.nrps_fetch_members(course)


def test_a_stale_roster_is_refreshed_in_the_background_once(
    course, token_endpoint, loopback, tool_key, monkeypatch, django_capture_on_commit_callbacks
):
    from proctor_lti.celery import app
    from proctor_lti.lti.roster import roster_sync_enqueue, roster_synced_at

    monkeypatch.setattr(app.conf, "task_always_eager", True)  # the task runs in-process
    loopback.route("GET", "/nrps", _page([{"user_id": "s1", "roles": ["Learner"]}]))
    assert roster_synced_at(course) is None
    with django_capture_on_commit_callbacks(execute=True):
        assert roster_sync_enqueue(course) is True
        assert roster_sync_enqueue(course) is False  # already queued
    assert roster_synced_at(course) is not None
    assert Membership.objects.filter(context=course).count() == 1
    assert roster_sync_enqueue(course) is False  # fresh
