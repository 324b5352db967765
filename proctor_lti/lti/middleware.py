"""CSP frame-ancestors: only registered platforms may frame the tool."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from urllib.parse import urlsplit

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

CACHE_KEY = "lti:frame-ancestors"


def _origin(url: object) -> str:
    if not isinstance(url, str):
        return ""  # a malformed frame_origins entry must not take every page down
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def registered_frame_origins() -> list[str]:
    """Origins of every active platform (issuer, login URL and any listed frame origin)."""
    # Every response passes here, uploads included: a cache outage (Redis down) must cost a
    # query, never the response.
    try:
        origins = cache.get(CACHE_KEY)
    except Exception:  # redis ConnectionError, TimeoutError, ...
        logger.warning("cache unavailable: frame origins read from the database")
        origins = None
    if origins is None:
        from .models import Platform

        found: set[str] = set()
        for platform in Platform.objects.filter(is_active=True):
            for url in [platform.issuer, platform.auth_login_url, *platform.frame_origins]:
                if origin := _origin(url):
                    found.add(origin)
        origins = sorted(found)
        # A failure here was logged by the get above (or the next request logs it).
        with contextlib.suppress(Exception):
            cache.set(CACHE_KEY, origins, 60)
    return list(origins)


def forget_frame_origins() -> None:
    try:
        cache.delete(CACHE_KEY)
    except Exception:
        # The entry then expires within 60 s; platform changes are saved regardless.
        logger.warning("cache unavailable: frame origins refresh within 60 s")


class PartitionedCookiesMiddleware:
    """Mark the session and CSRF cookies `Partitioned` (CHIPS) so they survive in LMS iframes.

    Must sit ABOVE SessionMiddleware in MIDDLEWARE so it sees the cookies that middleware sets.
    Only cookies already `SameSite=None; Secure` are changed.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from django.conf import settings

        from .oidc import PartitionedMorsel

        response = self.get_response(request)
        for name in (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME):
            morsel = response.cookies.get(name)
            if (morsel is None or isinstance(morsel, PartitionedMorsel)
                    or not morsel["secure"] or str(morsel["samesite"]).lower() != "none"):
                continue
            partitioned = PartitionedMorsel()
            partitioned.set(morsel.key, morsel.value, morsel.coded_value)
            partitioned.update(morsel)
            response.cookies[name] = partitioned
        return response


class FrameAncestorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" in response:
            return response
        if request.path.startswith("/admin/"):
            # Dynamic Registration asks the admin to log in inside the LMS dialog of a
            # platform not registered yet, so only the login page may be framed by anyone;
            # every other admin page stays same-origin (clickjacking).
            if not request.path.startswith("/admin/login/"):
                response["Content-Security-Policy"] = "frame-ancestors 'self'"
                response["X-Frame-Options"] = "SAMEORIGIN"
            return response
        ancestors = " ".join(["'self'", *registered_frame_origins()])
        response["Content-Security-Policy"] = f"frame-ancestors {ancestors}"
        # CSP frame-ancestors supersedes X-Frame-Options in every current browser.
        if "X-Frame-Options" in response:
            del response["X-Frame-Options"]
        return response
