"""Shared fixtures. Real PostgreSQL and Redis when they run (always on CI)."""

from __future__ import annotations

import os
import socket

import pytest

ON_CI = os.environ.get("CI", "").lower() == "true"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip with a visible reason when a server is absent; on CI its absence is a failure."""
    if _reachable(host, port):
        return
    message = f"{name} is not running on {host}:{port}"
    if ON_CI:
        pytest.fail(f"{message} (CI=true: the real server is required)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A Redis database for tests that need the real server (db 15, flushed per use)."""
    require_service("Redis", "127.0.0.1", 6379)
    return os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def postgres_required(settings) -> None:  # type: ignore[no-untyped-def]
    if ON_CI and settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        pytest.fail("CI=true but the suite runs on SQLite: DATABASE_URL must point at PostgreSQL")
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        pytest.skip("runs only against PostgreSQL (set DATABASE_URL)")


def pytest_report_header(config):  # type: ignore[no-untyped-def]
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    return [f"database: {engine}; broker: {settings.CELERY_BROKER_URL.split('@')[-1]}"]
