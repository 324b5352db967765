"""The demo runs its web server and Celery worker on one SQLite file: concurrent writers must
wait for each other, never fail with "database is locked" (seen as a 500 on a heartbeat)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SCRIPT = r'''
import threading, time
import django
django.setup()
from django.db import connection, transaction

with connection.cursor() as c:
    c.execute("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v TEXT)")
connection.close()
failures = []

def writer():
    with transaction.atomic(), connection.cursor() as c:
        c.execute("INSERT INTO t VALUES ('a', 'x')")
        time.sleep(1.0)  # holds the write lock
    connection.close()

def read_then_write():  # the shape of update_or_create inside a transaction
    time.sleep(0.2)
    try:
        with transaction.atomic(), connection.cursor() as c:
            c.execute("SELECT v FROM t WHERE k = 'b'")
            c.execute("INSERT INTO t VALUES ('b', 'y')")
    except Exception as exc:
        failures.append(repr(exc))
    connection.close()

threads = [threading.Thread(target=writer), threading.Thread(target=read_then_write)]
for t in threads: t.start()
for t in threads: t.join()
print("FAILED" if failures else "OK", failures)
'''


def test_the_demo_sqlite_database_makes_concurrent_writers_wait(tmp_path: Path) -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "proctor_lti.settings", "DEBUG": "1",
           "PROCTOR_DATA_DIR": str(tmp_path), "PYTHONPATH": str(REPO)}
    for name in ("DATABASE_URL", "PROCTOR_TESTING", "REDIS_URL", "CELERY_BROKER_URL"):
        env.pop(name, None)
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=REPO, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("OK"), out.stdout
