"""What the dev platform checks in messages the tool signs: client assertions, deep-linking
responses and LtiStartAssessment. Keys come from the tool's published JWKS (fetched over HTTP,
cached briefly, refetched once on an unknown kid), exactly as a real LMS does."""

from __future__ import annotations

import time
from typing import Any

import jwt
import requests
from django.core import signing
from django.core.cache import cache

from .platform import SUPPORTED_SCOPES, Config, PlatformError

JWKS_CACHE_S = 60
LEEWAY_S = 60
TOKEN_SALT = "devlms.access-token"  # noqa: S105 (a signing salt, not a secret)
ACCESS_TOKEN_LIFETIME_S = 3600
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def fetch_tool_jwks(url: str) -> dict[str, Any]:
    """GET the tool's key set (the only network call the dev platform makes)."""
    try:
        response = requests.get(url, timeout=5, headers={"Accept": "application/json"})
        response.raise_for_status()
        data = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise PlatformError(f"Could not read the tool's key set at {url}: {exc}",
                            status=400, code="invalid_client") from exc
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise PlatformError("The tool's key set is not a JWKS document.", code="invalid_client")
    return data


def _tool_key(config: Config, kid: str) -> Any:
    cache_key = f"devlms:tool-jwks:{config.tool_jwks_url}"
    for attempt in range(2):
        keys = cache.get(cache_key) if attempt == 0 else None
        if keys is None:
            keys = fetch_tool_jwks(config.tool_jwks_url)["keys"]
            cache.set(cache_key, keys, JWKS_CACHE_S)
        for jwk in keys:
            if jwk.get("kid") == kid:
                return jwt.PyJWK(jwk, algorithm="RS256").key
    raise PlatformError(f"No key with kid {kid!r} in the tool's key set.", code="invalid_client")


def verify_tool_jwt(config: Config, token: str, *, audience: str | list[str],
                    issuer: str | None = None) -> dict[str, Any]:
    """Verify a JWT signed by the tool: RS256 only, kid from its JWKS, iss, aud, exp, iat."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise PlatformError(f"Not a JWT: {exc}", code="invalid_request") from exc
    if header.get("alg") != "RS256":
        raise PlatformError("Only RS256 signatures are accepted.", code="invalid_client")
    if not header.get("kid"):
        raise PlatformError("The JWT header has no kid.", code="invalid_client")
    key = _tool_key(config, str(header["kid"]))
    try:
        claims = jwt.decode(token, key, algorithms=["RS256"], audience=audience,
                            issuer=issuer or config.client_id, leeway=LEEWAY_S,
                            options={"require": ["iss", "aud", "exp", "iat"]})
    except jwt.PyJWTError as exc:
        raise PlatformError(f"The JWT was refused: {exc}", code="invalid_client") from exc
    if claims["iat"] > time.time() + LEEWAY_S:
        raise PlatformError("The JWT was issued in the future.", code="invalid_client")
    return claims


def use_once(kind: str, value: str, ttl_s: int = 3600) -> None:
    """Refuse a second use of a jti / nonce within its lifetime."""
    if not value:
        raise PlatformError(f"The JWT has no {kind}.", code="invalid_request")
    if not cache.add(f"devlms:used:{kind}:{value}", 1, ttl_s):
        raise PlatformError(f"This {kind} was already used (replay).", code="invalid_grant")


def client_credentials(config: Config, form: dict[str, str]) -> dict[str, Any]:
    """The token endpoint: a client-credentials grant with the tool's signed assertion."""
    if form.get("grant_type") != "client_credentials":
        raise PlatformError("grant_type must be client_credentials.",
                            code="unsupported_grant_type")
    if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
        raise PlatformError("client_assertion_type must be jwt-bearer.", code="invalid_client",
                            status=401)
    requested = set((form.get("scope") or "").split())
    if not requested or not requested <= SUPPORTED_SCOPES:
        raise PlatformError("Unknown or missing scope.", code="invalid_scope")
    try:
        claims = verify_tool_jwt(config, form.get("client_assertion") or "",
                                 audience=[config.token_url, config.issuer])
    except PlatformError as exc:
        raise PlatformError(exc.message, code="invalid_client", status=401) from exc
    if claims.get("sub") != config.client_id:
        raise PlatformError("sub must be the client_id.", code="invalid_client", status=401)
    use_once("jti", str(claims.get("jti") or ""))
    scope = " ".join(sorted(requested))
    token = signing.dumps({"client_id": config.client_id, "scope": scope}, salt=TOKEN_SALT)
    return {"access_token": token, "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_LIFETIME_S, "scope": scope}


def require_bearer(authorization: str, scope: str) -> None:
    """Check an Authorization header carries one of our access tokens with `scope`."""
    kind, _, token = (authorization or "").partition(" ")
    if kind.lower() != "bearer" or not token:
        raise PlatformError("A Bearer access token is required.", status=401,
                            code="invalid_token")
    try:
        data = signing.loads(token.strip(), salt=TOKEN_SALT, max_age=ACCESS_TOKEN_LIFETIME_S)
    except signing.BadSignature as exc:
        raise PlatformError("The access token is invalid or expired.", status=401,
                            code="invalid_token") from exc
    if scope not in str(data.get("scope", "")).split():
        raise PlatformError(f"The access token lacks the scope {scope}.", status=403,
                            code="insufficient_scope")
