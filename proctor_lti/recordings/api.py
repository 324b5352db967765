"""The upload and playback API (see docs/api/uploads.md). Views are thin: services decide.

Upload endpoints need the Django session of the attempt's student AND a Bearer upload token
bound to that session (tokens.py). upload_access.py checks both, the attempt's owner and its
window in one query, so these views use no DRF authentication class (and no CSRF check: the
custom Authorization header already cannot be sent by a cross-site form).
"""

from __future__ import annotations

import logging
import re

from django.conf import settings
from django.db import DatabaseError
from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from proctor_lti.core.errors import UserFacingError
from proctor_lti.exams.vocabulary import STREAM_KINDS

from . import selectors, services, tokens
from .crypto import CryptoError
from .storage import StorageFull, StorageUnavailable
from .upload_access import upload_access

logger = logging.getLogger(__name__)

# JSON answers to scripts are never framed and load nothing; saying so here also spares the
# frame-ancestors middleware its cache read on every upload.
API_CSP = "default-src 'none'; frame-ancestors 'none'"


def _retry_later(status: int, message: str, retry_after: int) -> Response:
    response = Response({"error": "retry_later", "detail": message}, status=status)
    response["Retry-After"] = str(retry_after)
    return response


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, with absurdly nested JSON a 400 (json raises RecursionError)."""

    def parse(self, stream, media_type=None, parser_context=None):  # type: ignore[no-untyped-def]
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON nested too deeply.") from None


class JSONOnly(DefaultContentNegotiation):
    """These endpoints only ever answer JSON: no need to parse each request's Accept."""

    def select_renderer(self, request, renderers, format_suffix=None):  # type: ignore[no-untyped-def]
        return renderers[0], renderers[0].media_type


class StudentView(APIView):
    # upload_access checks the session, the owner and the token itself (one query); DRF's
    # authentication classes would load the session and the user again.
    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []
    parser_classes = [BoundedJSONParser]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONOnly

    def finalize_response(self, request, response, *args, **kwargs):  # type: ignore[no-untyped-def]
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Content-Security-Policy"] = API_CSP
        return response


class UploadTokenView(StudentView):
    # Issuing a token has no side effect and only same-origin script can read the response,
    # so CSRF protection is not needed (and the session cookie alone never uploads).
    def post(self, request: Request, attempt_id: int) -> Response:
        access = upload_access(request._request, attempt_id, need_token=False)
        if not access.session_key:  # signed in without a session cookie: nothing to bind to
            raise UserFacingError(_("Your session has ended. Open the exam again from your "
                                    "course."), code="not_signed_in", status=401)
        token, expires = tokens.token_issue(attempt=access.attempt,
                                            session_key=access.session_key)
        return Response({"token": token, "expires_at": expires,
                         "expires_in": tokens.token_ttl()}, status=201)


def _header_int(request: Request, name: str, default: int | None = None) -> int:
    raw = request.META.get(name)
    if raw is None:
        if default is None:
            raise UserFacingError(f"Missing header {name[5:].replace('_', '-').title()}.",
                                  code="missing_header")
        return default
    if not re.fullmatch(r"\d{1,9}", raw.strip()):
        raise UserFacingError(f"Header {name[5:].replace('_', '-').title()} must be a whole "
                              "number.", code="bad_header")
    return int(raw)


def _header_float(request: Request, name: str) -> float | None:
    raw = request.META.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        return float(raw)
    except ValueError:
        raise UserFacingError("X-Chunk-Start must be a number of seconds.",
                              code="bad_header") from None


class ChunkView(StudentView):
    def post(self, request: Request, attempt_id: int, kind: str, seq: str) -> Response:
        if kind not in STREAM_KINDS:
            raise UserFacingError(f"Unknown stream '{kind[:40]}'.", code="unknown_stream",
                                  status=404)
        if not re.fullmatch(r"\d{1,9}", seq):
            raise UserFacingError("The sequence number must be a whole number.", code="bad_seq")
        access = upload_access(request._request, attempt_id, kind=kind, seq=int(seq))
        attempt = access.attempt
        length = request.META.get("CONTENT_LENGTH") or "0"
        if not length.isdigit() or int(length) > settings.UPLOAD_MAX_CHUNK_BYTES:
            raise UserFacingError(f"A chunk may be at most {settings.UPLOAD_MAX_CHUNK_BYTES} "
                                  "bytes.", code="chunk_too_large", status=413)
        sha = request.META.get("HTTP_X_CHUNK_SHA256")
        if not sha:
            raise UserFacingError("Missing header X-Chunk-Sha256.", code="missing_header")
        segment_index = _header_int(request, "HTTP_X_SEGMENT_INDEX", 0)
        start_s = _header_float(request, "HTTP_X_CHUNK_START")
        final = request.META.get("HTTP_X_SEGMENT_FINAL", "0").strip() in {"1", "true"}
        try:
            stored = services.chunk_store(
                attempt=attempt, kind=kind, seq=int(seq), body=request.body,
                content_type=request.META.get("CONTENT_TYPE", ""), sha256=sha,
                segment_index=segment_index, start_s=start_s, final=final,
                state=access.stream)
        except StorageFull:
            return _retry_later(507, "The server's storage is full; the chunk is kept in your "
                                "browser and will be sent again.", 60)
        except (StorageUnavailable, DatabaseError, CryptoError):
            logger.exception("chunk upload could not be stored (attempt %s)", attempt.pk)
            return _retry_later(503, "Storage is briefly unavailable; the chunk will be sent "
                                "again.", 10)
        chunk = stored.chunk
        return Response({"seq": chunk.seq, "size": chunk.size, "sha256": chunk.sha256,
                         "segment_index": chunk.segment_index, "stored": True,
                         "duplicate": not stored.created},
                        status=201 if stored.created else 200)


class ChunkListView(StudentView):
    def get(self, request: Request, attempt_id: int, kind: str) -> Response:
        if kind not in STREAM_KINDS:
            raise UserFacingError(f"Unknown stream '{kind[:40]}'.", code="unknown_stream",
                                  status=404)
        attempt = upload_access(request._request, attempt_id).attempt
        return Response(selectors.chunk_inventory(attempt=attempt, kind=kind))


class EventsView(StudentView):
    def post(self, request: Request, attempt_id: int) -> Response:
        attempt = upload_access(request._request, attempt_id).attempt
        data = request.data
        events = data.get("events") if isinstance(data, dict) else None
        try:
            result = services.events_record(attempt=attempt, events=events)
        except DatabaseError:
            logger.exception("events could not be stored (attempt %s)", attempt.pk)
            return _retry_later(503, "The server is briefly unavailable; events will be sent "
                                "again.", 10)
        return Response(result, status=200)
