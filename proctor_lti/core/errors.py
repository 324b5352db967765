"""User-facing errors: every bad input becomes a 4xx with an error id and a hint, never a 500."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)


class UserFacingError(Exception):
    """An error whose message is safe and useful to show to the person who caused it."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, hint: str = "", code: str | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if code:
            self.code = code
        if status:
            self.status = status
        self.error_id = uuid.uuid4().hex[:12]


def error_page(request: HttpRequest, error: UserFacingError) -> HttpResponse:
    """Render the plain-language error page and log the error id (never tokens)."""
    logger.warning("user-facing error %s code=%s status=%s path=%s: %s", error.error_id,
                   error.code, error.status, request.path, error.message)
    return render(
        request,
        "error.html",
        {"error": error, "error_id": error.error_id},
        status=error.status,
    )


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, UserFacingError):
        logger.warning("api error %s code=%s: %s", exc.error_id, exc.code, exc.message)
        return Response(
            {"error": exc.code, "detail": exc.message, "hint": exc.hint, "error_id": exc.error_id},
            status=exc.status,
        )
    response = exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "error" not in response.data:
        response.data = {"error": getattr(exc, "default_code", "error"), **response.data}
    return response
