"""The development LMS as an LTI 1.3 platform: id_token, JWKS, auth endpoint, services."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from proctor_lti.devlms import platform, roster
from proctor_lti.devlms.models import DevCourseLink, DevLmsKey
from proctor_lti.devlms.platform import LTI, LTI_AP, LTI_DL

HOST = {"HTTP_HOST": "lms.test", "SERVER_NAME": "lms.test"}


@pytest.fixture(autouse=True)
def _hosts(settings):  # type: ignore[no-untyped-def]
    settings.ALLOWED_HOSTS = ["lms.test", "testserver"]


def _login_params(config, user="ada", **hint):  # type: ignore[no-untyped-def]
    url = platform.login_initiation_url(config, user=roster.USERS[user], **hint)
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _auth(client, config, params, **overrides):  # type: ignore[no-untyped-def]
    data = {"client_id": config.client_id, "redirect_uri": config.tool_launch_url,
            "login_hint": params["login_hint"], "lti_message_hint": params["lti_message_hint"],
            "state": "st-1", "nonce": "n-1", "response_type": "id_token", "scope": "openid",
            "response_mode": "form_post", "prompt": "none"}
    data.update(overrides)
    return client.get("/dev-lms/auth", {k: v for k, v in data.items() if v is not None}, **HOST)


def _id_token(response) -> dict:  # type: ignore[no-untyped-def]
    token = response.context["fields"]["id_token"]
    jwks = platform.jwks()
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(jwt.PyJWK(k) for k in jwks["keys"] if k["kid"] == kid)
    return jwt.decode(token, key.key, algorithms=["RS256"], audience="tool-client",
                      issuer="http://lms.test/dev-lms")


def test_it_generates_one_signing_key_and_publishes_only_its_public_part(client, config):
    body = client.get("/dev-lms/jwks", **HOST).json()
    assert len(body["keys"]) == 1
    assert set(body["keys"][0]) == {"kty", "alg", "use", "kid", "n", "e"}
    client.get("/dev-lms/jwks", **HOST)
    assert DevLmsKey.objects.count() == 1


def test_it_answers_the_login_redirect_with_a_signed_resource_link_id_token(client, config):
    link = DevCourseLink.objects.create(resource_link_id="rl-1", title="Midterm")
    params = _login_params(config, message_type="LtiResourceLinkRequest", link=link)
    assert params["iss"] == config.issuer and params["lti_deployment_id"] == "dep-1"
    response = _auth(client, config, params)
    assert response.status_code == 200
    assert response.context["action"] == config.tool_launch_url
    assert response.context["fields"]["state"] == "st-1"
    claims = _id_token(response)
    assert claims["nonce"] == "n-1" and claims["sub"] == "devlms-ada"
    assert claims["exp"] > claims["iat"] >= int(time.time()) - 5
    assert claims[LTI + "message_type"] == "LtiResourceLinkRequest"
    assert claims[LTI + "version"] == "1.3.0"
    assert claims[LTI + "deployment_id"] == "dep-1"
    assert claims[LTI + "resource_link"] == {"id": "rl-1", "title": "Midterm"}
    assert claims[LTI + "context"]["id"] == roster.COURSE_ID
    assert any(r.endswith("#Learner") for r in claims[LTI + "roles"])


def test_it_sends_deep_linking_settings_to_instructors(client, config):
    params = _login_params(config, user="katherine", message_type="LtiDeepLinkingRequest",
                           dl_data="opaque")
    claims = _id_token(_auth(client, config, params))
    settings = claims[LTI_DL + "deep_linking_settings"]
    assert settings["deep_link_return_url"] == "http://lms.test/dev-lms/deep-link/return/"
    assert settings["data"] == "opaque" and LTI + "resource_link" not in claims
    assert any(r.endswith("#Instructor") for r in claims[LTI + "roles"])


def test_it_starts_proctoring_with_session_data_attempt_and_acs(client, config):
    link = DevCourseLink.objects.create(resource_link_id="rl-p", title="Final",
                                        kind=DevCourseLink.Kind.PROCTORING)
    page = client.get("/dev-lms/launch/", {"user": "grace", "link": "rl-p",
                                           "kind": "proctoring"}, **HOST)
    assert page.status_code == 200
    params = {k: v[0] for k, v in parse_qs(urlsplit(page.context["frame_url"]).query).items()}
    claims = _id_token(_auth(client, config, params))
    assert claims[LTI + "message_type"] == "LtiStartProctoring"
    assert claims[LTI_AP + "attempt_number"] == 1
    assert claims[LTI_AP + "session_data"] == link.sessions.get().session_data
    assert claims[LTI_AP + "start_assessment_url"].endswith("/proctoring/start-assessment/")
    assert "terminate" in claims[LTI_AP + "acs"]["actions"]
    client.get("/dev-lms/launch/", {"user": "grace", "link": "rl-p", "kind": "proctoring"},
               **HOST)
    assert sorted(link.sessions.values_list("attempt_number", flat=True)) == [1, 2]


@pytest.mark.parametrize("override, code", [
    ({"client_id": "someone-else"}, "unauthorized_client"),
    ({"redirect_uri": "http://evil.test/lti/launch/"}, "invalid_request_uri"),
    ({"login_hint": "grace"}, "login_required"),
    ({"nonce": None}, "invalid_request"),
    ({"response_type": "code"}, "unsupported_response_type"),
    ({"lti_message_hint": "forged"}, "invalid_request"),
])
def test_it_refuses_a_bad_login_redirect_with_a_4xx(client, config, override, code):
    link = DevCourseLink.objects.create(resource_link_id="rl-1", title="Midterm")
    params = _login_params(config, message_type="LtiResourceLinkRequest", link=link)
    response = _auth(client, config, params, **override)
    assert response.status_code == 400
    assert response.context["code"] == code
    assert "fields" not in response.context


def test_it_refuses_a_launch_as_an_unknown_person(client, config):
    assert client.get("/dev-lms/launch/", {"user": "mallory"}, **HOST).status_code == 400


def test_the_course_page_opened_at_another_loopback_name_goes_to_the_seeded_address(db, settings):
    # A newcomer types localhost:8000 while `make demo` seeded 127.0.0.1:8000: the tool would
    # refuse to be framed by an origin it does not know, so the LMS sends them to its own.
    from django.test import Client

    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
    platform.config_save(issuer="http://127.0.0.1:8000/dev-lms", tool_url="http://127.0.0.1:8000",
                         client_id="c", deployment_id="d")
    response = Client().get("/dev-lms/", HTTP_HOST="localhost:8000")
    assert response.status_code == 302
    assert response["Location"] == "http://127.0.0.1:8000/dev-lms/"
    assert Client().get("/dev-lms/", HTTP_HOST="127.0.0.1:8000").status_code == 200
    assert Client().get("/dev-lms/", HTTP_HOST="localhost:9000").status_code == 200
