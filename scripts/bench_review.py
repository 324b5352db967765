#!/usr/bin/env python
"""Benchmark the review pages: exam overview for 500 attempts x 20 flags, attempt timeline.

Usage: .venv/bin/python scripts/bench_review.py [--attempts 500] [--flags 20] [--runs 15]
Uses a throw-away test database (SQLite by default, PostgreSQL with DATABASE_URL).
Targets: overview median server time < 200 ms with a bounded query count; attempt page
timeline render < 300 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.setdefault("TEST_DATABASE_NAME", "bench_review")


def seed(n_attempts: int, n_flags: int):  # type: ignore[no-untyped-def]
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from proctor_lti.exams.models import Attempt, AttemptEvent, Exam
    from proctor_lti.lti.models import Context, LtiIdentity, Membership, Platform
    from proctor_lti.review.models import Flag
    from proctor_lti.review.services import scores_recalculate_for_exam

    rnd = random.Random(7)
    User = get_user_model()
    platform = Platform.objects.create(name="Bench", issuer="https://bench.example",
                                       client_id="c", auth_login_url="https://bench.example/a",
                                       auth_token_url="https://bench.example/t",  # noqa: S106
                                       key_set_url="https://bench.example/k")
    ctx = Context.objects.create(platform=platform, context_id="bench", title="Bench course")
    staff = User.objects.create(username="bench-staff")
    Membership.objects.create(context=ctx, user=staff, role="staff")
    exam = Exam.objects.create(context=ctx, title="Bench exam", behaviour_weights={
        "head_movement": 3, "multiple_faces": 5, "leaving_room": 4, "speaking": 2,
        "navigating_away": 4, "copy_paste": 2})
    users = User.objects.bulk_create([User(username=f"s{i}") for i in range(n_attempts + 50)])
    LtiIdentity.objects.bulk_create([LtiIdentity(platform=platform, sub=f"sub{i}", user=u,
                                                 name=f"Student {i:04d}", email=f"s{i}@x.edu")
                                     for i, u in enumerate(users)])
    Membership.objects.bulk_create([Membership(context=ctx, user=u, role="learner")
                                    for u in users])
    now = timezone.now()
    attempts = Attempt.objects.bulk_create([
        Attempt(exam=exam, user=u, status="reviewable", started_at=now - timedelta(hours=2),
                ended_at=now - timedelta(hours=2) + timedelta(minutes=rnd.randint(20, 60)))
        for u in users[:n_attempts]])
    types = ["no_face", "multiple_faces", "looking_away", "speech", "multiple_persons"]
    flags, events = [], []
    for a in attempts:
        for _j in range(n_flags):
            start = rnd.uniform(0, 1700)
            flags.append(Flag(attempt=a, type=rnd.choice(types), start_s=start,
                              end_s=start + rnd.uniform(3, 60), confidence=rnd.random(),
                              explanation={"rule": "bench rule", "threshold": {"min_s": 3},
                                           "models": [{"name": "yunet"}]}))
        for j in range(5):
            events.append(AttemptEvent(attempt=a, client_event_id=f"e{j}", type="tab_hidden",
                                       occurred_at=now, offset_s=rnd.uniform(0, 1700)))
    Flag.objects.bulk_create(flags, batch_size=2000)
    AttemptEvent.objects.bulk_create(events, batch_size=2000)
    scores_recalculate_for_exam(exam=exam)
    return staff, exam, attempts[0]


def timed(client, url: str, runs: int):  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm-up
    samples, queries = [], 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, response.status_code
        queries = len(ctx.captured_queries)
    return statistics.median(samples), min(samples), queries, len(response.content)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=500)
    parser.add_argument("--flags", type=int, default=20)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment, teardown_test_environment
    from django.urls import reverse

    from proctor_lti.review.detail import attempt_detail

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        t0 = time.perf_counter()
        staff, exam, attempt = seed(args.attempts, args.flags)
        print(f"seeded {args.attempts} attempts x {args.flags} flags in "
              f"{time.perf_counter() - t0:.1f} s ({connection.vendor})")
        client = Client()
        client.force_login(staff)
        med, best, queries, size = timed(client, reverse("review:exam", args=[exam.pk]),
                                         args.runs)
        print(f"exam overview: median {med:.1f} ms, best {best:.1f} ms, {queries} queries, "
              f"{size / 1024:.0f} KiB  (target < 200 ms)")
        samples = []
        for _ in range(args.runs):
            t1 = time.perf_counter()
            attempt_detail(attempt=attempt)
            samples.append((time.perf_counter() - t1) * 1000)
        print(f"attempt timeline (selector + SVG): median {statistics.median(samples):.1f} ms")
        med_a, best_a, q_a, size_a = timed(client, reverse("review:attempt", args=[attempt.pk]),
                                           args.runs)
        print(f"attempt page: median {med_a:.1f} ms, best {best_a:.1f} ms, {q_a} queries, "
              f"{size_a / 1024:.0f} KiB  (target < 300 ms)")
        ok = med < 200 and med_a < 300
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
