"""End to end against Open edX's lti-consumer-xblock as the platform (tests/platform).

The platform validates what the tool signs (deep-linking response, LtiStartAssessment, the
client-credentials assertion) against the tool's JWKS, fetched over real HTTP from a live
server. NRPS and ACS endpoints are served by the test (Open edX needs its own models for
them) and accept only access tokens the platform's token endpoint really issued.
"""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import jwt
import pytest

from proctor_lti.exams.models import Attempt, Exam
from proctor_lti.lti import service_clients as sc
from proctor_lti.lti.models import Context, Membership
from proctor_lti.lti.proctoring import start_assessment_jwt
from proctor_lti.lti.roster import roster_sync

pytestmark = [pytest.mark.platform, pytest.mark.django_db(transaction=True)]

FIELD = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
ACTION = re.compile(r'<form[^>]*action="([^"]+)"')
LIS = "http://purl.imsglobal.org/vocab/lis/v2/membership#"


def form_of(response: Any) -> tuple[str, dict[str, str]]:
    html = response.content.decode()
    return unescape(ACTION.search(html).group(1)), {  # type: ignore[union-attr]
        k: unescape(v) for k, v in FIELD.findall(html)
    }


def platform_token_checker(lti_platform: Any, scope: str):  # type: ignore[no-untyped-def]
    """A bearer check for the test's service endpoints: a token the platform signed, with scope."""
    keys = jwt.PyJWKClient(f"{lti_platform.base_url}/jwks.json")

    def check(seen: Any) -> bool:
        token = seen.headers.get("authorization", "").removeprefix("Bearer ")
        try:
            claims = jwt.decode(
                token,
                keys.get_signing_key_from_jwt(token).key,
                algorithms=["RS256"],
                options={"verify_aud": False},
            )
        except jwt.PyJWTError:
            return False
        return scope in str(claims.get("scopes", "")).split()

    return check


@pytest.fixture
def handed(monkeypatch):  # type: ignore[no-untyped-def]
    """Launches stop at the exam flow's entry (tested in tests/exams), captured here."""
    from proctor_lti.exams import entry

    seen: list[Any] = []
    monkeypatch.setattr(
        entry, "handle_launch", lambda request, launch: seen.append(launch) or _ok()
    )
    return seen


@pytest.fixture
def tool_online(lti_platform, live_server):  # type: ignore[no-untyped-def]
    """Point the platform's callbacks (our JWKS) at a live server of the tool."""

    def go() -> None:
        lti_platform.configure(tool_base_url=live_server.url)

    return go


def test_a_deep_linking_round_trip_is_accepted_by_the_platform(
    lti_platform, tool_online, client, tool_key
):
    return_url = f"{lti_platform.base_url}/deep-linking-return"
    picker = lti_platform.launch_through(
        client,
        message_type="LtiDeepLinkingRequest",
        user_id="ines",
        role="instructor",
        context_id="course-chem",
        context_title="Chemistry",
        deep_link_return_url=return_url,
    )
    assert picker.status_code == 200, picker.content[:600]
    launch_id = re.search(rb'name="launch_id" value="([^"]+)"', picker.content).group(1)
    answer = client.post(
        "/lti/deep-linking/",
        {
            "launch_id": launch_id.decode(),
            "choice": "new",
            "title": "Chemistry final",
            "delivery": "lti_proctoring",
            "preset": "high_stakes",
        },
        secure=True,
    )
    action, fields = form_of(answer)
    assert action == return_url
    exam = Exam.objects.get(title="Chemistry final")
    assert exam.context.context_id == "course-chem"

    tool_online()
    verdict = lti_platform.check_deep_linking(fields["JWT"])
    assert verdict["ok"], verdict
    (item,) = verdict["content_items"]
    assert item["type"] == "ltiResourceLink" and item["title"] == "Chemistry final"
    # Open edX accepted the item; the flag tells the platform's admin to turn proctoring on.
    assert item["custom"] == {"exam_id": str(exam.pk), "proctoring_services": "1"}

    # The same response signed by a key we never published is refused by the platform.
    claims = jwt.decode(fields["JWT"], options={"verify_signature": False})
    from proctor_lti.lti.keys import _generate_pem

    forged = jwt.encode(
        claims, _generate_pem()[0], algorithm="RS256", headers={"kid": tool_key.kid}
    )
    assert not lti_platform.check_deep_linking(forged)["ok"]


def test_the_roster_comes_from_nrps_with_a_token_the_platform_issued(
    lti_platform, tool_online, client, loopback, tool_key, handed
):
    check = platform_token_checker(lti_platform, sc.SCOPE_NRPS)

    def memberships(seen):  # type: ignore[no-untyped-def]
        if not check(seen):
            return 401, {}, {"error": "invalid token"}
        if seen.query.get("page") == "2":
            return 200, {}, {"members": [{"user_id": "s2", "roles": [LIS + "Learner"]}]}
        return (
            200,
            {"Link": f'<{loopback.url("/memberships")}?page=2>; rel="next"'},
            {
                "members": [
                    {"user_id": "ines", "roles": [LIS + "Instructor"], "name": "Ines"},
                    {"user_id": "s1", "roles": [LIS + "Learner"], "name": "Sam"},
                ]
            },
        )

    loopback.route("GET", "/memberships", memberships)
    lti_platform.launch_through(
        client,
        user_id="ines",
        role="instructor",
        context_id="c-nrps",
        nrps_url=loopback.url("/memberships"),
    )
    context = Context.objects.get(context_id="c-nrps")
    assert context.nrps_url == loopback.url("/memberships")

    tool_online()
    result = roster_sync(context)
    assert result.members == 3 and result.added == 2  # ines had launched already
    roles = {m.user.lti_identity.sub: m.role for m in Membership.objects.filter(context=context)}
    assert roles == {"ines": "staff", "s1": "learner", "s2": "learner"}
    assert lti_platform.requests_to("/token") == 1  # one token for both pages


def test_a_token_request_the_platform_cannot_verify_is_refused(
    lti_platform, client, loopback, tool_key, handed
):
    # The platform looks for our key set at https://testserver, which it cannot reach.
    lti_platform.launch_through(
        client,
        user_id="ines",
        role="instructor",
        context_id="c-x",
        nrps_url=loopback.url("/memberships"),
    )
    with pytest.raises(sc.LtiServiceError) as caught:
        sc.nrps_fetch_members(Context.objects.get(context_id="c-x"))
    assert caught.value.status == 400 and "invalid_client" in caught.value.answer
    assert not loopback.seen


@pytest.fixture
def proctoring_attempt(lti_platform, client, handed):  # type: ignore[no-untyped-def]
    """An attempt built from a real LtiStartProctoring launch of the platform."""
    seen = handed
    start_url = f"{lti_platform.base_url}/start-assessment"

    def make(acs_url: str = "") -> Attempt:
        lti_platform.launch_through(
            client,
            message_type="LtiStartProctoring",
            user_id="sam",
            role="student",
            context_id="c-proctor",
            resource_link_id="block-exam-1",
            attempt_number=2,
            session_data="anti-csrf-7f3e",
            start_assessment_url=start_url,
            assessment_control_url=acs_url or None,
            assessment_control_actions=["pause", "resume", "terminate", "flag"],
        )
        (launch,) = seen
        assert launch.proctoring.session_data == "anti-csrf-7f3e"
        exam = Exam.objects.create(
            context=launch.context,
            resource_link=launch.resource_link,
            title="Proctored final",
            delivery="lti_proctoring",
        )
        return Attempt.objects.create(
            exam=exam,
            user=launch.identity.user,
            number=1,
            lti_attempt_number=launch.proctoring.attempt_number,
            lti_session_data=launch.proctoring.session_data,
            lti_start_assessment_url=launch.proctoring.start_assessment_url,
            lti_acs_url=launch.proctoring.acs_url,
        )

    return make


def _ok():  # type: ignore[no-untyped-def]
    from django.http import HttpResponse

    return HttpResponse("handed over")


def test_open_edx_accepts_our_start_assessment(
    lti_platform, tool_online, proctoring_attempt, tool_key
):
    attempt = proctoring_attempt()
    token = start_assessment_jwt(attempt)
    tool_online()
    verdict = lti_platform.check_start_assessment(token, resource_link_id="block-exam-1")
    assert verdict["ok"], verdict
    assert verdict["claims"]["session_data"] == "anti-csrf-7f3e"
    assert verdict["claims"]["attempt_number"] == 2
    assert verdict["claims"]["end_assessment_return"] is True

    attempt.lti_session_data = "someone-else's"
    assert not lti_platform.check_start_assessment(
        start_assessment_jwt(attempt), resource_link_id="block-exam-1"
    )["ok"]
    attempt.lti_session_data, attempt.lti_attempt_number = "anti-csrf-7f3e", 3
    assert not lti_platform.check_start_assessment(
        start_assessment_jwt(attempt), resource_link_id="block-exam-1"
    )["ok"]


def test_acs_reaches_the_platform_with_a_token_it_issued(
    lti_platform, tool_online, proctoring_attempt, loopback, tool_key
):
    check = platform_token_checker(lti_platform, sc.SCOPE_ACS)

    def acs(seen):  # type: ignore[no-untyped-def]
        if not check(seen) or seen.headers.get("content-type") != sc.ACS_MEDIA_TYPE:
            return 401, {}, {"error": "unauthorised"}
        body = seen.json
        ok = (
            body["user"]["sub"] == "sam"
            and body["resource_link"]["id"] == "block-exam-1"
            and body["attempt_number"] == 2
        )
        return (200, {}, {"status": "terminated"}) if ok else (400, {}, {"error": "mismatch"})

    loopback.route("POST", "/acs", acs)
    attempt = proctoring_attempt(acs_url=loopback.url("/acs"))
    tool_online()
    answer = sc.acs_send(
        attempt,
        action="terminate",
        severity=1.0,
        reason_code="multiple_persons",
        reason_msg="A second person sat down",
    )
    assert answer == {"status": "terminated"}
    assert lti_platform.requests_to("/token") == 1
    assert loopback.requests_to("/acs")[0].json["user"]["iss"] == lti_platform.state()["issuer"]
