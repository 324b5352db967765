"""The upload lane (recordings/upload_lane.py): students' upload paths take a short middleware
chain through the project's real WSGI application, everything else the full stack; and a
chunk's body is read from gunicorn in one piece."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import sys
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY
from django.contrib.messages.middleware import MessageMiddleware
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from proctor_lti.recordings import tokens
from proctor_lti.recordings.models import Chunk
from proctor_lti.recordings.upload_lane import UploadLaneHandler, _BodyReader, is_upload_path

from .conftest import CLUSTER, session_key

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _isolated(media_root, memory_broker):  # type: ignore[no-untyped-def]
    yield


@pytest.mark.parametrize(("path", "lane"), [
    ("/api/attempts/7/upload-token", True),
    ("/api/attempts/7/events", True),
    ("/api/attempts/7/streams/webcam/chunks", True),
    ("/api/attempts/7/streams/webcam/chunks/12", True),
    ("/api/attempts/7/streams/webcam/segments", False),  # reviewers' playback
    ("/api/attempts/7/streams/webcam/segments/0/media", False),
    ("/api/attempts/7/streams/webcam/media", False),
    ("/api/attempts/7/evidence", False),
    ("/api/attempts/7/events/extra", False),
    ("/exams/7/session/", False),
    ("/admin/", False),
])
def test_only_the_students_upload_paths_take_the_lane(path: str, lane: bool) -> None:
    assert is_upload_path(path) is lane


def _call(method: str, path: str, *, body: bytes = b"", cookie: str = "",
          headers: dict[str, str] | None = None) -> tuple[int, dict[str, list[str]], bytes]:
    """One request through proctor_lti.wsgi.application, as gunicorn makes it."""
    from proctor_lti.wsgi import application

    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "",
               "SCRIPT_NAME": "", "SERVER_NAME": "testserver", "SERVER_PORT": "80",
               "HTTP_HOST": "testserver", "SERVER_PROTOCOL": "HTTP/1.1",
               "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
               "wsgi.url_scheme": "http", "CONTENT_LENGTH": str(len(body))}
    if cookie:
        environ["HTTP_COOKIE"] = cookie
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    answer: dict[str, object] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]],
                       exc_info: object = None) -> None:
        answer["status"], answer["headers"] = status, response_headers

    result = application(environ, start_response)
    try:
        content = b"".join(result)
    finally:
        getattr(result, "close", lambda: None)()
    seen: dict[str, list[str]] = {}
    for name, value in answer["headers"]:  # type: ignore[attr-defined]
        seen.setdefault(name.lower(), []).append(value)
    return int(str(answer["status"])[:3]), seen, content


def _chunk_headers(attempt, client: Client, body: bytes) -> dict[str, str]:  # type: ignore[no-untyped-def]
    token = tokens.token_issue(attempt=attempt, session_key=session_key(client))[0]
    return {"Authorization": f"Bearer {token}", "Content-Type": "video/webm",
            "X-Chunk-Sha256": hashlib.sha256(body).hexdigest(), "X-Segment-Index": "0"}


def _cookie(client: Client) -> str:
    return f"{settings.SESSION_COOKIE_NAME}={session_key(client)}"


@pytest.fixture
def count_messages_middleware(monkeypatch) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    """Paths that went through the full stack (MessageMiddleware is only there)."""
    seen: list[str] = []
    original = MessageMiddleware.process_request

    def spy(self, request):  # type: ignore[no-untyped-def]
        seen.append(request.path)
        return original(self, request)

    monkeypatch.setattr(MessageMiddleware, "process_request", spy)
    yield seen


def test_a_chunk_through_the_real_wsgi_application_is_stored_once_without_the_full_stack(
        alice_client, attempt, count_messages_middleware):
    body = CLUSTER + b"\x01" * 500
    headers = _chunk_headers(attempt, alice_client, body)
    path = f"/api/attempts/{attempt.pk}/streams/webcam/chunks/0"
    status, response_headers, content = _call("POST", path, body=body,
                                              cookie=_cookie(alice_client), headers=headers)
    assert status == 201, content
    assert response_headers["content-security-policy"] == [
        "default-src 'none'; frame-ancestors 'none'"]
    assert "set-cookie" not in response_headers  # no CSRF or session cookie for scripts
    again = _call("POST", path, body=body, cookie=_cookie(alice_client), headers=headers)
    assert again[0] == 200 and Chunk.objects.count() == 1
    assert count_messages_middleware == []


def test_upload_errors_through_the_lane_are_the_apis_clear_json(alice_client, attempt):
    body = CLUSTER + b"\x01" * 500
    path = f"/api/attempts/{attempt.pk}/streams/webcam/chunks/0"
    status, _, content = _call("POST", path, body=body, cookie=_cookie(alice_client),
                               headers={"Content-Type": "video/webm"})
    assert status == 401 and b'"token_required"' in content
    headers = {**_chunk_headers(attempt, alice_client, body), "X-Chunk-Sha256": "0" * 64}
    status, _, content = _call("POST", path, body=body, cookie=_cookie(alice_client),
                               headers=headers)
    assert status == 422 and b'"sha256_mismatch"' in content
    assert not Chunk.objects.exists()


def test_lane_answers_say_their_length_so_gunicorn_keeps_them_unchunked(alice_client, attempt):
    body = CLUSTER + b"\x01" * 500
    path = f"/api/attempts/{attempt.pk}/streams/webcam/chunks/0"
    for headers in ({"Content-Type": "video/webm"}, _chunk_headers(attempt, alice_client, body)):
        status, response_headers, content = _call("POST", path, body=body,
                                                  cookie=_cookie(alice_client), headers=headers)
        assert status in (401, 201), content
        assert response_headers["content-length"] == [str(len(content))]


def test_other_paths_keep_the_full_middleware_stack(count_messages_middleware):
    status, headers, _ = _call("GET", "/healthz")
    assert count_messages_middleware == ["/healthz"]
    assert headers["content-security-policy"][0].startswith("frame-ancestors 'self'")
    assert status in (200, 503)


def test_a_session_made_under_a_previous_secret_key_gets_its_new_cookie_from_the_lane(
        settings, alice, attempt):  # type: ignore[no-untyped-def]
    """Django's get_user (upload_access's fallback) cycles the key of a session verified by
    a SECRET_KEY_FALLBACKS key: the lane's SessionMiddleware must send the new cookie, or the
    student would be signed out mid-exam."""
    old_client = Client()
    settings.SECRET_KEY = "an-old-secret-key-for-this-test-only-0123456789"
    old_client.force_login(alice)
    old_key = session_key(old_client)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "the-new-secret-key-for-this-test-only-9876543210"
    body = CLUSTER + b"\x02" * 300
    status, headers, content = _call(
        "POST", f"/api/attempts/{attempt.pk}/streams/webcam/chunks/0", body=body,
        cookie=f"{settings.SESSION_COOKIE_NAME}={old_key}",
        headers=_chunk_headers(attempt, old_client, body))
    assert status == 201, content
    cookies = " ".join(headers.get("set-cookie", []))
    assert f"{settings.SESSION_COOKIE_NAME}=" in cookies and old_key not in cookies
    from django.contrib.sessions.models import Session

    new_key = cookies.split(f"{settings.SESSION_COOKIE_NAME}=")[1].split(";")[0]
    assert Session.objects.get(session_key=new_key).get_decoded()[HASH_SESSION_KEY] == \
        alice.get_session_auth_hash()


def test_the_lane_refuses_middleware_whose_hooks_it_would_not_run():
    class WithViewHook(UploadLaneHandler):
        middleware = ("django.middleware.csrf.CsrfViewMiddleware",)

    with pytest.raises(ImproperlyConfigured, match="CsrfViewMiddleware"):
        WithViewHook().load_middleware()


@pytest.fixture
def gunicorn_body() -> Iterator:  # type: ignore[type-arg]
    """gunicorn's own request body reader over a real socket, as its sync worker builds it."""
    from gunicorn.http.body import Body, LengthReader
    from gunicorn.http.unreader import SocketUnreader

    sender, receiver = socket.socketpair()
    for s in (sender, receiver):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)

    def make(data: bytes, trailing: bytes = b"") -> object:
        sender.sendall(data + trailing)
        return Body(LengthReader(SocketUnreader(receiver), len(data)))

    yield make
    sender.close()
    receiver.close()


def test_the_body_reader_returns_gunicorns_exact_bytes_in_one_piece(gunicorn_body):
    data = os.urandom(100_000)
    reader = _BodyReader.wrap(gunicorn_body(data, trailing=b"GET /next HTTP/1.1\r\n"))
    assert isinstance(reader, _BodyReader)
    assert reader.read(len(data) + 10) == data  # never past Content-Length
    assert reader.read(10) == b""


def test_the_body_reader_falls_back_to_gunicorn_after_a_partial_read(gunicorn_body):
    data = b"line one\nline two\n" + os.urandom(5000)
    reader = _BodyReader.wrap(gunicorn_body(data))
    assert reader.readline() == b"line one\n"  # gunicorn's own readline, buffering the rest
    assert reader.read(9) == b"line two\n"
    assert reader.read() == data[18:]


def test_other_input_streams_are_left_alone():
    stream = io.BytesIO(b"abc")
    assert _BodyReader.wrap(stream) is stream
