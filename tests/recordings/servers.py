"""Real server processes for the fault tests: gunicorn, a private redis-server, a worker."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait_until(predicate, timeout: float, message: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise TimeoutError(message)


def wait_port(port: int, timeout: float = 20.0) -> None:
    _wait_until(lambda: _listening(port), timeout, f"nothing listens on {port}")


def wait_port_free(port: int, timeout: float = 20.0) -> None:
    """Until nothing accepts on the port: a killed server's children may outlive it briefly,
    and a connection they accept in that moment is reset, not served by the next server."""
    _wait_until(lambda: not _listening(port), timeout, f"something still listens on {port}")


def server_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """Environment of a subprocess that shares this test's database."""
    db = settings.DATABASES["default"]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PROCTOR_TESTING": "1",
           "PROCTOR_DATA_DIR": str(data_dir), "PYTHONPATH": str(REPO),
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "OMP_NUM_THREADS": "1", "ALLOWED_HOSTS": "127.0.0.1,localhost"}
    env.pop("TEST_DATABASE_NAME", None)
    env.update(extra)
    return env


class Process:
    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args, self.env, self.log = args, env, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        self.proc = subprocess.Popen(self.args, env=self.env, cwd=REPO, start_new_session=True,
                                     stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        return self

    def kill(self) -> None:
        """SIGKILL the whole process group (master and children), as a crash would."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def gunicorn(port: int, env: dict[str, str], log: Path, workers: int = 1) -> Process:
    return Process([str(VENV_BIN / "gunicorn"), "proctor_lti.wsgi:application",
                    "-b", f"127.0.0.1:{port}", "-w", str(workers), "--timeout", "60"], env, log)


def redis_server(port: int, log: Path) -> Process:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    return Process([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no"], dict(os.environ), log)


def celery_worker(env: dict[str, str], log: Path) -> Process:
    return Process([str(VENV_BIN / "celery"), "-A", "proctor_lti", "worker", "-Q", "ml",
                    "-c", "1", "--without-gossip", "--without-mingle", "-l", "info"], env, log)
