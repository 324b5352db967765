"""Fixtures for the recordings tests: a student in an active attempt, real WebM chunks."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.test.client import ClientHandler
from django.utils import timezone

from proctor_lti.exams.models import Attempt
from proctor_lti.recordings import tokens
from proctor_lti.recordings.upload_lane import UploadLaneMiddleware, is_upload_path
from tests.factories import AttemptFactory, UserFactory

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
CLUSTER = b"\x1f\x43\xb6\x75"


def split_webm(data: bytes, parts: int) -> list[bytes]:
    """Cut a WebM like Chromium's MediaRecorder timeslice does: mid-element.

    The first piece carries the EBML header; every later piece starts a few bytes into a
    Cluster (Chromium's later chunks begin inside an element, e.g. with a block's size).
    """
    starts, at = [], data.find(CLUSTER)
    while at != -1:
        starts.append(at)
        at = data.find(CLUSTER, at + 4)
    assert len(starts) >= parts, f"only {len(starts)} clusters"
    cuts = [starts[round(i * len(starts) / parts)] + 5 for i in range(1, parts)]
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


@pytest.fixture(scope="session")
def webm_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A 16-second WebM (VP8) from the detection engineer's clip maker (3+ clusters)."""
    from detection.synth import make_webm

    path = tmp_path_factory.mktemp("clips") / "room.webm"
    make_webm(path, [(None, 16.0)], fps=5, size=(320, 240), bitrate=150_000)
    return path.read_bytes()


@pytest.fixture(scope="session")
def webm_chunks(webm_bytes: bytes) -> list[bytes]:
    return split_webm(webm_bytes, 3)


@pytest.fixture
def media_root(settings, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    root = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES,
                         "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                     "OPTIONS": {"location": str(root)}}}
    return root


@pytest.fixture
def memory_broker():  # type: ignore[no-untyped-def]
    """Publish Celery messages to kombu's in-memory transport (nothing consumes them)."""
    from proctor_lti.celery import app

    yield from _use_broker(app, "memory://", {})


def _use_broker(app, url: str, options: dict):  # type: ignore[no-untyped-def]
    old = (app.conf.broker_url, app.conf.broker_transport_options)
    app.conf.broker_url, app.conf.broker_transport_options = url, options
    _reset_pool(app)
    try:
        yield app
    finally:
        app.conf.broker_url, app.conf.broker_transport_options = old
        _reset_pool(app)


def _reset_pool(app) -> None:  # type: ignore[no-untyped-def]
    from kombu import pools

    pools.reset()  # kombu keeps producer pools per connection in a global registry
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def alice(db):  # type: ignore[no-untyped-def]
    return UserFactory(username="alice")


@pytest.fixture
def bob(db):  # type: ignore[no-untyped-def]
    return UserFactory(username="bob")


@pytest.fixture
def attempt(alice) -> Attempt:  # type: ignore[no-untyped-def]
    return AttemptFactory(user=alice, status=Attempt.Status.IN_PROGRESS,
                          started_at=timezone.now())


class LaneClient(Client):
    """Django's test client, with upload API paths through the upload lane as in wsgi.py."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        full = self.handler
        lane = _LaneClientHandler(full.enforce_csrf_checks)
        self.handler = lambda environ: (lane if is_upload_path(environ["PATH_INFO"])
                                        else full)(environ)


class _LaneClientHandler(UploadLaneMiddleware, ClientHandler):
    pass


@pytest.fixture
def alice_client(alice) -> Client:  # type: ignore[no-untyped-def]
    client = LaneClient()
    client.force_login(alice)
    return client


def session_key(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def bearer(attempt: Attempt, client: Client) -> str:
    """An upload token for the attempt, bound to the client's session."""
    return f"Bearer {tokens.token_issue(attempt=attempt, session_key=session_key(client))[0]}"


def put_chunk(client: Client, attempt: Attempt, seq: int, body: bytes, *, kind: str = "webcam",
              content_type: str = "video/webm;codecs=vp8,opus", segment: int = 0,
              start: float | None = None, final: bool = False, sha: str | None = None,
              auth: str | None = None):  # type: ignore[no-untyped-def]
    headers = {
        "HTTP_AUTHORIZATION": auth if auth is not None else bearer(attempt, client),
        "HTTP_X_CHUNK_SHA256": sha if sha is not None else hashlib.sha256(body).hexdigest(),
        "HTTP_X_SEGMENT_INDEX": str(segment),
    }
    if start is not None:
        headers["HTTP_X_CHUNK_START"] = str(start)
    if final:
        headers["HTTP_X_SEGMENT_FINAL"] = "1"
    return client.post(f"/api/attempts/{attempt.pk}/streams/{kind}/chunks/{seq}", data=body,
                       content_type=content_type, **headers)


@pytest.fixture(scope="session")
def model_dir() -> Path:
    for candidate in (Path(settings.MODEL_DIR), SHARED / "models"):
        if (candidate / "yunet_n_dynamic.onnx").is_file():
            return candidate
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("detection models are required when CI=true (make models)")
    pytest.skip("detection models are not installed (make models)")
