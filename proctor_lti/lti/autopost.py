"""A page that POSTs signed fields to a platform: LtiStartAssessment, deep-linking responses.

The form auto-submits from one small ES module; without JavaScript the visible button does
the same. Every value is escaped by the template engine; our CSRF token is never included
(the form leaves for another site).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from proctor_lti.core.errors import UserFacingError


def check_platform_url(url: str, *, what: str) -> str:
    """The URL the platform told us to post to must be http(s) (https in production)."""
    parts = urlsplit(url or "")
    allowed = {"https", "http"} if settings.LTI_ALLOW_INSECURE_PLATFORMS else {"https"}
    if parts.scheme not in allowed or not parts.netloc:
        raise UserFacingError(
            f"The learning platform gave no usable {what} address.",
            hint="Go back to your course and open the link again; if it keeps happening, "
            "tell your help desk.",
            code="lti_bad_return_url",
        )
    return url


def auto_post_response(
    request: HttpRequest,
    *,
    action: str,
    fields: dict[str, str],
    title: str,
    message: str,
    status: int = 200,
) -> HttpResponse:
    """Render the auto-posting page; `fields` are sent as hidden inputs."""
    response = render(
        request,
        "lti/auto_post.html",
        {
            "action": action,
            "fields": sorted(fields.items()),
            "title": title,
            "message": message,
        },
        status=status,
    )
    # The page carries a signed token: keep it out of caches and of the Referer.
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response
