"""The tool's own RSA key pairs: creation, rotation, publication.

States: next -> active -> retired. The JWKS (/lti/jwks/) publishes the active key and the next
key, so a platform that caches our key set already knows the next key before we sign with it.

Rotation is two steps, each one `tool_key_rotate()` (or `manage.py rotate_tool_key`):

1. no next key yet: create one in state `next`. It is published, nothing is signed with it.
   Wait at least as long as platforms cache our key set (our JWKS says max-age=3600).
2. a next key exists: it becomes `active` (we sign with it from now on) and the previously
   active key becomes `retired` (no longer published, kept for the record).

Private keys stay in the ToolKey table, sealed with the master key (core.sealing): never in
admin pages, logs, fixtures or git, and useless in a database dump without MEDIA_MASTER_KEYS.
`manage.py rotate_master_key` re-seals them with the current master key.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import transaction
from django.utils import timezone

from proctor_lti.core import sealing

from .models import ToolKey

KEY_SIZE = 2048


def _generate_pem() -> tuple[str, dict[str, Any]]:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    algorithm = jwt.get_algorithm_by_name("RS256")
    public_jwk = json.loads(algorithm.to_jwk(private_key.public_key()))
    return pem, public_jwk


def _purpose(kid: str) -> str:
    return f"tool-key:{kid}"


def private_pem_unseal(*, kid: str, sealed: str) -> str:
    """A tool key's PEM (raises sealing.CryptoError when its master key is not configured)."""
    return sealing.unseal(sealed, purpose=_purpose(kid))


def tool_private_pem(key: ToolKey) -> str:
    return private_pem_unseal(kid=key.kid, sealed=key.private_key_sealed)


def tool_keys_reseal(*, dry_run: bool = False) -> dict[str, int]:
    """Re-seal every private key not sealed by the current master key (key rotation)."""
    def save(key: ToolKey, sealed: str) -> None:
        ToolKey.objects.filter(pk=key.pk, private_key_sealed=key.private_key_sealed).update(
            private_key_sealed=sealed)

    return sealing.reseal_all(((k, k.private_key_sealed, _purpose(k.kid))
                               for k in ToolKey.objects.all()), save, dry_run=dry_run)


def tool_key_create(*, state: str = ToolKey.State.NEXT) -> ToolKey:
    """Generate a new RSA-2048 key pair and store it in `state` (next by default)."""
    pem, public_jwk = _generate_pem()
    kid = uuid.uuid4().hex
    public_jwk.update({"kid": kid, "alg": "RS256", "use": "sig"})
    return ToolKey.objects.create(
        kid=kid,
        state=state,
        private_key_sealed=sealing.seal(pem, purpose=_purpose(kid)),
        public_jwk=public_jwk,
        activated_at=timezone.now() if state == ToolKey.State.ACTIVE else None,
    )


def tool_key_active() -> ToolKey:
    """The key the tool signs with now; created on first use."""
    key = ToolKey.objects.filter(state=ToolKey.State.ACTIVE).order_by("-activated_at").first()
    if key is not None:
        return key
    with transaction.atomic():
        # Serialise first-use creation so two workers do not each create an active key.
        list(ToolKey.objects.select_for_update().filter(state=ToolKey.State.ACTIVE))
        key = ToolKey.objects.filter(state=ToolKey.State.ACTIVE).first()
        return key or tool_key_create(state=ToolKey.State.ACTIVE)


def tool_keys_published() -> list[ToolKey]:
    """Keys the JWKS publishes: active ones first, then next ones."""
    tool_key_active()
    keys = ToolKey.objects.filter(state__in=[ToolKey.State.ACTIVE, ToolKey.State.NEXT])
    return sorted(keys, key=lambda k: (k.state != ToolKey.State.ACTIVE, k.created_at))


def tool_jwks() -> dict[str, Any]:
    """The public key set: kid, kty, n, e, alg RS256, use sig. Never a private part."""
    public_names = {"kty", "n", "e", "kid", "alg", "use"}
    return {
        "keys": [
            {name: value for name, value in key.public_jwk.items() if name in public_names}
            for key in tool_keys_published()
        ]
    }


@transaction.atomic
def tool_key_rotate() -> ToolKey:
    """One rotation step (see the module docstring). Returns the key that changed state.

    Without a next key: creates and returns one (published, not yet used).
    With a next key: activates and returns it; the old active key is retired.
    """
    tool_key_active()
    next_key = (
        ToolKey.objects.select_for_update()
        .filter(state=ToolKey.State.NEXT)
        .order_by("created_at")
        .first()
    )
    if next_key is None:
        return tool_key_create(state=ToolKey.State.NEXT)
    now = timezone.now()
    ToolKey.objects.filter(state=ToolKey.State.ACTIVE).update(
        state=ToolKey.State.RETIRED, retired_at=now
    )
    next_key.state = ToolKey.State.ACTIVE
    next_key.activated_at = now
    next_key.save(update_fields=["state", "activated_at", "updated_at"])
    return next_key
