"""Tool keys (rotation, JWKS, never a private key in admin) and register_platform."""

from __future__ import annotations

from io import StringIO

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.management import CommandError, call_command

from proctor_lti.lti.keys import (
    tool_jwks,
    tool_key_active,
    tool_key_rotate,
    tool_keys_reseal,
    tool_private_pem,
)
from proctor_lti.lti.models import Platform, ToolKey

pytestmark = pytest.mark.django_db


def test_the_first_use_creates_one_active_key():
    key = tool_key_active()
    assert key.state == ToolKey.State.ACTIVE and key.activated_at
    assert tool_key_active().pk == key.pk
    # The stored key is sealed (no PEM in the database) and unseals to a usable RSA private
    # key (generated at first use, never committed).
    assert key.private_key_sealed.startswith("sealed:v1:")
    assert "PRIVATE" not in key.private_key_sealed
    private = serialization.load_pem_private_key(tool_private_pem(key).encode(), password=None)
    assert isinstance(private, rsa.RSAPrivateKey)


def test_a_sealed_key_is_bound_to_its_kid_and_its_master_key(settings):
    from proctor_lti.core.sealing import CryptoError

    first, second = tool_key_active(), tool_key_rotate()
    moved = ToolKey(kid=second.kid, private_key_sealed=first.private_key_sealed)
    with pytest.raises(CryptoError):  # a blob copied onto another key does not authenticate
        tool_private_pem(moved)
    settings.MEDIA_MASTER_KEYS = ["A" * 43 + "="]  # another master key, the old one removed
    with pytest.raises(CryptoError) as info:
        tool_private_pem(first)
    assert "MEDIA_MASTER_KEYS" in str(info.value)  # says what to do, shows no key material


def test_master_key_rotation_reseals_the_tool_keys(settings):
    from proctor_lti.core.sealing import master_keys, sealed_by

    key = tool_key_active()
    pem = tool_private_pem(key)
    old = list(settings.MEDIA_MASTER_KEYS)
    settings.MEDIA_MASTER_KEYS = ["B" * 43 + "=", *old]  # new key first, old kept
    assert tool_keys_reseal(dry_run=True) == {"resealed": 1, "current": 0, "missing": 0}
    assert tool_keys_reseal() == {"resealed": 1, "current": 0, "missing": 0}
    key.refresh_from_db()
    assert sealed_by(key.private_key_sealed) == master_keys()[0][0]
    settings.MEDIA_MASTER_KEYS = ["B" * 43 + "="]  # the old key can now go
    assert tool_private_pem(key) == pem
    assert tool_keys_reseal() == {"resealed": 0, "current": 1, "missing": 0}


def test_rotation_publishes_the_next_key_before_signing_with_it():
    first = tool_key_active()
    next_key = tool_key_rotate()
    assert next_key.state == ToolKey.State.NEXT
    assert tool_key_active().pk == first.pk  # still signing with the first key
    assert {k["kid"] for k in tool_jwks()["keys"]} == {first.kid, next_key.kid}
    activated = tool_key_rotate()
    assert activated.pk == next_key.pk and tool_key_active().pk == next_key.pk
    first.refresh_from_db()
    assert first.state == ToolKey.State.RETIRED and first.retired_at
    assert [k["kid"] for k in tool_jwks()["keys"]] == [next_key.kid]


def test_the_jwks_never_carries_private_parts():
    tool_key_rotate()
    for key in tool_jwks()["keys"]:
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


def test_the_rotate_command_explains_each_step():
    out = StringIO()
    call_command("rotate_tool_key", stdout=out)
    assert "Published next key" in out.getvalue()
    call_command("rotate_tool_key", stdout=out)
    assert "is now active" in out.getvalue()


def test_the_admin_shows_tool_keys_without_their_private_key(admin_client):
    key = tool_key_active()
    changelist = admin_client.get("/admin/lti/toolkey/")
    detail = admin_client.get(f"/admin/lti/toolkey/{key.pk}/change/")
    assert changelist.status_code == 200 and detail.status_code == 200
    for page in (changelist, detail):
        assert key.kid.encode() in page.content
        pem_body = "".join(tool_private_pem(key).strip().splitlines()[1:-1])
        assert pem_body[:64].encode() not in page.content
        assert key.private_key_sealed[10:60].encode() not in page.content
        assert b"-----BEGIN" not in page.content and b"private_key_sealed" not in page.content


def test_the_admin_rotate_action_publishes_a_next_key(admin_client):
    key = tool_key_active()
    admin_client.post("/admin/lti/toolkey/", {"action": "rotate", "_selected_action": [key.pk]})
    assert ToolKey.objects.filter(state=ToolKey.State.NEXT).count() == 1


def test_the_platform_admin_pages_render(admin_client, platform):
    assert admin_client.get("/admin/lti/platform/").status_code == 200
    assert admin_client.get(f"/admin/lti/platform/{platform.pk}/change/").status_code == 200


ARGS = ["--name", "Canvas", "--issuer", "https://canvas.instructure.com",
        "--client-id", "10000000000001",
        "--auth-login-url", "https://sso.canvaslms.com/api/lti/authorize_redirect",
        "--auth-token-url", "https://sso.canvaslms.com/login/oauth2/token",
        "--key-set-url", "https://sso.canvaslms.com/api/lti/security/jwks",
        "--deployment-id", "1:abc"]


def test_register_platform_creates_then_updates(db):
    out = StringIO()
    call_command("register_platform", *ARGS, stdout=out)
    assert "Registered" in out.getvalue()
    call_command("register_platform", *[a if a != "Canvas" else "Canvas Prod" for a in ARGS],
                 "--deployment-id", "2:def", stdout=out)
    assert "Updated" in out.getvalue()
    platform = Platform.objects.get()
    assert platform.name == "Canvas Prod"
    assert set(platform.deployments.values_list("deployment_id", flat=True)) == {"1:abc", "2:def"}


def test_register_platform_refuses_a_bad_url(db):
    args = list(ARGS)
    args[args.index("--key-set-url") + 1] = "not a url"
    with pytest.raises(CommandError, match="key-set-url"):
        call_command("register_platform", *args)


def test_register_platform_refuses_http_unless_allowed(db, settings):
    settings.LTI_ALLOW_INSECURE_PLATFORMS = False
    args = list(ARGS)
    args[args.index("--issuer") + 1] = "http://lms.example.edu"
    with pytest.raises(CommandError, match="https://"):
        call_command("register_platform", *args)
    settings.LTI_ALLOW_INSECURE_PLATFORMS = True
    call_command("register_platform", *args, stdout=StringIO())
    assert Platform.objects.filter(issuer="http://lms.example.edu").exists()


def test_the_platform_admin_form_refuses_http_in_production(admin_client, settings):
    settings.LTI_ALLOW_INSECURE_PLATFORMS = False
    response = admin_client.post("/admin/lti/platform/add/", {
        "name": "X", "issuer": "http://x.example", "client_id": "c",
        "auth_login_url": "https://x.example/a", "auth_token_url": "https://x.example/t",
        "key_set_url": "https://x.example/k", "frame_origins": "[]", "is_active": "on",
        "deployments-TOTAL_FORMS": "0", "deployments-INITIAL_FORMS": "0",
    })
    assert response.status_code == 200 and b"uses http://" in response.content
    assert not Platform.objects.exists()
