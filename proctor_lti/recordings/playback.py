"""Playback for reviewers: decrypted on the fly, with HTTP Range so <video> can seek.

Only course staff and Django superusers. Each viewing is written to the audit log: the
first request for a segment by a user in a 10-minute window, so the dozens of Range
requests a seeking <video> makes count as one viewing instead of flooding the log.
"""

from __future__ import annotations

import re

from django.core.cache import cache
from django.http import HttpResponse
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from proctor_lti.core.audit import audit_record
from proctor_lti.core.errors import UserFacingError
from proctor_lti.core.models import AuditEntry
from proctor_lti.exams.models import Attempt
from proctor_lti.exams.vocabulary import STREAM_KINDS

from . import selectors
from .crypto import CryptoError
from .storage import StorageUnavailable

AUDIT_WINDOW_SECONDS = 600
_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)")
_HUGE = 10**18  # past any recording's size


def _position(digits: str) -> int:
    """A byte position; absurdly long numbers saturate (int() refuses over 4300 digits)."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= 18 else _HUGE


def reviewer_attempt(request: Request, attempt_id: int, kind: str | None = None) -> Attempt:
    if kind is not None and kind not in STREAM_KINDS:
        raise UserFacingError(f"Unknown stream '{kind[:40]}'.", code="unknown_stream",
                              status=404)
    attempt = Attempt.objects.select_related("exam__context").filter(pk=attempt_id).first()
    if attempt is None or not selectors.can_view_media(request.user, attempt):
        # The same answer for "no such attempt" and "not yours to see".
        raise UserFacingError("No recording you may view has this address.",
                              code="not_found", status=404)
    return attempt


def _storage_down() -> UserFacingError:
    return UserFacingError("Recordings storage is briefly unavailable; try again in a moment.",
                           code="storage_unavailable", status=503)


def _audit_once(request: Request, attempt: Attempt, action: str, what: str) -> None:
    key = f"recordings:viewed:{request.user.pk}:{attempt.pk}:{what}"
    if cache.add(key, 1, AUDIT_WINDOW_SECONDS):
        audit_record(actor=request.user, action=action, target=attempt,
                     context_id=attempt.exam.context_id, detail={"media": what},
                     request=request._request)


def ranged(request: Request, body: bytes, content_type: str) -> HttpResponse:
    """200 with the whole body, or 206 for one satisfiable byte range, or 416."""
    size = len(body)
    header = request.META.get("HTTP_RANGE", "")
    match = _RANGE.fullmatch(header.strip()) if header else None
    if header and "," not in header and match is None:
        match = None  # malformed Range: ignore it and send everything (RFC 9110)
    if match is None or match.group(1) == match.group(2) == "":
        response = HttpResponse(body, content_type=content_type)
    else:
        first, last = match.group(1), match.group(2)
        if first == "":
            start, end = max(0, size - _position(last)), size - 1
        else:
            start = _position(first)
            end = min(_position(last), size - 1) if last else size - 1
        if start >= size or end < start:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        response = HttpResponse(body[start:end + 1], status=206, content_type=content_type)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, no-store"
    return response


class ReviewerView(APIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated]


class SegmentListView(ReviewerView):
    def get(self, request: Request, attempt_id: int, kind: str) -> Response:
        attempt = reviewer_attempt(request, attempt_id, kind)
        base = f"/api/attempts/{attempt.pk}/streams/{kind}/segments"
        segments = selectors.segment_list(attempt=attempt, kind=kind)
        for s in segments:
            s["url"] = f"{base}/{s['index']}/media"
        return Response({"attempt": attempt.pk, "kind": kind, "segments": segments})


class MediaView(ReviewerView):
    def get(self, request: Request, attempt_id: int, kind: str,
            index: int | None = None) -> HttpResponse:
        attempt = reviewer_attempt(request, attempt_id, kind)
        try:
            body, content_type = selectors.media_bytes(attempt=attempt, kind=kind,
                                                       segment_index=index)
        except LookupError:
            raise UserFacingError("There is no recording here (nothing stored, or deleted).",
                                  code="no_media", status=404) from None
        except (CryptoError, FileNotFoundError):
            raise UserFacingError("This recording cannot be played: its stored data is missing "
                                  "or damaged.", code="media_unreadable", status=410) from None
        except StorageUnavailable:
            raise _storage_down() from None
        _audit_once(request, attempt, AuditEntry.Action.VIEW_MEDIA,
                    f"{kind}/{'all' if index is None else index}")
        return ranged(request, body, content_type)


class ThumbnailView(ReviewerView):
    def get(self, request: Request, attempt_id: int) -> HttpResponse:
        attempt = reviewer_attempt(request, attempt_id)
        name = request.query_params.get("name", "")
        try:
            jpeg = selectors.thumbnail_bytes(attempt=attempt, name=name)
        except (LookupError, CryptoError, FileNotFoundError):
            raise UserFacingError("There is no such evidence image.", code="no_media",
                                  status=404) from None
        except StorageUnavailable:
            raise _storage_down() from None
        _audit_once(request, attempt, AuditEntry.Action.VIEW_EVIDENCE, name)
        response = HttpResponse(jpeg, content_type="image/jpeg")
        response["Cache-Control"] = "private, no-store"
        return response
