"""pytest fixtures for the independent platform. Import them into your conftest.py:

    from tests.platform.fixtures import lti_platform, lti_platform_process  # noqa: F401
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator

import pytest

from .harness import PlatformHarness, PlatformProcess, platform_python_missing_reason


@pytest.fixture(scope="session")
def lti_platform_process() -> Iterator[PlatformHarness]:
    """The platform server process, started once per test session and killed at the end."""
    reason = platform_python_missing_reason()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (CI=true: the platform harness is required)")
        pytest.skip(reason)
    process = PlatformProcess()
    process.start()
    try:
        yield PlatformHarness(process.base_url)
    finally:
        process.stop()


@pytest.fixture
def lti_platform(db, lti_platform_process: PlatformHarness) -> PlatformHarness:  # type: ignore[no-untyped-def]
    """The platform, configured for the Django test client and registered in the tool.

    Each test gets a fresh registration (database rolled back) and a cleared cache, so key sets
    and used nonces never leak between tests. Use `lti_platform.configure(tool_base_url=
    live_server.url)` when the platform must call the tool back (token endpoint).
    """
    from django.core.cache import cache
    from django.core.management import call_command

    cache.clear()
    harness = lti_platform_process
    harness.configure(tool_base_url="https://testserver", client_id="harness-client",
                      deployment_id="harness-deployment", jwks_cache_control="max-age=300")
    call_command("register_platform", *harness.register_command_args(), stdout=io.StringIO())
    return harness
