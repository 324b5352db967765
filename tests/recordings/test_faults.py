"""Faults with real processes: a killed web server, a stopped Redis, a killed worker."""

from __future__ import annotations

import hashlib
import http.client
import socket
import time

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone

from proctor_lti.exams.models import Attempt
from proctor_lti.recordings import tokens
from proctor_lti.recordings.models import Chunk, Segment
from proctor_lti.recordings.sweep import sweep
from proctor_lti.review.models import Flag

from . import servers
from .conftest import _use_broker, put_chunk

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def data_dir(tmp_path, settings):  # type: ignore[no-untyped-def]
    settings.STORAGES = {**settings.STORAGES,
                         "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                     "OPTIONS": {"location": str(tmp_path / "test-media")}}}
    return tmp_path


def _session_cookie(user) -> str:  # type: ignore[no-untyped-def]
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def _headers(attempt, body: bytes, cookie: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"Content-Type": "video/webm", "Cookie": cookie,
            "Authorization": "Bearer " + tokens.token_issue(
                attempt=attempt, session_key=cookie.split("=", 1)[1])[0],
            "X-Chunk-Sha256": hashlib.sha256(body).hexdigest(), "X-Segment-Index": "0",
            "Content-Length": str(len(body))}


def _post(port: int, path: str, body: bytes, headers: dict[str, str]) -> int:
    """POST like the upload client: retry while the restarted server is not answering."""
    for _ in range(50):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("POST", path, body=body, headers=headers)
            return conn.getresponse().status
        except (ConnectionError, http.client.HTTPException):
            time.sleep(0.2)
    raise AssertionError("the server never came back")


def test_a_web_server_killed_mid_upload_loses_nothing_and_duplicates_nothing(
        postgres_required, data_dir, attempt, alice, webm_chunks, tmp_path):
    port = servers.free_port()
    env = servers.server_env(data_dir)
    web = servers.gunicorn(port, env, tmp_path / "gunicorn.log").start()
    try:
        servers.wait_port(port)
        cookie = _session_cookie(alice)
        body, path = webm_chunks[0], f"/api/attempts/{attempt.pk}/streams/webcam/chunks/0"
        # Half a request on the wire, then the server dies (kill -9 of master and worker).
        raw = socket.create_connection(("127.0.0.1", port))
        head = "".join(f"{k}: {v}\r\n" for k, v in _headers(attempt, body, cookie).items())
        raw.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}\r\n".encode()
                    + body[: len(body) // 2])
        time.sleep(0.3)
        web.kill()
        raw.close()
        assert not Chunk.objects.exists()
        servers.wait_port_free(port)
        web.start()
        servers.wait_port(port)
        # The whole chunk sent, and the server killed right away, answer or not.
        raw = socket.create_connection(("127.0.0.1", port))
        one = webm_chunks[1]
        head = "".join(f"{k}: {v}\r\n" for k, v in _headers(attempt, one, cookie).items())
        raw.sendall(f"POST {path[:-1]}1 HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}\r\n".encode() + one)
        time.sleep(0.05)
        web.kill()
        raw.close()
        servers.wait_port_free(port)
        web.start()
        servers.wait_port(port)
        # The client retries both: each stored exactly once.
        assert _post(port, path, body, _headers(attempt, body, cookie)) == 201
        assert _post(port, path[:-1] + "1", one, _headers(attempt, one, cookie)) in (200, 201)
        assert _post(port, path[:-1] + "1", one, _headers(attempt, one, cookie)) == 200
    finally:
        web.stop()
    assert sorted(Chunk.objects.values_list("seq", flat=True)) == [0, 1]
    assert not [p for p in (data_dir / "test-media").rglob(".part-*")]


@pytest.fixture
def private_redis(tmp_path):  # type: ignore[no-untyped-def]
    """A redis-server of our own, so stopping it leaves the shared one alone."""
    port = servers.free_port()
    proc = servers.redis_server(port, tmp_path / "redis.log").start()
    servers.wait_port(port)
    yield port, proc
    proc.stop()


def test_uploads_keep_succeeding_while_redis_is_down_and_analysis_catches_up(
        data_dir, alice_client, attempt, webm_chunks, private_redis):
    import redis as redis_lib

    from proctor_lti.celery import app

    port, proc = private_redis
    url = f"redis://127.0.0.1:{port}/0"
    broker = _use_broker(app, url, {"max_retries": 0})
    next(broker)
    try:
        for seq, body in enumerate(webm_chunks):
            assert put_chunk(alice_client, attempt, seq, body, final=seq == 2).status_code == 201
        assert Segment.objects.get(index=0).status == Segment.Status.QUEUED
        proc.kill()  # Redis goes away mid-exam
        for seq, body in enumerate(webm_chunks, start=3):
            response = put_chunk(alice_client, attempt, seq, body, segment=1,
                                 final=seq == 5)
            assert response.status_code == 201
        assert Segment.objects.get(index=1).status == Segment.Status.STORED
        proc.start()
        servers.wait_port(port)
        result = sweep(now=timezone.now(), stale_after=timezone.timedelta(minutes=15))
        assert result["sent"] == 1
        assert Segment.objects.get(index=1).status == Segment.Status.QUEUED
        # The restarted Redis (no persistence) holds the caught-up message.
        assert redis_lib.Redis.from_url(url).llen("ml") == 1
    finally:
        next(broker, None)


def test_a_worker_killed_mid_task_is_redelivered_and_gives_one_result(
        postgres_required, data_dir, alice_client, attempt, webm_chunks, private_redis,
        model_dir, tmp_path):
    from proctor_lti.celery import app
    from proctor_lti.recordings import services

    port, _ = private_redis
    url = f"redis://127.0.0.1:{port}/0"
    options = {"visibility_timeout": 4}
    broker = _use_broker(app, url, options)
    next(broker)
    env = servers.server_env(data_dir, CELERY_BROKER_URL=url, CELERY_VISIBILITY_TIMEOUT="4",
                             PROCTOR_MODEL_DIR=str(model_dir))
    worker = servers.celery_worker(env, tmp_path / "worker.log")
    try:
        for seq, body in enumerate(webm_chunks):
            assert put_chunk(alice_client, attempt, seq, body, final=seq == 2).status_code == 201
        Attempt.objects.filter(pk=attempt.pk).update(status=Attempt.Status.SUBMITTED,
                                                     ended_at=timezone.now())
        attempt.refresh_from_db()
        services.attempt_finalise(attempt=attempt)
        worker.start()
        segment = Segment.objects.get()
        deadline = time.time() + 60
        while segment.status != Segment.Status.ANALYSING and time.time() < deadline:
            time.sleep(0.02)
            segment.refresh_from_db()
        assert segment.status == Segment.Status.ANALYSING, (tmp_path / "worker.log").read_text()
        worker.kill()  # SIGKILL mid-task: the message was not acknowledged
        time.sleep(5)  # past the visibility timeout
        worker.start()
        deadline = time.time() + 120
        while time.time() < deadline:
            attempt.refresh_from_db()
            if attempt.status == Attempt.Status.REVIEWABLE:
                break
            time.sleep(0.5)
        log = (tmp_path / "worker.log").read_text()
        assert attempt.status == Attempt.Status.REVIEWABLE, log[-3000:]
    finally:
        worker.stop()
        next(broker, None)
    segment.refresh_from_db()
    assert segment.status == Segment.Status.DONE and segment.task_attempts >= 2
    types = list(Flag.objects.filter(attempt=attempt, source=Flag.Source.DETECTION)
                 .values_list("type", flat=True))
    assert types and len(types) == len(set(types))  # one set, no duplicates
