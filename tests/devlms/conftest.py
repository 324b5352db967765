"""Fixtures for the dev-LMS unit tests: a tool key pair standing in for the tool's JWKS.

The JWKS fetch is the dev platform's one network call; here it is replaced at that edge by
the key set of a key generated in the test (never a committed key)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from proctor_lti.devlms import platform, verify


class ToolSigner:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex
        jwk = json.loads(jwt.get_algorithm_by_name("RS256").to_jwk(self.key.public_key()))
        self.jwks = {"keys": [{**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    def sign(self, claims: dict[str, Any], **header: Any) -> str:
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid, **header})


@pytest.fixture
def tool(monkeypatch: pytest.MonkeyPatch) -> ToolSigner:
    signer = ToolSigner()
    fetched: list[str] = []

    def fetch(url: str) -> dict[str, Any]:
        fetched.append(url)
        return signer.jwks

    monkeypatch.setattr(verify, "fetch_tool_jwks", fetch)
    signer.fetched = fetched  # type: ignore[attr-defined]
    return signer


@pytest.fixture
def config(db) -> platform.Config:  # type: ignore[no-untyped-def]
    from django.core.cache import cache

    cache.clear()
    return platform.config_save(issuer="http://lms.test/dev-lms", tool_url="http://tool.test",
                                client_id="tool-client", deployment_id="dep-1")


def assertion(config: platform.Config, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": config.client_id, "sub": config.client_id, "aud": config.token_url,
              "iat": now, "exp": now + 300, "jti": uuid.uuid4().hex}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}
