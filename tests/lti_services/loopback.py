"""A tiny HTTP server on 127.0.0.1 playing the platform's service endpoints in unit tests.

Each route is a function (request) -> (status, headers, body); every request is recorded so a
test can check what the tool really sent (headers, form fields, JSON body).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode()).items()}

    @property
    def json(self) -> Any:
        return json.loads(self.body)


Reply = tuple[int, dict[str, str], Any]
Route = Callable[[Seen], Reply]


@dataclass
class Loopback:
    routes: dict[tuple[str, str], Route] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    base_url: str = ""

    def route(self, method: str, path: str, fn: Route | Reply) -> None:
        self.routes[(method, path)] = fn if callable(fn) else (lambda _seen, r=fn: r)

    def requests_to(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"


def serve(loopback: Loopback) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen = Seen(
                self.command,
                parts.path,
                {k: v[-1] for k, v in parse_qs(parts.query).items()},
                {k.lower(): v for k, v in self.headers.items()},
                body,
            )
            loopback.seen.append(seen)
            route = loopback.routes.get((self.command, parts.path))
            status, headers, payload = route(seen) if route else (404, {}, {"error": "nope"})
            data = (
                payload
                if isinstance(payload, bytes)
                else (
                    payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                )
            )
            self.send_response(status)
            headers = {"Content-Type": "application/json", **headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _handle  # noqa: N815

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    loopback.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    return server
