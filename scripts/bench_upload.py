#!/usr/bin/env python
"""Upload load benchmark: N simulated students against the production server setup.

    source scripts/services-env.sh   # PostgreSQL and Redis on 127.0.0.1
    .venv/bin/python scripts/bench_upload.py --students 100 300 500 --duration 40

Starts gunicorn (sync workers, as the Dockerfile runs it: 6 processes by default, since each
request waits on fsync and PostgreSQL) + a Celery ml worker on a separate database
(proctor_bench, dropped, made anew and migrated each run; its media under var/bench is
removed afterwards unless --keep), creates N students each in an active attempt with a
real session and upload token, then every student sends a webcam chunk (~100 KB) and a
screen chunk (~30 KB) every 5 s plus a batch of events, from one asyncio load generator on
loopback (its CPU is reported: it shares the machine). Every 6th webcam chunk closes a
segment, so analysis tasks are queued while uploading (the worker runs them; the chunks are
random bytes, so its analysis fails fast and costs far less than real footage would).
Reports throughput, p50/p99 latency (whole run, and the steady state after --warmup, since
every student's first chunks also create its streams and key), CPU per process group and
for the whole machine, and lost chunks (acknowledged but missing). Not a test: a
measurement for the notes.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
BIN = Path(sys.executable).parent
CLUSTER = b"\x1f\x43\xb6\x75"
EBML = b"\x1a\x45\xdf\xa3"
TICKS = os.sysconf("SC_CLK_TCK")


def setup_django(db_url: str, data_dir: Path) -> None:
    os.environ.update({"DJANGO_SETTINGS_MODULE": "tests.settings", "PROCTOR_TESTING": "1",
                       "DATABASE_URL": db_url, "PROCTOR_DATA_DIR": str(data_dir)})
    import django

    django.setup()


def fresh_database(admin_url: str, name: str) -> None:
    """Every run starts from an empty database, so runs compare (and tables do not grow)."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def make_students(n: int) -> list[dict]:
    from django.conf import settings
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone

    from proctor_lti.exams.models import Attempt
    from proctor_lti.recordings import tokens
    from tests.factories import (
        AttemptFactory,
        ContextFactory,
        ExamFactory,
        PlatformFactory,
        UserFactory,
    )

    out = []
    stamp = f"{int(time.time())}-{n}"
    platform = PlatformFactory(issuer=f"https://bench-{stamp}.example.edu", client_id=stamp)
    exam = ExamFactory(context=ContextFactory(platform=platform, context_id=f"bench-{stamp}"))
    for i in range(n):
        user = UserFactory(username=f"bench-{stamp}-{i}")
        attempt = AttemptFactory(exam=exam, user=user, status=Attempt.Status.IN_PROGRESS,
                                 started_at=timezone.now())
        session = SessionStore()
        session.update({"_auth_user_id": str(user.pk),
                        "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
                        "_auth_user_hash": user.get_session_auth_hash()})
        session.save()
        out.append({"attempt": attempt.pk,
                    "cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}",
                    "token": tokens.token_issue(attempt=attempt,
                                                session_key=session.session_key)[0]})
    return out


class Stats:
    def __init__(self) -> None:
        self.latencies: list[tuple[float, float]] = []  # (monotonic time sent, seconds)
        self.acked: dict[tuple[int, str], set[int]] = {}
        self.errors: dict[str, int] = {}
        self.bytes = 0


@functools.cache
def _bodies(size: int, header: bool) -> list[tuple[bytes, str]]:
    """A few random chunk bodies and their SHA-256, made once: the generator shares the
    machine, so it does not pay urandom and a hash per chunk (the server still hashes,
    encrypts and stores every one; it does not deduplicate content)."""
    bodies = [(EBML if header else CLUSTER) + os.urandom(size) for _ in range(8)]
    return [(b, hashlib.sha256(b).hexdigest()) for b in bodies]


def _body(size: int, *, header: bool, seq: int) -> tuple[bytes, str]:
    return _bodies(size, header)[seq % 8]


class Connection:
    """One student's HTTP/1.1 connection, reopened when the server closes it (gunicorn's
    sync workers answer `Connection: close`); reconnecting counts in the latency."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, method: str, path: str, headers: dict[str, str],
                      body: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer = self.reader, self.writer
        assert reader is not None
        head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Length: {len(body)}\r\n")
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        writer.write(head.encode() + body)
        await writer.drain()
        status_line = await reader.readline()
        status = int(status_line.split()[1])
        length, close, chunked = 0, False, False
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
            elif name.lower() == b"connection" and value.strip().lower() == b"close":
                close = True
            elif name.lower() == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:  # the server sets Content-Length; read a chunked answer all the same
            while size := int((await reader.readline()).split(b";")[0], 16):
                await reader.readexactly(size + 2)
            await reader.readline()
        else:
            await reader.readexactly(length)
        if close:
            self.close()
        return status


async def student(port: int, s: dict, stop_at: float, stats: Stats) -> None:
    await asyncio.sleep(random.uniform(0, 5))  # students do not start in lockstep
    conn = Connection(port)
    seqs = {"webcam": 0, "screen": 0}
    base = {"Cookie": s["cookie"], "Authorization": f"Bearer {s['token']}"}
    tick = 0
    while time.monotonic() < stop_at:
        started_tick = time.monotonic()
        for kind, size in (("webcam", 100_000), ("screen", 30_000)):
            seq = seqs[kind]
            segment, pos = divmod(seq, 6)
            body, sha = _body(size, header=pos == 0, seq=seq)
            headers = {**base, "Content-Type": "video/webm", "X-Chunk-Sha256": sha,
                       "X-Segment-Index": str(segment), "X-Chunk-Start": str(seq * 5.0)}
            if pos == 5:
                headers["X-Segment-Final"] = "1"
            path = f"/api/attempts/{s['attempt']}/streams/{kind}/chunks/{seq}"
            t0 = time.perf_counter()
            try:
                status = await conn.request("POST", path, headers, body)
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                status = 0
                conn.close()
            stats.latencies.append((time.monotonic(), time.perf_counter() - t0))
            if status in (200, 201):
                stats.acked.setdefault((s["attempt"], kind), set()).add(seq)
                stats.bytes += len(body)
                seqs[kind] += 1
            else:
                stats.errors[str(status)] = stats.errors.get(str(status), 0) + 1
        events = {"events": [{"id": f"hb-{tick}", "type": "heartbeat",
                              "at": int(time.time() * 1000)}]}
        import json

        t0 = time.perf_counter()
        try:
            status = await conn.request("POST", f"/api/attempts/{s['attempt']}/events",
                                        {**base, "Content-Type": "application/json"},
                                        json.dumps(events).encode())
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            status = 0
            conn.close()
        stats.latencies.append((time.monotonic(), time.perf_counter() - t0))
        if status != 200:
            stats.errors[f"events {status}"] = stats.errors.get(f"events {status}", 0) + 1
        tick += 1
        await asyncio.sleep(max(0.0, 5.0 - (time.monotonic() - started_tick)))
    conn.close()


def cpu_seconds(root_pids: list[int]) -> float:
    """CPU of the given processes and all their descendants, including children that have
    exited (cutime/cstime): PostgreSQL backends come and go during a run."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = sum(int(f) for f in fields[11:15]) / TICKS
    total, todo, seen = 0.0, list(root_pids), set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += times.get(pid, 0.0)
        todo += [c for c, p in parents.items() if p == pid]
    return total


def machine_busy() -> float:
    """CPU seconds the whole machine spent busy (all processes, kernel and interrupts)."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / TICKS


def postgres_pids() -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    out.append(int(entry.name))
            except OSError:
                pass
    return out


def run_level(n: int, port: int, duration: float, web_pid: int, worker_pid: int,
              warmup: float) -> dict:
    from proctor_lti.recordings.models import Chunk

    students = make_students(n)
    stats = Stats()
    pg = postgres_pids()
    cpu0 = (cpu_seconds([web_pid]), cpu_seconds([worker_pid]), cpu_seconds(pg))
    gen0, busy0 = time.process_time(), machine_busy()
    t0 = time.monotonic()
    stop_at = t0 + duration

    async def main() -> None:
        await asyncio.gather(*(student(port, s, stop_at, stats) for s in students))

    asyncio.run(main())
    elapsed = time.monotonic() - t0
    gen_cpu = (time.process_time() - gen0) / elapsed
    busy = (machine_busy() - busy0) / elapsed
    cpu1 = (cpu_seconds([web_pid]), cpu_seconds([worker_pid]), cpu_seconds(pg))
    lost = 0
    for (attempt_id, kind), acked in stats.acked.items():
        stored = set(Chunk.objects.filter(recording__attempt_id=attempt_id,
                                          recording__kind=kind).values_list("seq", flat=True))
        lost += len(acked - stored)
    lat = sorted(d for _, d in stats.latencies)
    # Every student's first chunks create its streams and key, all within the first period:
    # latencies after the warm-up are reported separately as the steady state.
    steady = sorted(d for t, d in stats.latencies if t >= t0 + warmup) or [0.0]
    return {
        "students": n, "requests": len(lat), "req_per_s": len(lat) / elapsed,
        "mbit_per_s": stats.bytes * 8 / elapsed / 1e6,
        "p50_ms": lat[len(lat) // 2] * 1000, "p99_ms": lat[int(len(lat) * 0.99)] * 1000,
        "steady_p50_ms": steady[len(steady) // 2] * 1000,
        "steady_p99_ms": steady[int(len(steady) * 0.99)] * 1000,
        "web_cpu": (cpu1[0] - cpu0[0]) / elapsed, "worker_cpu": (cpu1[1] - cpu0[1]) / elapsed,
        "pg_cpu": (cpu1[2] - cpu0[2]) / elapsed, "gen_cpu": gen_cpu, "machine_cpu": busy,
        "acked": sum(len(a) for a in stats.acked.values()), "lost": lost,
        "errors": stats.errors,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, nargs="+", default=[100, 300, 500])
    parser.add_argument("--duration", type=float, default=40.0)
    parser.add_argument("--warmup", type=float, default=10.0,
                        help="seconds after which latencies also count as steady state")
    parser.add_argument("--workers", type=int, default=6, help="gunicorn worker processes")
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads per gunicorn worker (more than 1 means gthread)")
    parser.add_argument("--database", default="proctor_bench",
                        help="PostgreSQL database the bench owns: dropped and made anew each run")
    parser.add_argument("--keep", action="store_true",
                        help="keep the uploaded media under var/bench afterwards (about 0.6 GB "
                             "per 500 students a minute); by default it is removed")
    args = parser.parse_args()

    admin_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    db_url = admin_url.rsplit("/", 1)[0] + "/" + args.database
    data_dir = REPO / "var" / "bench"
    fresh_database(admin_url, args.database)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PROCTOR_TESTING": "1",
           "DATABASE_URL": db_url, "PROCTOR_DATA_DIR": str(data_dir),
           "ALLOWED_HOSTS": "127.0.0.1", "CELERY_BROKER_URL": redis_url, "LOG_LEVEL": "WARNING",
           # As in production: Redis for the cache (sessions stay in PostgreSQL).
           "REDIS_URL": redis_url, "PROCTOR_KEEP_CACHES": "1",
           "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO, env=env,
                   check=True)
    setup_django(db_url, data_dir)
    from django.conf import settings

    settings.CELERY_BROKER_URL = redis_url
    media_dir = Path(settings.MEDIA_ROOT)  # the servers' media, under data_dir
    shutil.rmtree(media_dir, ignore_errors=True)
    port = 18000 + os.getpid() % 1000
    data_dir.mkdir(parents=True, exist_ok=True)
    # Open for the servers' lifetime (closed when this process exits).
    web_log = open(data_dir / "web.log", "ab")  # noqa: SIM115
    worker_log = open(data_dir / "worker.log", "ab")  # noqa: SIM115
    web = subprocess.Popen(
        [str(BIN / "gunicorn"), "proctor_lti.wsgi:application", "-b", f"127.0.0.1:{port}",
         "-k", args.worker_class, "-w", str(args.workers), "--threads", str(args.threads),
         "--backlog", "2048", "--keep-alive", "15", "--log-level", "warning"], cwd=REPO, env=env,
        start_new_session=True, stdout=web_log, stderr=web_log)
    # Niced, as the deployment docs run it: analysis catches up later, uploads cannot wait.
    worker = subprocess.Popen(
        ["nice", "-n", "10", str(BIN / "celery"), "-A", "proctor_lti", "worker", "-Q", "ml",
         "-c", "1",
         "-l", "warning"], cwd=REPO, env=env, start_new_session=True,
        stdout=worker_log, stderr=worker_log)
    rows = []
    try:
        time.sleep(4)
        for n in args.students:
            row = run_level(n, port, args.duration, web.pid, worker.pid, args.warmup)
            rows.append(row)
            print(row, flush=True)
    finally:
        for proc in (web, worker):
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)
        if not args.keep:
            shutil.rmtree(media_dir, ignore_errors=True)
    print("\n| students | req/s | upload Mbit/s | p50 ms | p99 ms | steady p50 / p99 ms "
          "| web CPU | PostgreSQL CPU "
          "| worker CPU | load generator CPU | whole machine CPU | chunks acked | lost | errors |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['students']} | {r['req_per_s']:.0f} | {r['mbit_per_s']:.1f} "
              f"| {r['p50_ms']:.0f} | {r['p99_ms']:.0f} "
              f"| {r['steady_p50_ms']:.0f} / {r['steady_p99_ms']:.0f} | {r['web_cpu']:.2f} "
              f"| {r['pg_cpu']:.2f} | {r['worker_cpu']:.2f} | {r['gen_cpu']:.2f} "
              f"| {r['machine_cpu']:.2f} "
              f"| {r['acked']} | {r['lost']} "
              f"| {r['errors'] or 0} |")
    print("(CPU in cores, averaged over the run; the load generator shares the machine)")
    print(f"server logs: {data_dir / 'web.log'}, {data_dir / 'worker.log'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
