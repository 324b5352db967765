"""Hostile launches: every forged or odd token is a 4xx and nothing is handed over."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives import serialization

from tests.lti.helpers import b64url, claims_for, forge, rsa_key, sign

pytestmark = pytest.mark.django_db

LOGIN = {"iss": "https://lms.example.edu", "login_hint": "u-1",
         "target_link_uri": "https://testserver/lti/launch/", "client_id": "tool-client",
         "lti_deployment_id": "dep-1"}


def _login(client) -> dict[str, str]:
    response = client.get("/lti/login/", LOGIN, secure=True)
    return {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}


def _post(client, params, token: str):
    return client.post("/lti/launch/", {"id_token": token, "state": params["state"]},
                       secure=True)


def _public_pem() -> bytes:
    return rsa_key(1).public_key().public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)


def _raw(header: dict, claims: dict, signature: str = "c2ln") -> str:
    return (f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
            f".{signature}")


HOSTILE = {
    "alg_none": lambda c: forge(c, alg="none", kid="k1"),
    "hs256_with_the_public_key_as_secret": lambda c: forge(c, alg="HS256", kid="k1",
                                                           secret=_public_pem()),
    "rs256_header_with_hmac_signature": lambda c: forge(c, alg="RS256", kid="k1",
                                                        secret=_public_pem()),
    "kid_is_a_path": lambda c: sign(c, rsa_key(1), "../../etc/passwd"),
    "kid_is_a_list": lambda c: _raw({"alg": "RS256", "kid": ["k1"]}, c),
    "jku_to_an_attacker_key_set": lambda c: _raw(
        {"alg": "RS256", "kid": "evil", "jku": "https://evil.example/jwks"}, c),
    "embedded_jwk": lambda c: _raw({"alg": "RS256", "kid": "k1", "jwk": {"kty": "RSA"}}, c),
    "signed_by_an_unpublished_key": lambda c: sign(c, rsa_key(2), "k1"),
    "header_not_an_object": lambda c: f"{b64url(b'[1]')}.{b64url(b'{}')}.x",
    "not_base64": lambda c: "%%%.%%%.%%%",
    "two_segments": lambda c: "abc.def",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_it_refuses_forged_tokens_with_a_4xx(client, platform, edge, handed_launches, name):
    params = _login(client)
    token = HOSTILE[name](claims_for(platform, deployment_id="dep-1", nonce=params["nonce"]))
    response = _post(client, params, token)
    assert 400 <= response.status_code < 500
    assert handed_launches == []
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("claims", [
    {"aud": ["tool-client", "other-tool"]},                      # several audiences, no azp
    {"aud": ["other-tool", "tool-client"], "azp": "other-tool"},
    {"aud": "other-tool"},
    {"iss": "https://lms.example.edu.evil.example"},
    {"exp": 1}, {"iat": 4_000_000_000},
    {"https://purl.imsglobal.org/spec/lti/claim/version": "1.1"},
    {"https://purl.imsglobal.org/spec/lti/claim/message_type": "LtiSubmissionReviewRequest"},
    {"https://purl.imsglobal.org/spec/lti/claim/deployment_id": "dep-unknown"},
    {"https://purl.imsglobal.org/spec/lti/claim/deployment_id": ["dep-1"]},
    {"https://purl.imsglobal.org/spec/lti/claim/resource_link": "rl-1"},
    {"sub": {"id": "x"}},
], ids=lambda c: next(iter(c)).rsplit("/", 1)[-1] + "=" + str(next(iter(c.values())))[:20])
def test_it_refuses_genuinely_signed_tokens_with_bad_claims(client, platform, edge,
                                                           handed_launches, claims):
    params = _login(client)
    token = sign(claims_for(platform, deployment_id="dep-1", nonce=params["nonce"], **claims),
                 rsa_key(1), "k1")
    response = _post(client, params, token)
    assert 400 <= response.status_code < 500
    assert handed_launches == []


def test_it_refuses_a_token_carrying_another_logins_nonce(client, platform, edge,
                                                         handed_launches):
    first, second = _login(client), _login(client)
    token = sign(claims_for(platform, deployment_id="dep-1", nonce=first["nonce"]),
                 rsa_key(1), "k1")
    assert _post(client, second, token).status_code == 401
    assert handed_launches == []


def test_it_uses_the_state_up_so_the_same_post_cannot_be_replayed(client, platform, edge,
                                                                 handed_launches):
    params = _login(client)
    token = sign(claims_for(platform, deployment_id="dep-1", nonce=params["nonce"]),
                 rsa_key(1), "k1")
    assert _post(client, params, token).status_code == 200
    assert _post(client, params, token).status_code == 401
    assert len(handed_launches) == 1


def test_it_refuses_the_platform_storage_path_without_a_check_it_issued(client, platform,
                                                                        edge, handed_launches):
    params = _login(client)
    client.cookies.clear()  # as in a cookie-less iframe
    token = sign(claims_for(platform, deployment_id="dep-1", nonce=params["nonce"]),
                 rsa_key(1), "k1")
    response = client.post("/lti/launch/", {
        "id_token": token, "state": params["state"], "lti_storage_check": "made-up",
        "lti_storage_value": params["state"]}, secure=True)
    assert response.status_code == 401
    assert handed_launches == []
