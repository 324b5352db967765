"""Benchmark: server time of an LTI 1.3 login + launch with a cached platform key set.

    .venv/bin/python scripts/bench_lti.py [-n 300] [--users 20] [--database-url URL]

What it measures: for each launch, the time the Django stack (middleware, views, our
validator, database writes, session login) spends answering `GET /lti/login/` (the redirect to
the platform) plus `POST /lti/launch/` (the id_token check and the upserts), in-process with
Django's test client, i.e. without network or TLS. The platform's id_token is signed outside
the timed region (that is the LMS's work). The platform key set is fetched once and then
served from the Django cache, as in production. The exam flow's `handle_launch` is replaced by
a trivial response so the figure is the LTI layer's cost alone.

Database: a throw-away SQLite file by default (migrated at start); pass --database-url
(e.g. postgresql://127.0.0.1:5432/bench_lti) to measure on PostgreSQL (the database must exist
and will be migrated). Prints wall-clock median, p95, mean and max, and process CPU time
median and p95, in milliseconds, with the load average (on a shared machine the wall figure
includes waiting for other processes and for disk flushes of each commit).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--launches", type=int, default=300)
    parser.add_argument("--users", type=int, default=20, help="distinct learners (cycled)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="bench-lti-")
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "")  # locmem unless asked
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.http import HttpResponse
    from django.test import Client

    settings.ALLOWED_HOSTS = ["testserver"]
    call_command("migrate", verbosity=0)
    import logging

    logging.disable(logging.WARNING)

    from cryptography.hazmat.primitives.asymmetric import rsa

    from proctor_lti.exams import entry
    from proctor_lti.lti import keyset
    from proctor_lti.lti.services import platform_register
    from tests.lti.helpers import FakeKeySetEdge, claims_for, sign

    entry.handle_launch = lambda request, launch: HttpResponse("ok")  # type: ignore[assignment]
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    edge = FakeKeySetEdge(keys={"bench-kid": key}, cache_control="max-age=3600")
    keyset.requests.get = edge.get  # type: ignore[assignment]
    platform, _ = platform_register(
        name="Bench LMS", issuer="https://lms.bench.example", client_id="bench-client",
        auth_login_url="https://lms.bench.example/auth",
        auth_token_url="https://lms.bench.example/token",  # noqa: S106 - a URL
        key_set_url="https://lms.bench.example/jwks", deployment_ids=["dep-1"])

    from urllib.parse import parse_qs, urlsplit

    def one(i: int) -> float:
        client = Client()
        sub = f"learner-{i % args.users}"
        login = {"iss": platform.issuer, "login_hint": sub, "client_id": platform.client_id,
                 "target_link_uri": "https://testserver/lti/launch/",
                 "lti_deployment_id": "dep-1", "lti_message_hint": "m"}
        c0, t0 = time.process_time(), time.perf_counter()
        response = client.get("/lti/login/", login, secure=True)
        c1, t1 = time.process_time(), time.perf_counter()
        params = {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}
        token = sign(claims_for(platform, deployment_id="dep-1", nonce=params["nonce"], sub=sub,
                                **{"https://purl.imsglobal.org/spec/lti/claim/context": {
                                    "id": f"course-{i % 3}", "title": "Course"}}),
                     key, "bench-kid")
        c2, t2 = time.process_time(), time.perf_counter()
        launched = client.post("/lti/launch/", {"id_token": token, "state": params["state"]},
                               secure=True)
        c3, t3 = time.process_time(), time.perf_counter()
        if response.status_code != 302 or launched.status_code != 200:
            raise SystemExit(f"launch {i} failed: {response.status_code} {launched.status_code}"
                             f" {launched.content[:300]!r}")
        cpu.append(((c1 - c0) + (c3 - c2)) * 1000)
        return ((t1 - t0) + (t3 - t2)) * 1000

    cpu: list[float] = []
    for i in range(args.warmup):
        one(i)
    cpu.clear()
    samples = sorted(one(i) for i in range(args.launches))
    cpu.sort()

    def p95(values: list[float]) -> float:
        return values[max(0, int(len(values) * 0.95) - 1)]

    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(f"LTI login + launch, {args.launches} launches, {args.users} users, {engine}, "
          f"cached key set (fetched {edge.fetches}x)")
    print(f"wall: median {statistics.median(samples):.1f} ms   p95 {p95(samples):.1f} ms   "
          f"mean {statistics.mean(samples):.1f} ms   max {samples[-1]:.1f} ms")
    print(f"cpu:  median {statistics.median(cpu):.1f} ms   p95 {p95(cpu):.1f} ms   "
          "(process CPU time: what the launch costs the server, without waits for disk "
          "flushes or other processes)")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
