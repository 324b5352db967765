"""A real Celery worker process for the browser tests (camera checks and segment analysis).

The live server runs inside the test process; the worker is a separate process, as in
production, consuming from its own Redis database and reading the same test database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from tests.conftest import ON_CI, require_service

BROKER_DB = int(os.environ.get("BROWSER_TEST_BROKER_DB", "13"))


def _database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        name = str(s["NAME"])
        if name == ":memory:" or "mode=memory" in name:
            message = ("the worker process needs a database it can share: run with PostgreSQL "
                       "(DATABASE_URL) or set TEST_DATABASE_NAME for a file SQLite database")
            if ON_CI:
                pytest.fail(message)
            pytest.skip(message)
        return f"sqlite:///{Path(name).resolve()}"
    if connection.vendor == "postgresql":
        user = s.get("USER") or ""
        auth = f"{user}:{s['PASSWORD']}@" if s.get("PASSWORD") else (f"{user}@" if user else "")
        host = f"{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}"
        return f"postgres://{auth}{host}/{s['NAME']}"
    pytest.skip(f"no worker support for {connection.vendor}")
    return ""


# The worker starts through this snippet so it uses the same key prefix as the tests: runs
# of this suite by several people at once on one Redis then never steal each other's tasks.
WORKER_MAIN = (
    "import json, os, sys\n"
    "from proctor_lti.celery import app\n"
    "app.conf.broker_transport_options = json.loads(os.environ['BROWSER_TEST_BROKER_OPTIONS'])\n"
    "app.worker_main(sys.argv[1:])\n"
)


def _point_app_at(broker_url: str | None, options: dict[str, Any]) -> tuple[str, dict]:
    """Send tasks from this process to `broker_url` (drops pooled connections)."""
    from proctor_lti.celery import app

    previous = (str(app.conf.broker_url), dict(app.conf.broker_transport_options or {}))
    if app._pool is not None:  # noqa: SLF001 - no public way to re-point a live app
        app._pool.force_close_all()  # noqa: SLF001
        app._pool = None  # noqa: SLF001
    app.amqp._producer_pool = None  # noqa: SLF001
    app.conf.broker_url = broker_url
    app.conf.broker_transport_options = options
    app.conf.task_always_eager = False
    return previous


@pytest.fixture
def celery_worker_process(transactional_db: None, tmp_path: Path) -> Iterator[subprocess.Popen]:
    require_service("Redis", "127.0.0.1", 6379)
    import redis

    broker = f"redis://127.0.0.1:6379/{BROKER_DB}"
    prefix = f"browser-tests-{uuid.uuid4().hex[:10]}:"
    options = {"global_keyprefix": prefix, "visibility_timeout": 3600}
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings",
           "DATABASE_URL": _database_url(), "CELERY_BROKER_URL": broker,
           "BROWSER_TEST_BROKER_OPTIONS": json.dumps(options),
           "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    env.pop("TEST_DATABASE_NAME", None)
    log = tmp_path / "worker.log"
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", WORKER_MAIN, "worker", "-Q", "default,ml",
         "-c", "1", "--pool", "solo", "--without-gossip", "--without-mingle",
         "--without-heartbeat", "-l", "INFO", "-n", f"browser-tests-{os.getpid()}@%h"],
        cwd=str(Path(__file__).resolve().parents[2]), env=env,
        stdout=log.open("wb"), stderr=subprocess.STDOUT)
    previous = _point_app_at(broker, options)
    try:
        deadline = time.monotonic() + 60
        while "ready." not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the Celery worker did not start:\n" + log.read_text()[-3000:])
            time.sleep(0.2)
        process.log_path = log  # type: ignore[attr-defined]
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        _point_app_at(*previous)
        client = redis.Redis.from_url(broker)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
        from .conftest import ARTIFACTS

        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "last-worker.log").write_text(log.read_text(errors="replace")[-20000:])
