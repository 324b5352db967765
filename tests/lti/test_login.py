"""OIDC login initiation, the state cookie, Platform Storage and the launch endpoint's errors."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from .helpers import claims_for, rsa_key, sign

pytestmark = pytest.mark.django_db

LOGIN = {"iss": "https://lms.example.edu", "login_hint": "u-1",
         "target_link_uri": "https://testserver/lti/launch/", "lti_message_hint": "hint-1",
         "client_id": "tool-client", "lti_deployment_id": "dep-1"}


def start(client, **params):
    response = client.get("/lti/login/", {**LOGIN, **params}, secure=True)
    return response


def auth_params(response) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}


def has_error_id(response) -> bool:
    return bool(re.search(rb"<code>[0-9a-f]{12}</code>", response.content))


def test_login_redirects_to_the_platform_with_state_and_nonce(client, platform):
    response = start(client)
    assert response.status_code == 302
    assert response["Location"].startswith("https://lms.example.edu/auth?")
    params = auth_params(response)
    assert params["scope"] == "openid" and params["response_type"] == "id_token"
    assert params["response_mode"] == "form_post" and params["prompt"] == "none"
    assert params["client_id"] == "tool-client" and params["login_hint"] == "u-1"
    assert params["lti_message_hint"] == "hint-1"
    assert params["redirect_uri"] == "https://testserver/lti/launch/"
    assert len(params["state"]) >= 40 and len(params["nonce"]) >= 40


def test_login_sets_a_partitioned_cross_site_state_cookie(client, platform):
    response = start(client)
    state = auth_params(response)["state"]
    header = response.cookies[f"lti-state-{state}"].OutputString()
    for attribute in ("SameSite=None", "Secure", "HttpOnly", "Partitioned", "Path=/lti/"):
        assert attribute in header
    # What the WSGI handler writes as the Set-Cookie header line.
    assert response.cookies[f"lti-state-{state}"].output(header="").endswith("; Partitioned")


def test_login_accepts_post(client, platform):
    assert client.post("/lti/login/", LOGIN, secure=True).status_code == 302


def test_login_refuses_an_unknown_issuer_with_an_error_page(client, platform):
    response = start(client, iss="https://unknown.example")
    assert response.status_code == 400 and has_error_id(response)


def test_login_refuses_an_unknown_client_id(client, platform):
    response = start(client, client_id="nope")
    assert response.status_code == 400 and has_error_id(response)


def test_login_refuses_an_incomplete_request(client, platform):
    response = client.get("/lti/login/", {"iss": LOGIN["iss"]}, secure=True)
    assert response.status_code == 400 and b"login_hint" in response.content


def test_login_refuses_an_unknown_deployment(client, platform):
    response = start(client, lti_deployment_id="dep-404")
    assert response.status_code == 403 and has_error_id(response)


def test_login_without_client_id_needs_a_single_registration(client, platform):
    from proctor_lti.lti.services import platform_register

    assert client.get("/lti/login/", {k: v for k, v in LOGIN.items() if k != "client_id"},
                      secure=True).status_code == 302
    platform_register(name="Second", issuer=platform.issuer, client_id="other",
                      auth_login_url=platform.auth_login_url,
                      auth_token_url=platform.auth_token_url, key_set_url=platform.key_set_url,
                      deployment_ids=["dep-1"])
    response = client.get("/lti/login/", {k: v for k, v in LOGIN.items() if k != "client_id"},
                          secure=True)
    assert response.status_code == 400


def launch_post(client, platform, params, **claims):
    token = sign(claims_for(platform, deployment_id="dep-1", nonce=params["nonce"], **claims),
                 rsa_key(1), "k1")
    return client.post("/lti/launch/", {"id_token": token, "state": params["state"]}, secure=True)


def test_a_launch_with_the_cookie_logs_the_user_in(client, platform, edge, handed_launches):
    params = auth_params(start(client))
    response = launch_post(client, platform, params)
    assert response.status_code == 200
    assert handed_launches[0].identity.user.pk == int(client.session["_auth_user_id"])


def test_the_session_key_changes_at_launch(client, platform, edge, handed_launches):
    client.get("/lti/login/", LOGIN, secure=True)
    session = client.session
    session["before"] = 1
    session.save()
    before = session.session_key
    params = auth_params(start(client))
    launch_post(client, platform, params)
    assert client.session.session_key != before


def test_a_launch_without_the_cookie_offers_a_new_window(client, platform, edge,
                                                         handed_launches):
    params = auth_params(start(client))
    client.cookies.clear()
    response = launch_post(client, platform, params)
    assert response.status_code == 401 and has_error_id(response)
    assert b"third-party cookies" in response.content
    link = re.search(rb'href="(/lti/login/\?[^"]+)"', response.content).group(1).decode()
    assert "lti_message_hint=hint-1" in link.replace("&amp;", "&")
    assert handed_launches == []


def test_a_launch_with_an_unknown_state_is_refused(client, platform, edge):
    params = auth_params(start(client))
    params["state"] = "forged"
    response = launch_post(client, platform, params)
    assert response.status_code == 401 and has_error_id(response)


def test_a_launch_with_another_logins_cookie_is_refused(client, platform, edge):
    first = auth_params(start(client))
    client.cookies.clear()
    second = auth_params(start(client))
    client.cookies.clear()
    client.cookies[f"lti-state-{first['state']}"] = first["state"]
    response = launch_post(client, platform, second)
    assert response.status_code == 401


def test_a_launch_without_token_is_a_clear_400(client, platform):
    response = client.post("/lti/launch/", {"state": "x"}, secure=True)
    assert response.status_code == 400 and has_error_id(response)


def test_launch_by_get_is_refused_with_a_page(client, platform):
    response = client.get("/lti/launch/", secure=True)
    assert response.status_code == 405 and has_error_id(response)


def storage_config(response) -> dict:
    match = re.search(rb'<script id="lti-storage" type="application/json">(.*?)</script>',
                      response.content, re.S)
    return json.loads(match.group(1))


def test_login_with_a_storage_target_puts_state_in_platform_storage(client, platform):
    response = start(client, lti_storage_target="post_message_forwarding")
    assert response.status_code == 200
    config = storage_config(response)
    assert config["mode"] == "put" and config["target"] == "post_message_forwarding"
    assert config["next"].startswith("https://lms.example.edu/auth?")
    assert parse_qs(urlsplit(config["next"]).query)["state"] == [config["state"]]
    assert "https://lms.example.edu" in config["origins"]
    assert b"js/lti-platform-storage.js" in response.content
    assert any(name.startswith("lti-state-") for name in response.cookies)  # cookie too


def test_without_cookie_the_launch_reads_state_back_from_platform_storage(
        client, platform, edge, handed_launches):
    config = storage_config(start(client, lti_storage_target="_parent"))
    client.cookies.clear()
    token = sign(claims_for(platform, deployment_id="dep-1", nonce=config["nonce"]),
                 rsa_key(1), "k1")
    page = client.post("/lti/launch/", {"id_token": token, "state": config["state"]},
                       secure=True)
    assert page.status_code == 200 and storage_config(page)["mode"] == "get"
    fields = dict(re.findall(rb'name="([a-z_]+)" value="([^"]*)"', page.content))
    check = fields[b"lti_storage_check"].decode()
    # The page's script posts back what the platform's storage frame returned.
    wrong = client.post("/lti/launch/", {"id_token": token, "state": config["state"],
                                         "lti_storage_check": check,
                                         "lti_storage_value": "not-the-state"}, secure=True)
    assert wrong.status_code == 401 and handed_launches == []
    page = client.post("/lti/launch/", {"id_token": token, "state": config["state"]},
                       secure=True)
    fields = dict(re.findall(rb'name="([a-z_]+)" value="([^"]*)"', page.content))
    ok = client.post("/lti/launch/", {"id_token": token, "state": config["state"],
                                      "lti_storage_check": fields[b"lti_storage_check"].decode(),
                                      "lti_storage_value": config["state"]}, secure=True)
    assert ok.status_code == 200 and len(handed_launches) == 1


def test_the_jwks_serves_public_keys_with_cache_headers(client, db):
    response = client.get("/lti/jwks/")
    assert response.status_code == 200
    assert "max-age" in response["Cache-Control"]
    (key,) = response.json()["keys"]
    assert key["alg"] == "RS256" and key["use"] == "sig" and key["kid"]
    assert set(key) == {"kty", "n", "e", "kid", "alg", "use"}


def test_lti_pages_may_be_framed_only_by_registered_platforms(client, platform):
    response = start(client, lti_storage_target="_parent")
    assert response["Content-Security-Policy"] == (
        "frame-ancestors 'self' https://lms.example.edu")
    assert "X-Frame-Options" not in response


def test_a_new_registration_is_allowed_to_frame_at_once(client, platform):
    from proctor_lti.lti.services import platform_register

    client.get("/lti/jwks/")  # caches the frame origins
    platform_register(name="New", issuer="https://new.example.org", client_id="c",
                      auth_login_url="https://sso.new.example.org/auth",
                      auth_token_url="https://new.example.org/token",
                      key_set_url="https://new.example.org/jwks",
                      frame_origins=["https://school.new.example.org"])
    policy = client.get("/lti/jwks/")["Content-Security-Policy"]
    for origin in ("https://new.example.org", "https://sso.new.example.org",
                   "https://school.new.example.org"):
        assert origin in policy


def test_the_session_cookie_is_partitioned(client, platform, edge, handed_launches):
    params = auth_params(start(client))
    response = launch_post(client, platform, params)
    assert "Partitioned" in response.cookies["sessionid"].OutputString()


def test_a_successful_launch_drops_its_state_cookie(client, platform, edge, handed_launches):
    params = auth_params(start(client))
    response = launch_post(client, platform, params)
    morsel = response.cookies[f"lti-state-{params['state']}"]
    assert morsel["max-age"] == 0 and morsel.output(header="").endswith("; Partitioned")
