"""JWTs signed by the tool: deep-linking responses, LtiStartAssessment, service-token assertions.

Every one carries `kid` of the tool's *active* key (published in /lti/jwks/), a short lifetime
and a unique nonce/jti, so a captured token is useless a few minutes later and never replays.
"""

from __future__ import annotations

import time
import uuid
from functools import lru_cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from .models import Platform

# Long enough for a slow auto-post or a platform clock a minute behind, short enough to be
# useless when captured from a browser history or a proxy log.
TOOL_JWT_LIFETIME_SECONDS = 300


@lru_cache(maxsize=8)
def _private_key(kid: str, sealed: str) -> RSAPrivateKey:
    # Unsealing and loading a PEM (RSA consistency checks, tens of ms) once per process and
    # sealed value: a kid's key never changes, and a re-seal only changes the cache key.
    from .keys import private_pem_unseal

    key = serialization.load_pem_private_key(
        private_pem_unseal(kid=kid, sealed=sealed).encode(), password=None)
    if not isinstance(key, RSAPrivateKey):
        raise TypeError(f"tool key {kid} is not an RSA key")
    return key


def sign_tool_jwt(
    payload: dict[str, Any],
    *,
    platform: Platform | None = None,
    lifetime_s: int = TOOL_JWT_LIFETIME_SECONDS,
) -> str:
    """Sign `payload` with the tool's active key (RS256, header kid).

    Adds `iat`, `exp` and a unique `nonce` and `jti` unless the payload sets them. When a
    platform is given and the payload has no `iss`/`aud`, they default to our client_id and
    the platform's issuer (the rule for tool-to-platform messages).
    """
    from .keys import tool_key_active  # the key module of the launch side owns the key pairs

    key = tool_key_active()
    now = int(time.time())
    claims: dict[str, Any] = {
        "iat": now,
        "exp": now + lifetime_s,
        "nonce": uuid.uuid4().hex,
        "jti": uuid.uuid4().hex,
    }
    if platform is not None:
        claims.update({"iss": platform.client_id, "aud": platform.issuer})
    claims.update(payload)
    return jwt.encode(
        claims,
        _private_key(key.kid, key.private_key_sealed),
        algorithm="RS256",
        headers={"kid": key.kid, "typ": "JWT"},
    )
