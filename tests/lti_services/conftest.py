from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from tests.factories import ContextFactory, DeploymentFactory, PlatformFactory
from tests.platform.fixtures import lti_platform, lti_platform_process  # noqa: F401

from .loopback import Loopback, serve


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def loopback() -> Iterator[Loopback]:
    lb = Loopback()
    server = serve(lb)
    try:
        yield lb
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def tool_key(db):  # type: ignore[no-untyped-def]
    from proctor_lti.lti.keys import tool_key_active

    return tool_key_active()


def decode_tool_jwt(token: str, tool_key: Any, *, audience: str | None = None) -> dict[str, Any]:
    """Verify a tool-signed JWT with the tool's *public* key, as a platform would."""
    public = jwt.algorithms.RSAAlgorithm.from_jwk(tool_key.public_jwk)
    assert jwt.get_unverified_header(token)["kid"] == tool_key.kid
    return jwt.decode(
        token,
        public,
        algorithms=["RS256"],
        audience=audience,
        options={"verify_aud": audience is not None},
    )


@pytest.fixture
def service_platform(db, loopback):  # type: ignore[no-untyped-def]
    """A platform registration whose token endpoint is the loopback server."""
    platform = PlatformFactory(
        issuer="https://lms.example.edu", auth_token_url=loopback.url("/token")
    )
    DeploymentFactory(platform=platform, deployment_id="dep-1")
    return platform


@pytest.fixture
def token_endpoint(loopback):  # type: ignore[no-untyped-def]
    """A token endpoint granting whatever scope is asked, for 3600 s."""

    def grant(seen):  # type: ignore[no-untyped-def]
        return (
            200,
            {},
            {
                "access_token": f"token-{len(loopback.requests_to('/token'))}",
                "token_type": "Bearer",
                "expires_in": 3600,
                "scope": seen.form.get("scope", ""),
            },
        )

    loopback.route("POST", "/token", grant)
    return loopback


@pytest.fixture
def course(service_platform, loopback):  # type: ignore[no-untyped-def]
    return ContextFactory(
        platform=service_platform,
        nrps_url=loopback.url("/nrps"),
        deployment=service_platform.deployments.first(),
    )
