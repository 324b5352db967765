"""End to end against an independent platform: Open edX's lti-consumer-xblock in its own
process (tests/platform). Real HTTP for the auth redirect and the platform key set."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from proctor_lti.lti.models import Context, Membership
from proctor_lti.lti.permissions import can_manage, can_take

pytestmark = [pytest.mark.platform, pytest.mark.django_db]

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
ERROR_ID = re.compile(rb"Error id</?\w*>?: <code>([0-9a-f]{12})</code>|<code>([0-9a-f]{12})</code>")


def assert_refused(response, status: int | None = None) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:500])
    if status:
        assert response.status_code == status
    assert ERROR_ID.search(response.content), response.content[:800]


def test_a_canvas_like_launch_with_custom_claims_reaches_the_exam_flow(
        lti_platform, client, handed_launches):
    response = lti_platform.launch_through(
        client, user_id="alice", name="Alice Martin", email="alice@example.edu",
        role="student", context_id="course-bio", context_title="Biology 101",
        context_label="BIO101", resource_link_id="quiz-7", resource_link_title="Midterm",
        custom={"canvas_course_id": "42", "canvas_assignment_id": "9", "canvas_user_id": "7"},
    )
    assert response.status_code == 200 and response.content == b"handed over"
    (launch,) = handed_launches
    assert launch.message_type == "LtiResourceLinkRequest"
    assert launch.role == "learner" and not launch.is_staff_role
    assert launch.context.context_id == "course-bio" and launch.context.title == "Biology 101"
    assert launch.context.lms_course_id == "42"
    assert launch.resource_link.resource_link_id == "quiz-7"
    assert launch.custom["canvas_assignment_id"] == "9"
    assert launch.identity.name == "Alice Martin" and launch.identity.lms_user_id == "7"
    assert launch.claims["sub"] == "alice"
    assert launch.deployment.deployment_id == "harness-deployment"
    # The user is logged in with a fresh session that remembers the launch.
    assert int(client.session["_auth_user_id"]) == launch.identity.user.pk
    assert client.session["lti_launch_id"] == launch.launch_id


def test_the_validated_launch_is_retrievable_by_its_launch_id(lti_platform, client,
                                                               handed_launches):
    from proctor_lti.lti.launch import launch_claims

    lti_platform.launch_through(client, user_id="alice", context_id="c1")
    launch = handed_launches[0]
    entry = launch_claims(launch_id=launch.launch_id, user=launch.identity.user)
    assert entry["claims"]["sub"] == "alice" and entry["platform_id"] == launch.platform.pk
    assert launch_claims(launch_id=launch.launch_id, user=None) is None


def test_an_instructor_launch_maps_to_staff(lti_platform, client, handed_launches):
    lti_platform.launch_through(client, user_id="bob", role="staff", context_id="c1")
    assert handed_launches[0].role == "staff"


def test_rights_in_one_course_never_leak_to_another(lti_platform, client, handed_launches):
    lti_platform.launch_through(client, user_id="carol", role="staff", context_id="course-a")
    lti_platform.launch_through(client, user_id="carol", role="student", context_id="course-b")
    user = handed_launches[0].identity.user
    a = Context.objects.get(context_id="course-a")
    b = Context.objects.get(context_id="course-b")
    assert can_manage(user, a) and not can_take(user, a)
    assert can_take(user, b) and not can_manage(user, b)


def test_a_later_launch_with_fewer_rights_replaces_the_membership(lti_platform, client,
                                                                   handed_launches):
    lti_platform.launch_through(client, user_id="dan", role="staff", context_id="c1")
    lti_platform.launch_through(client, user_id="dan", role="student", context_id="c1")
    assert Membership.objects.get(context__context_id="c1").role == "learner"


def test_start_proctoring_reaches_the_exam_flow_with_its_claims(lti_platform, client,
                                                                  handed_launches):
    response = lti_platform.launch_through(
        client, message_type="LtiStartProctoring", user_id="erin", role="student",
        context_id="c1", resource_link_id="exam-1", attempt_number=2, session_data="opaque-42",
        assessment_control_url="http://127.0.0.1:9/acs",
        assessment_control_actions=["pause", "terminate"],
    )
    assert response.status_code == 200
    launch = handed_launches[0]
    assert launch.message_type == "LtiStartProctoring" and launch.role == "learner"
    assert launch.proctoring.session_data == "opaque-42"
    assert launch.proctoring.attempt_number == 2
    assert launch.proctoring.start_assessment_url.endswith("/start-assessment")
    assert launch.proctoring.acs_url == "http://127.0.0.1:9/acs"
    assert launch.proctoring.acs_actions == ("pause", "terminate")


def test_end_assessment_reaches_the_exam_flow(lti_platform, client, handed_launches):
    lti_platform.launch_through(client, message_type="LtiEndAssessment", user_id="erin",
                                context_id="c1", resource_link_id="exam-1", attempt_number=1,
                                return_url="https://lms.example/return")
    launch = handed_launches[0]
    assert launch.message_type == "LtiEndAssessment"
    assert launch.proctoring.return_url == "https://lms.example/return"


def test_a_deep_linking_request_reaches_the_exam_flow(lti_platform, client, handed_launches):
    response = lti_platform.launch_through(client, message_type="LtiDeepLinkingRequest",
                                           user_id="bob", role="instructor", context_id="c1")
    assert response.status_code == 200
    launch = handed_launches[0]
    assert launch.message_type == "LtiDeepLinkingRequest" and launch.role == "staff"
    assert launch.resource_link is None


def test_a_replayed_launch_is_refused(lti_platform, client, handed_launches):
    login = lti_platform.prepare_launch(user_id="alice", context_id="c1")
    parts = urlsplit(login)
    redirect = client.get(f"{parts.path}?{parts.query}", secure=True)
    action, fields = lti_platform.authorize(redirect["Location"])
    assert client.post("/lti/launch/", fields, secure=True).status_code == 200
    assert_refused(client.post("/lti/launch/", fields, secure=True), 401)
    # The same id_token with a fresh state of a new sign-in is refused too (nonce).
    redirect = client.get(f"{parts.path}?{parts.query}", secure=True)
    new_state = dict(p.split("=", 1) for p in urlsplit(redirect["Location"]).query.split("&"))
    replay = {"id_token": fields["id_token"], "state": new_state["state"]}
    assert_refused(client.post("/lti/launch/", replay, secure=True), 401)
    assert len(handed_launches) == 1


@pytest.mark.parametrize("tamper, code", [
    ({"remove": ["exp"]}, b"missing_exp"),
    ({"remove": ["iat"]}, b"missing_iat"),
    ({"iat_offset": 3600}, b"token_from_future"),
    ({"exp_offset": -3600, "iat_offset": -4000}, b"token_expired"),
    ({"set": {"aud": "another-tool"}}, b"wrong_audience"),
    ({"set": {"aud": ["another-tool", "harness-client"], "azp": "another-tool"}}, b"wrong_azp"),
    ({"kid": "kid-nobody-published"}, b"unknown_kid"),
    ({"foreign_key": True}, b"bad_signature"),
    ({"alg": "HS256"}, b"unsupported_algorithm"),
    ({"alg": "none"}, b"unsupported_algorithm"),
    ({"set": {"iss": "https://evil.example"}}, b"wrong_issuer"),
    ({"set": {"https://purl.imsglobal.org/spec/lti/claim/version": "1.1.0"}}, b"wrong_version"),
], ids=["missing-exp", "missing-iat", "future-iat", "expired", "wrong-aud", "wrong-azp",
        "unknown-kid", "forged-signature", "hs256", "none", "wrong-issuer", "wrong-version"])
def test_security_cases_are_refused_with_an_error_id(lti_platform, client, handed_launches,
                                                     caplog, tamper, code):
    response = lti_platform.launch_through(client, user_id="mallory", context_id="c1",
                                           tamper=tamper)
    assert_refused(response)
    assert handed_launches == []
    error_id = ERROR_ID.search(response.content)
    logged = caplog.text
    assert (error_id.group(1) or error_id.group(2)).decode() in logged
    assert code.decode() in logged
    assert lti_platform.last_id_token() not in logged  # never log tokens


def test_an_unknown_kid_triggers_one_refetch_only(lti_platform, client, handed_launches):
    lti_platform.launch_through(client, user_id="a", context_id="c1")
    assert lti_platform.requests_to("/jwks.json") == 1
    for _ in range(3):
        assert_refused(lti_platform.launch_through(client, user_id="a", context_id="c1",
                                                   tamper={"kid": "nobody"}))
    assert lti_platform.requests_to("/jwks.json") == 2


def test_a_platform_key_rotation_keeps_launches_working(lti_platform, client, handed_launches):
    lti_platform.launch_through(client, user_id="a", context_id="c1")
    lti_platform.rotate_key()
    response = lti_platform.launch_through(client, user_id="a", context_id="c1")
    assert response.status_code == 200 and len(handed_launches) == 2
    assert lti_platform.requests_to("/jwks.json") == 2


def test_an_unknown_deployment_is_refused_at_login(lti_platform, client, handed_launches):
    response = lti_platform.launch_through(client, user_id="a", deployment_id="dep-unknown")
    assert_refused(response, 403)
    assert b"dep-unknown" in response.content


def test_an_unknown_deployment_in_the_token_is_refused(lti_platform, client, handed_launches):
    response = lti_platform.launch_through(
        client, user_id="a",
        tamper={"set": {"https://purl.imsglobal.org/spec/lti/claim/deployment_id": "dep-x"}})
    assert_refused(response, 403)


def test_an_unregistered_issuer_is_refused_at_login(lti_platform, client):
    lti_platform.configure(issuer="https://unregistered.example")
    try:
        response = lti_platform.launch_through(client, user_id="a")
    finally:
        lti_platform.configure(issuer=lti_platform.base_url)
    assert_refused(response, 400)
    assert b"unknown_platform" not in response.content  # codes go to logs, words to people


def test_an_unregistered_client_id_is_refused_at_login(lti_platform, client):
    lti_platform.configure(client_id="someone-else")
    response = lti_platform.launch_through(client, user_id="a")
    assert_refused(response, 400)


def test_several_client_ids_for_one_issuer_each_launch(lti_platform, client, handed_launches):
    from django.core.management import call_command

    args = lti_platform.register_command_args()
    args[args.index("--client-id") + 1] = "second-client"
    call_command("register_platform", *args)
    lti_platform.configure(client_id="second-client")
    assert lti_platform.launch_through(client, user_id="a", context_id="c").status_code == 200
    lti_platform.configure(client_id="harness-client")
    assert lti_platform.launch_through(client, user_id="a", context_id="c").status_code == 200
    assert [launch.platform.client_id for launch in handed_launches] == [
        "second-client", "harness-client"]


def test_custom_lti_role_uris_from_the_platform_are_mapped(lti_platform, client,
                                                           handed_launches):
    lti_platform.launch_through(client, user_id="t", context_id="c1", roles_override=[
        LIS + "membership/Instructor#TeachingAssistant"])
    lti_platform.launch_through(client, user_id="adm", context_id="c1", roles_override=[
        LIS + "institution/person#Administrator"])
    assert [launch.role for launch in handed_launches] == ["staff", "admin"]


def test_the_platform_token_endpoint_checks_our_assertion_against_our_jwks(
        lti_platform, live_server, settings):
    """The harness's token endpoint fetches /lti/jwks/ from the live tool, like an LMS."""
    import time
    import uuid

    import jwt
    import requests

    from proctor_lti.lti.keys import tool_key_active, tool_private_pem

    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    lti_platform.configure(tool_base_url=live_server.url)
    reg = lti_platform.state()
    key = tool_key_active()
    now = int(time.time())
    claims = {"iss": reg["client_id"], "sub": reg["client_id"], "aud": reg["auth_token_url"],
              "iat": now, "exp": now + 300, "jti": uuid.uuid4().hex}
    form = {"grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "scope": "https://purl.imsglobal.org/spec/lti-ap/scope/control.all"}
    good = jwt.encode(claims, tool_private_pem(key), algorithm="RS256",
                      headers={"kid": key.kid})
    answer = requests.post(reg["auth_token_url"], data={**form, "client_assertion": good},
                           timeout=10)
    assert answer.status_code == 200 and answer.json()["access_token"]
    from .helpers import rsa_key, sign

    forged = sign(claims, rsa_key(3), key.kid)
    refused = requests.post(reg["auth_token_url"], data={**form, "client_assertion": forged},
                            timeout=10)
    assert refused.status_code == 400
