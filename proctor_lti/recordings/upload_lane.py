"""The students' upload API runs through its own, short Django middleware chain.

During an exam every student sends a webcam and a screen chunk and an event batch every few
seconds: hundreds of requests a second on one machine, each a few milliseconds of CPU. The
general middleware stack (static files, common, CSRF, auth, messages, frame-ancestors) did
nothing for these views yet cost about a fifth of each request: upload_access reads the
session cookie itself, the views are CSRF-exempt (a custom Authorization header cannot be
sent cross-site), answer JSON only and set their own CSP. So `wsgi.py` sends exactly these
paths to an UploadLaneHandler with the same URLconf and views and only the middleware they
need (UPLOAD_LANE_MIDDLEWARE); every other path keeps the full stack.

The lane also reads a chunk's body in one piece from gunicorn (see _BodyReader).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.utils.module_loading import import_string

# Content-Length (what CommonMiddleware gives the full stack: without it gunicorn answers
# chunked, which costs writes); security headers; Partitioned cookies above Session, which
# only sets a cookie when Django's get_user (upload_access's fallback) cycles the session key;
# Locale for translated errors.
UPLOAD_LANE_MIDDLEWARE = (
    "proctor_lti.recordings.upload_lane.ContentLengthMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "proctor_lti.lti.middleware.PartitionedCookiesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
)

# recordings/urls.py under /api/: upload-token, chunks (list and one), events. Playback,
# segments and evidence are for reviewers and keep the full stack.
UPLOAD_PATH = re.compile(
    r"/api/attempts/[^/]+/(?:upload-token|events|streams/[^/]+/chunks(?:/[^/]+)?)")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class ContentLengthMiddleware:
    """Sets Content-Length on a non-streaming response, as CommonMiddleware does in the full
    stack. Without it gunicorn sends a keep-alive response chunked (and a client that reads
    Content-Length only, like the upload benchmark's, loses its place on the connection)."""

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        response = self.get_response(request)
        if not response.streaming and not response.has_header("Content-Length"):
            response.headers["Content-Length"] = str(len(response.content))
        return response


class UploadLaneMiddleware:
    """A Django handler mixin: the middleware chain is UPLOAD_LANE_MIDDLEWARE, not
    settings.MIDDLEWARE (used by UploadLaneHandler, and by the tests' client)."""

    middleware: tuple[str, ...] = UPLOAD_LANE_MIDDLEWARE

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware: list = []
        self._template_response_middleware: list = []
        self._exception_middleware: list = []
        handler = convert_exception_to_response(self._get_response)  # type: ignore[attr-defined]
        for path in reversed(self.middleware):
            instance = import_string(path)(handler)
            if any(hasattr(instance, hook) for hook in
                   ("process_view", "process_template_response", "process_exception")):
                raise ImproperlyConfigured(f"{path} has view or exception hooks, which the "
                                           "upload lane does not run.")
            handler = convert_exception_to_response(instance)
        self._middleware_chain = handler


class UploadLaneHandler(UploadLaneMiddleware, WSGIHandler):
    """Django's WSGI handler (same URLconf, views, signals and error handling) with the
    upload lane's middleware."""

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        environ["wsgi.input"] = _BodyReader.wrap(environ.get("wsgi.input"))
        return super().__call__(environ, start_response)


class _BodyReader:
    """Reads a request body from gunicorn in one piece.

    gunicorn's Body.read(n) gathers n bytes 1 KiB at a time, re-buffering what is left each
    time: about 0.5 ms of CPU for a 100 KB webcam chunk, a tenth of the whole request. Its
    LengthReader, underneath, gathers whole socket reads. Only that exact case is changed;
    anything else (another server, a partly read body) reads as before.
    """

    def __init__(self, body: Any) -> None:
        self._body = body

    @classmethod
    def wrap(cls, stream: Any) -> Any:
        if type(stream).__module__ == "gunicorn.http.body" and hasattr(stream, "reader"):
            return cls(stream)
        return stream

    def read(self, size: int | None = None) -> bytes:
        body = self._body
        reader = getattr(body, "reader", None)
        if (size is not None and size > 0 and type(reader).__name__ == "LengthReader"
                and body.buf.tell() == 0):
            return reader.read(size)  # at most what is left of Content-Length
        return body.read(size)

    def __getattr__(self, name: str) -> Any:  # readline, __iter__, ...: gunicorn's own
        return getattr(self._body, name)


def is_upload_path(path_info: str) -> bool:
    return UPLOAD_PATH.fullmatch(path_info) is not None


def with_upload_lane(application: WSGIApp) -> WSGIApp:
    """The project's WSGI application: upload API paths through the lane, the rest as is."""
    lane = UploadLaneHandler()

    def dispatch(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if is_upload_path(environ.get("PATH_INFO", "")):
            return lane(environ, start_response)
        return application(environ, start_response)

    return dispatch
