"""Dynamic Registration against a loopback server acting as Canvas or Moodle; Canvas JSON."""

from __future__ import annotations

import re

import pytest

from proctor_lti.core.models import AuditEntry
from proctor_lti.lti.dynamic_registration import CANVAS_PRIVACY, TOOL_CONFIG, url_is_under_issuer
from proctor_lti.lti.models import Platform

NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
ACS = "https://purl.imsglobal.org/spec/lti-ap/scope/control.all"
TOKEN = "reg-token-123"


def platform_config(
    base: str,
    *,
    family: str,
    issuer: str | None = None,
    scopes: list[str],
    authorization_server: str | None = None,
) -> dict:
    config = {
        "issuer": issuer or base,
        "authorization_endpoint": f"{base}/authorize",
        "token_endpoint": f"{base}/token",
        "jwks_uri": f"{base}/jwks",
        "registration_endpoint": f"{base}/register",
        "scopes_supported": ["openid", *scopes],
        "claims_supported": ["iss", "sub", "name", "email"],
        "https://purl.imsglobal.org/spec/lti-platform-configuration": {
            "product_family_code": family,
            "version": "1",
            "messages_supported": [
                {"type": "LtiResourceLinkRequest"},
                {"type": "LtiDeepLinkingRequest"},
            ],
        },
    }
    if authorization_server:
        config["authorization_server"] = authorization_server
    return config


def serve_platform(loopback, config: dict, answer: dict, *, config_path: str) -> str:  # type: ignore[no-untyped-def]
    def guarded(reply):  # type: ignore[no-untyped-def]
        def route(seen):  # type: ignore[no-untyped-def]
            if seen.headers.get("authorization") != f"Bearer {TOKEN}":
                return 401, {}, {"error": "bad registration token"}
            return reply(seen) if callable(reply) else reply

        return route

    loopback.route("GET", config_path, guarded((200, {}, config)))
    loopback.route("POST", "/register", guarded(lambda seen: (200, {}, {**seen.json, **answer})))
    return loopback.url(config_path)


@pytest.fixture
def admin_client(client, django_user_model):  # type: ignore[no-untyped-def]
    admin = django_user_model.objects.create_user("admin", is_staff=True)
    client.force_login(admin)
    return client


def test_canvas_registration_sends_canvas_keys_and_stores_the_platform(
    admin_client, loopback, tool_key
):
    base = loopback.base_url
    url = serve_platform(
        loopback,
        platform_config(base, family="canvas", scopes=[NRPS]),
        {"client_id": "10000000000042"},
        config_path="/api/lti/security/openid-configuration",
    )
    params = {"openid_configuration": url, "registration_token": TOKEN}
    school = "https://school.instructure.example"  # Canvas cloud: UI host != issuer host
    page = admin_client.get(
        "/lti/register/", params, secure=True, HTTP_REFERER=f"{school}/accounts/1/developer_keys"
    )
    assert page.status_code == 200
    assert base in page.content.decode() and NRPS in page.content.decode()
    assert page["Content-Security-Policy"] == f"frame-ancestors 'self' {base} {school}"
    lms_origin = re.search(r'name="lms_origin" value="([^"]*)"', page.content.decode()).group(1)
    assert lms_origin == school

    done = admin_client.post("/lti/register/", {**params, "lms_origin": lms_origin}, secure=True)
    assert done.status_code == 200
    assert "lti-register-done.js" in done.content.decode()
    sent = loopback.requests_to("/register")[0]
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    payload = sent.json
    assert payload["initiate_login_uri"].endswith("/lti/login/")
    assert payload["jwks_uri"].endswith("/lti/jwks/")
    assert payload["redirect_uris"] == [payload[TOOL_CONFIG]["target_link_uri"]]
    assert payload["token_endpoint_auth_method"] == "private_key_jwt"
    assert payload["scope"] == NRPS  # only what Canvas supports: no ACS
    tool = payload[TOOL_CONFIG]
    assert tool[CANVAS_PRIVACY] == "public" and tool["domain"]
    messages = {m["type"]: m for m in tool["messages"]}
    assert messages["LtiDeepLinkingRequest"]["placements"] == [
        "assignment_selection",
        "link_selection",
    ]
    assert tool["claims"] == ["iss", "sub", "name", "email"]
    platform = Platform.objects.get(client_id="10000000000042")
    assert platform.issuer == base and platform.auth_token_url == f"{base}/token"
    assert platform.key_set_url == f"{base}/jwks" and platform.auth_login_url == f"{base}/authorize"
    assert platform.auto_add_deployments and not platform.deployments.exists()
    assert platform.frame_origins == sorted([base, school])
    assert AuditEntry.objects.filter(action="admin", target__endswith=f":{platform.pk}").exists()


def test_moodle_registration_stores_the_returned_deployment_and_audience(
    admin_client, loopback, tool_key
):
    base = loopback.base_url
    url = serve_platform(
        loopback,
        platform_config(
            base,
            family="moodle",
            scopes=[NRPS, ACS],
            authorization_server=f"{base}/mod/lti/token.php",
        ),
        {"client_id": "moodle-abc", TOOL_CONFIG: {"deployment_id": "7"}},
        config_path="/mod/lti/openid-configuration.php",
    )
    response = admin_client.post(
        "/lti/register/", {"openid_configuration": url, "registration_token": TOKEN}, secure=True
    )
    assert response.status_code == 200
    assert set(loopback.requests_to("/register")[0].json["scope"].split()) == {NRPS, ACS}
    platform = Platform.objects.get(client_id="moodle-abc")
    assert list(platform.deployments.values_list("deployment_id", flat=True)) == ["7"]
    assert platform.auth_audience == f"{base}/mod/lti/token.php"
    assert not platform.auto_add_deployments


def test_a_configuration_outside_its_issuer_is_refused(admin_client, loopback, tool_key):
    url = serve_platform(
        loopback,
        platform_config(
            loopback.base_url, family="x", scopes=[], issuer="https://canvas.instructure.com"
        ),
        {"client_id": "c"},
        config_path="/openid",
    )
    response = admin_client.post(
        "/lti/register/", {"openid_configuration": url, "registration_token": TOKEN}, secure=True
    )
    assert response.status_code == 400 and b"issuer" in response.content
    assert not loopback.requests_to("/register") and not Platform.objects.exists()


def test_frame_origins_are_plain_origins_only():
    from proctor_lti.lti.dynamic_registration import origin_of

    assert origin_of("https://school.example/path?q=1") == "https://school.example"
    assert origin_of("https://a.example; script-src *") == ""
    assert origin_of("javascript:alert(1)") == "" and origin_of("") == ""


def test_issuer_prefixes_only_count_on_a_path_boundary():
    assert url_is_under_issuer("https://lms.edu/openid", "https://lms.edu")
    assert url_is_under_issuer("https://lms.edu/a/openid", "https://lms.edu/a/")
    assert not url_is_under_issuer("https://lms.edu.evil.com/openid", "https://lms.edu")
    assert not url_is_under_issuer("https://lms.edu/openid", "")


def test_a_wrong_registration_token_and_a_refusal_are_clear_4xx(admin_client, loopback, tool_key):
    url = serve_platform(
        loopback,
        platform_config(loopback.base_url, family="x", scopes=[]),
        {"client_id": "c"},
        config_path="/openid",
    )
    bad = admin_client.get(
        "/lti/register/", {"openid_configuration": url, "registration_token": "wrong"}, secure=True
    )
    assert bad.status_code == 400 and b"HTTP 401" in bad.content
    assert b"Error id" in bad.content
    loopback.route("POST", "/register", (422, {}, {"error": "invalid_redirect_uri"}))
    refused = admin_client.post(
        "/lti/register/", {"openid_configuration": url, "registration_token": TOKEN}, secure=True
    )
    assert refused.status_code == 400 and b"invalid_redirect_uri" in refused.content
    assert admin_client.get("/lti/register/", secure=True).status_code == 400
    nowhere = admin_client.get(
        "/lti/register/",
        {"openid_configuration": "http://127.0.0.1:9/x", "registration_token": TOKEN},
        secure=True,
    )
    assert nowhere.status_code == 400


def test_registration_needs_a_staff_login(client, django_user_model, loopback):
    response = client.get(
        "/lti/register/",
        {"openid_configuration": loopback.url("/openid"), "registration_token": TOKEN},
        secure=True,
        HTTP_REFERER="https://school.example/accounts/1",
    )
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    # The LMS host survives the login detour (afterwards the Referer is our own login page).
    assert "lms_origin%3Dhttps%253A%252F%252Fschool.example" in response["Location"]
    assert "https://school.example" in response["Content-Security-Policy"]
    client.force_login(django_user_model.objects.create_user("student"))
    response = client.post(
        "/lti/register/",
        {"openid_configuration": loopback.url("/openid"), "registration_token": TOKEN},
        secure=True,
    )
    assert response.status_code == 302 and not loopback.seen


def test_canvas_json_describes_the_developer_key_from_site_url(client, settings, db):
    settings.SITE_URL = "https://proctor.example.edu"
    response = client.get("/lti/canvas.json", secure=True)
    assert response.status_code == 200
    config = response.json()
    assert config["oidc_initiation_url"] == "https://proctor.example.edu/lti/login/"
    assert config["target_link_uri"] == "https://proctor.example.edu/lti/launch/"
    assert config["public_jwk_url"] == "https://proctor.example.edu/lti/jwks/"
    assert NRPS in config["scopes"] and ACS not in config["scopes"]
    assert config["custom_fields"]["canvas_course_id"] == "$Canvas.course.id"
    attempts = config["custom_fields"]["canvas_allowed_attempts"]
    assert attempts == "$Canvas.assignment.allowedAttempts"
    (ext,) = config["extensions"]
    assert ext["platform"] == "canvas.instructure.com" and ext["privacy_level"] == "public"
    placements = {p["placement"]: p for p in ext["settings"]["placements"]}
    assert set(placements) == {
        "course_navigation",
        "assignment_selection",
        "link_selection",
        "quiz_menu",
    }
    assert placements["assignment_selection"]["message_type"] == "LtiDeepLinkingRequest"
    assert placements["link_selection"]["message_type"] == "LtiDeepLinkingRequest"
    assert placements["quiz_menu"]["icon_url"].startswith("https://proctor.example.edu/")
