"""Every rule of the id_token checklist, one test each (key-set edge faked; pylti1p3, PyJWT,
cache and database real)."""

from __future__ import annotations

import time

import pytest

from proctor_lti.lti.errors import LaunchError
from proctor_lti.lti.keyset import cache_ttl
from proctor_lti.lti.message_launch import id_token_validate
from proctor_lti.lti.models import Deployment, UsedNonce

from .helpers import LTI, LTI_AP, LTI_DL, FakeResponse, claims_for, forge, public_jwk, rsa_key, sign

pytestmark = pytest.mark.django_db


STATE = "state-1"
STATE_COOKIE = {"lti-state-" + STATE: STATE}


def validate(platform, token, nonce="n-1", cookies=STATE_COOKIE, state_confirmed=False):
    return id_token_validate(id_token=token, platform=platform, nonce=nonce, state=STATE,
                             cookies=cookies, state_confirmed=state_confirmed)


def refused(platform, token, nonce="n-1") -> LaunchError:
    with pytest.raises(LaunchError) as info:
        validate(platform, token, nonce)
    assert 400 <= info.value.status < 500
    assert info.value.error_id
    return info.value


def refused_with(platform, token, **kwargs) -> LaunchError:
    with pytest.raises(LaunchError) as info:
        validate(platform, token, **kwargs)
    assert 400 <= info.value.status < 500 and info.value.error_id
    return info.value


def good(platform, **extra):
    return sign(claims_for(platform, deployment_id="dep-1", **extra), rsa_key(1), "k1")


def test_it_accepts_a_well_formed_launch(platform, edge):
    claims = validate(platform, good(platform))
    assert claims["sub"] == "user-sub-1"
    assert UsedNonce.objects.filter(nonce="n-1").count() == 1


def test_it_refuses_a_replayed_id_token(platform, edge):
    token = good(platform)
    validate(platform, token)
    assert refused(platform, token).code == "replayed_token"


def test_it_refuses_alg_none(platform, edge):
    token = forge(claims_for(platform, deployment_id="dep-1"), alg="none", kid="k1")
    assert refused(platform, token).code == "unsupported_algorithm"


def test_it_refuses_hs256_keyed_with_the_public_key(platform, edge):
    from cryptography.hazmat.primitives import serialization

    public_pem = rsa_key(1).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    token = forge(claims_for(platform, deployment_id="dep-1"), alg="HS256", kid="k1",
                  secret=public_pem)
    assert refused(platform, token).code == "unsupported_algorithm"


def test_it_refuses_a_token_without_kid(platform, edge):
    import jwt
    from cryptography.hazmat.primitives import serialization

    pem = rsa_key(1).private_bytes(serialization.Encoding.PEM,
                                   serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption())
    token = jwt.encode(claims_for(platform, deployment_id="dep-1"), pem, algorithm="RS256")
    assert refused(platform, token).code == "missing_kid"


def test_it_refuses_garbage(platform, edge):
    assert refused(platform, "not-a-jwt").code == "malformed_token"


def test_it_refuses_a_forged_signature(platform, edge):
    token = sign(claims_for(platform, deployment_id="dep-1"), rsa_key(2), "k1")
    assert refused(platform, token).code == "bad_signature"


def test_it_refetches_the_key_set_once_for_an_unknown_kid_then_refuses(platform, edge):
    validate(platform, good(platform))
    assert edge.fetches == 1
    token = sign(claims_for(platform, deployment_id="dep-1", nonce="n-2"), rsa_key(2), "k-unknown")
    assert refused(platform, token, "n-2").code == "unknown_kid"
    assert edge.fetches == 2
    # A second unknown kid within the refetch interval does not hit the platform again.
    assert refused(platform, token, "n-2").code == "unknown_kid"
    assert edge.fetches == 2


def test_a_platform_key_rotation_does_not_break_launches(platform, edge):
    validate(platform, good(platform))
    edge.keys = {"k2": rsa_key(2)}
    token = sign(claims_for(platform, deployment_id="dep-1", nonce="n-2"), rsa_key(2), "k2")
    assert validate(platform, token, "n-2")["nonce"] == "n-2"
    assert edge.fetches == 2


def test_it_uses_the_cached_key_set(platform, edge):
    validate(platform, good(platform, nonce="a"), "a")
    validate(platform, good(platform, nonce="b"), "b")
    assert edge.fetches == 1


def test_the_key_set_cache_follows_max_age_within_bounds():
    assert cache_ttl("public, max-age=900") == 900
    assert cache_ttl("") == 3600
    assert cache_ttl("max-age=5") == 60
    assert cache_ttl("no-store") == 60
    assert cache_ttl("max-age=99999999") == 86400


def test_an_unreachable_key_set_is_a_clear_error_not_a_crash(platform, edge):
    edge.down = True
    with pytest.raises(LaunchError) as info:
        validate(platform, good(platform))
    assert info.value.code == "platform_keyset_unavailable"


def test_it_refuses_an_expired_token(platform, edge):
    now = int(time.time())
    assert refused(platform, good(platform, iat=now - 400, exp=now - 120)).code == "token_expired"


def test_it_accepts_a_platform_clock_thirty_seconds_ahead(platform, edge):
    now = int(time.time())
    assert validate(platform, good(platform, iat=now + 30, exp=now + 330))


def test_it_refuses_an_iat_in_the_future(platform, edge):
    now = int(time.time())
    assert refused(platform, good(platform, iat=now + 600, exp=now + 900)).code == \
        "token_from_future"


def test_it_refuses_a_token_older_than_the_maximum_age(platform, edge, settings):
    settings.LTI_MAX_TOKEN_AGE_SECONDS = 100
    now = int(time.time())
    assert refused(platform, good(platform, iat=now - 300, exp=now + 3000)).code == "token_too_old"


@pytest.mark.parametrize("claim", ["exp", "iat", "nonce", "iss", "aud"])
def test_it_refuses_a_token_without_a_required_registered_claim(platform, edge, claim):
    claims = claims_for(platform, deployment_id="dep-1")
    del claims[claim]
    assert refused(platform, sign(claims, rsa_key(1), "k1")).code == f"missing_{claim}"


def test_it_refuses_another_issuer(platform, edge):
    assert refused(platform, good(platform, iss="https://evil.example")).code == "wrong_issuer"


def test_it_refuses_another_audience(platform, edge):
    assert refused(platform, good(platform, aud="other-tool")).code == "wrong_audience"


def test_it_refuses_several_audiences_without_azp(platform, edge):
    token = good(platform, aud=["other-tool", platform.client_id])
    assert refused(platform, token).code == "missing_azp"


def test_it_refuses_several_audiences_with_a_wrong_azp(platform, edge):
    token = good(platform, aud=["other-tool", platform.client_id], azp="other-tool")
    assert refused(platform, token).code == "wrong_azp"


def test_it_accepts_several_audiences_with_our_azp(platform, edge):
    token = good(platform, aud=["other-tool", platform.client_id], azp=platform.client_id)
    assert validate(platform, token)


def test_it_refuses_a_nonce_from_another_login(platform, edge):
    assert refused(platform, good(platform), nonce="different").code == "nonce_mismatch"


def test_a_refused_token_does_not_burn_the_nonce(platform, edge):
    refused(platform, good(platform, aud="other-tool"))
    assert validate(platform, good(platform))


def test_it_refuses_an_unknown_deployment_with_a_hint_for_the_admin(platform, edge):
    token = sign(claims_for(platform, deployment_id="dep-unknown"), rsa_key(1), "k1")
    error = refused(platform, token)
    assert error.code == "unknown_deployment" and error.status == 403
    assert "register_platform" in error.hint and "dep-unknown" in error.hint


def test_it_adds_an_unknown_deployment_only_when_the_platform_allows_it(platform, edge):
    platform.auto_add_deployments = True
    platform.save()
    token = sign(claims_for(platform, deployment_id="dep-new"), rsa_key(1), "k1")
    validate(platform, token)
    assert Deployment.objects.filter(platform=platform, deployment_id="dep-new").exists()


def test_it_refuses_another_lti_version(platform, edge):
    assert refused(platform, good(platform, **{LTI + "version": "1.1"})).code == "wrong_version"


def test_it_refuses_an_unsupported_message_type(platform, edge):
    token = good(platform, **{LTI + "message_type": "LtiSubmissionReviewRequest"})
    assert refused(platform, token).code == "wrong_message_type"


def test_it_refuses_a_resource_link_launch_without_resource_link(platform, edge):
    assert refused(platform, good(platform, **{LTI + "resource_link": {}})).code == \
        "missing_resource_link"


def test_it_refuses_a_launch_without_sub(platform, edge):
    claims = claims_for(platform, deployment_id="dep-1")
    del claims["sub"]
    assert refused(platform, sign(claims, rsa_key(1), "k1")).code == "missing_sub"


def test_it_refuses_a_resource_link_launch_without_roles(platform, edge):
    claims = claims_for(platform, deployment_id="dep-1")
    del claims[LTI + "roles"]
    assert refused(platform, sign(claims, rsa_key(1), "k1")).code == "missing_roles"


def proctoring(platform, **extra):
    claims = claims_for(platform, deployment_id="dep-1", message_type="LtiStartProctoring", **{
        LTI + "roles": [],
        LTI_AP + "start_assessment_url": "https://lms.example.edu/start",
        LTI_AP + "session_data": "opaque",
        LTI_AP + "attempt_number": 1,
    })
    claims.update(extra)
    return claims


def test_it_accepts_start_proctoring_with_empty_roles(platform, edge):
    assert validate(platform, sign(proctoring(platform), rsa_key(1), "k1"))


@pytest.mark.parametrize("claim", ["start_assessment_url", "session_data", "attempt_number"])
def test_it_refuses_start_proctoring_without_its_claims(platform, edge, claim):
    claims = proctoring(platform)
    del claims[LTI_AP + claim]
    assert refused(platform, sign(claims, rsa_key(1), "k1")).code == f"missing_{claim}"


def test_it_refuses_an_attempt_number_below_one(platform, edge):
    claims = proctoring(platform, **{LTI_AP + "attempt_number": 0})
    assert refused(platform, sign(claims, rsa_key(1), "k1")).code == "missing_attempt_number"


def test_it_refuses_deep_linking_without_its_settings(platform, edge):
    claims = claims_for(platform, deployment_id="dep-1", message_type="LtiDeepLinkingRequest")
    assert refused(platform, sign(claims, rsa_key(1), "k1")).code == \
        "missing_deep_linking_settings"
    claims[LTI_DL + "deep_linking_settings"] = {"deep_link_return_url": "https://lms/x",
                                                "accept_types": ["ltiResourceLink"],
                                                "accept_presentation_document_targets": ["iframe"]}
    assert validate(platform, sign(claims, rsa_key(1), "k1"))


@pytest.mark.parametrize("settings_claim", [
    {"accept_types": ["file"], "accept_presentation_document_targets": ["iframe"]},
    {"accept_types": ["ltiResourceLink"]},
])
def test_pylti1p3s_own_deep_linking_rules_still_hold(platform, edge, settings_claim):
    """A platform that cannot take an ltiResourceLink, or names no presentation target,
    is refused by pylti1p3's validator, as a 4xx with an error id, not a 500."""
    claims = claims_for(platform, deployment_id="dep-1", message_type="LtiDeepLinkingRequest")
    claims[LTI_DL + "deep_linking_settings"] = {"deep_link_return_url": "https://lms/x",
                                                **settings_claim}
    assert refused(platform, sign(claims, rsa_key(1), "k1")).code == "invalid_launch"


def test_it_refuses_a_state_the_browser_did_not_confirm(platform, edge):
    error = refused_with(platform, good(platform), cookies={})
    assert error.code == "state_mismatch"
    assert not UsedNonce.objects.exists()


def test_platform_storage_confirms_the_state_without_a_cookie(platform, edge):
    assert validate(platform, good(platform), cookies={}, state_confirmed=True)


def test_a_cookie_for_another_state_does_not_confirm_this_one(platform, edge):
    error = refused_with(platform, good(platform), cookies={"lti-state-" + STATE: "other"})
    assert error.code == "state_mismatch"


def test_the_launch_goes_through_pylti1p3s_message_launch(platform, edge, monkeypatch):
    """Not a parallel validator: pylti1p3's own steps run, in its order."""
    from pylti1p3.message_launch import MessageLaunch

    calls = []
    for step in ("validate_state", "validate_jwt_format", "validate_registration",
                 "validate_deployment"):
        original = getattr(MessageLaunch, step)

        def spy(self, _original=original, _step=step):
            calls.append(_step)
            return _original(self)

        monkeypatch.setattr(MessageLaunch, step, spy)
    validate(platform, good(platform))
    assert calls == ["validate_state", "validate_jwt_format", "validate_registration",
                     "validate_deployment"]


def test_expired_used_nonces_are_purged(platform, edge):
    from datetime import timedelta

    from django.utils import timezone

    UsedNonce.objects.create(issuer=platform.issuer, nonce="old",
                             expires_at=timezone.now() - timedelta(hours=1))
    validate(platform, good(platform))
    assert not UsedNonce.objects.filter(nonce="old").exists()


def test_jwks_from_the_platform_keep_only_rsa_signing_keys(platform, edge, monkeypatch):
    from proctor_lti.lti import keyset

    jwk = public_jwk(rsa_key(1), "k1")
    body = {"keys": [jwk, {**jwk, "kid": "enc", "use": "enc"}, {"kty": "EC", "kid": "ec"}]}
    monkeypatch.setattr(keyset.requests, "get", lambda url, **kw: FakeResponse(body, {}))
    assert set(keyset.keyset_fetch(platform=platform)) == {"k1"}
