from __future__ import annotations

from typing import Any

import pytest

from tests.platform.fixtures import lti_platform, lti_platform_process  # noqa: F401


@pytest.fixture
def handed_launches(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Capture what the launch hands to the exam flow.

    The exam flow (another app, tested in tests/exams) is replaced at its entry point so these
    tests judge the launch alone: the response is 200 "handed over" when validation passed.
    """
    from django.http import HttpResponse

    from proctor_lti.exams import entry

    seen: list[Any] = []

    def capture(request, launch):  # type: ignore[no-untyped-def]
        seen.append(launch)
        return HttpResponse("handed over")

    monkeypatch.setattr(entry, "handle_launch", capture)
    return seen


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def edge(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The platform's key set URL, served by a fake edge (signing key kid "k1")."""
    from proctor_lti.lti import keyset

    from .helpers import FakeKeySetEdge, rsa_key

    fake = FakeKeySetEdge(keys={"k1": rsa_key(1)})
    monkeypatch.setattr(keyset.requests, "get", fake.get)
    return fake


@pytest.fixture
def platform(db):  # type: ignore[no-untyped-def]
    from proctor_lti.lti.services import platform_register

    registered, _ = platform_register(
        name="Example LMS", issuer="https://lms.example.edu", client_id="tool-client",
        auth_login_url="https://lms.example.edu/auth", auth_token_url="https://lms.example.edu/token",
        key_set_url="https://lms.example.edu/jwks", deployment_ids=["dep-1"],
    )
    return registered
