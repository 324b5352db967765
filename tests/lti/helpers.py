"""Unit-test helpers: a platform whose key set is served by a fake HTTP edge.

Only the network edge is replaced (requests.get in proctor_lti.lti.keyset); everything else
(cache, database, PyJWT, our validator) runs for real.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
LTI_AP = "https://purl.imsglobal.org/spec/lti-ap/claim/"
LTI_DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"


@functools.lru_cache(maxsize=8)
def rsa_key(n: int = 0) -> rsa.RSAPrivateKey:
    """Generated keys (never committed), cached per test run because generation is slow."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    algo = jwt.get_algorithm_by_name("RS256")
    return {**json.loads(algo.to_jwk(key.public_key())), "kid": kid, "alg": "RS256", "use": "sig"}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(claims: dict[str, Any], *, alg: str, kid: str, secret: bytes = b"") -> str:
    header = b64url(json.dumps({"alg": alg, "kid": kid, "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims).encode())
    if alg == "none":
        return f"{header}.{body}."
    digest = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64url(digest)}"


class FakeResponse:
    def __init__(self, body: Any, headers: dict[str, str], status: int = 200) -> None:
        self._body, self.headers, self.status_code = body, headers, status

    def raise_for_status(self) -> None:
        import requests

        if self.status_code >= 400:
            raise requests.HTTPError(str(self.status_code))

    def json(self) -> Any:
        return self._body

    @property
    def raw(self) -> Any:  # the urllib3 response the key set fetch reads with read1()
        class Raw:
            def __init__(self, data: bytes) -> None:
                self.data = data

            def read1(self, amt: int = -1, decode_content: bool = True) -> bytes:
                data, self.data = self.data, b""
                return data

        return Raw(json.dumps(self._body).encode())

    def __enter__(self) -> FakeResponse:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


@dataclass
class FakeKeySetEdge:
    """Stands for the platform's key set URL. `keys` maps kid -> private key."""

    keys: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)
    cache_control: str = "max-age=300"
    fetches: int = 0
    down: bool = False

    def get(self, url: str, **kwargs: Any) -> FakeResponse:
        import requests

        assert kwargs.get("timeout"), "key set fetches must have a timeout"
        self.fetches += 1
        if self.down:
            raise requests.ConnectionError("down")
        return FakeResponse({"keys": [public_jwk(k, kid) for kid, k in self.keys.items()]},
                            {"Cache-Control": self.cache_control})


def claims_for(platform: Any, *, deployment_id: str, nonce: str = "n-1",
               message_type: str = "LtiResourceLinkRequest", **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": platform.issuer,
        "aud": platform.client_id,
        "sub": "user-sub-1",
        "iat": now,
        "exp": now + 300,
        "nonce": nonce,
        "name": "Alice Martin",
        "given_name": "Alice",
        "family_name": "Martin",
        "email": "alice@example.edu",
        LTI + "version": "1.3.0",
        LTI + "message_type": message_type,
        LTI + "deployment_id": deployment_id,
        LTI + "target_link_uri": "https://tool.example/lti/launch/",
        LTI + "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
        LTI + "resource_link": {"id": "rl-1", "title": "Midterm"},
        LTI + "context": {"id": "course-1", "title": "Biology 101", "label": "BIO101"},
        LTI + "custom": {"canvas_course_id": "42", "canvas_user_id": "7"},
    }
    claims.update(extra)
    return claims


def sign(claims: dict[str, Any], key: rsa.RSAPrivateKey, kid: str) -> str:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return jwt.encode(claims, pem, algorithm="RS256", headers={"kid": kid})


def new_nonce() -> str:
    return uuid.uuid4().hex
