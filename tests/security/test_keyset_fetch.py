"""The platform key set is fetched by the server: bounded in size and time."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from proctor_lti.core.errors import UserFacingError
from proctor_lti.lti import keyset
from tests.lti.helpers import public_jwk, rsa_key

pytestmark = pytest.mark.django_db


class _Handler(BaseHTTPRequestHandler):
    mode = "huge"

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        keys = {"keys": [public_jwk(rsa_key(1), "k1")]}
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        if self.mode == "small":
            self.wfile.write(json.dumps(keys).encode())
            return
        if self.mode == "huge":  # valid JSON, 8 MB of padding after the keys
            self.wfile.write(json.dumps(keys)[:-1].encode() + b', "pad": "')
            for _ in range(128):
                self.wfile.write(b"x" * 65536)
            self.wfile.write(b'"}')
            return
        if self.mode == "deep":  # nesting deep enough for a RecursionError in json
            self.wfile.write(b"[" * 200_000)
            return
        if self.mode == "stall":  # headers, then silence past the read timeout
            time.sleep(2.5)
            return
        # "trickle": a byte at a time, each within the read timeout, for ever
        try:
            for _ in range(60):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.1)
        except OSError:
            pass

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def key_server() -> Iterator[tuple[str, type[_Handler]]]:
    handler = type("H", (_Handler,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks", handler
    server.shutdown()
    server.server_close()


def _platform(url: str):  # type: ignore[no-untyped-def]
    from proctor_lti.lti.services import platform_register

    return platform_register(
        name="Key set LMS", issuer="http://127.0.0.1:1", client_id="c-1",
        auth_login_url="http://127.0.0.1:1/auth", auth_token_url="http://127.0.0.1:1/token",
        key_set_url=url, deployment_ids=["d-1"])[0]


def test_it_reads_a_normal_key_set(key_server):
    url, handler = key_server
    handler.mode = "small"
    assert set(keyset.keyset_fetch(platform=_platform(url))) == {"k1"}


def test_it_refuses_a_key_set_larger_than_its_limit(key_server):
    url, handler = key_server
    handler.mode = "huge"
    with pytest.raises(UserFacingError) as info:
        keyset.keyset_fetch(platform=_platform(url))
    assert info.value.code == "platform_keyset_unavailable"


def test_it_gives_up_on_a_key_set_that_trickles_in(key_server, settings):
    url, handler = key_server
    handler.mode = "trickle"
    settings.LTI_HTTP_TIMEOUT_SECONDS = 1
    started = time.monotonic()
    with pytest.raises(UserFacingError) as info:
        keyset.keyset_fetch(platform=_platform(url))
    assert info.value.code == "platform_keyset_unavailable"
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("mode", ["deep", "stall"])
def test_it_turns_a_hostile_key_set_body_into_a_clear_error(key_server, settings, mode):
    url, handler = key_server
    handler.mode = mode
    settings.LTI_HTTP_TIMEOUT_SECONDS = 1
    with pytest.raises(UserFacingError) as info:
        keyset.keyset_fetch(platform=_platform(url))
    assert info.value.code == "platform_keyset_unavailable"
