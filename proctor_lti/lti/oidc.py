"""OIDC login initiation: find the registration, mint state + nonce, remember them.

The state lives server-side (cache, one use, 10 minutes) and in the browser: a cookie
`SameSite=None; Secure; HttpOnly; Partitioned`, or, in iframes that block cookies, LTI Platform
Storage (postMessage `lti.put_data` to the platform's storage frame).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from http.cookies import Morsel
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.core.cache import cache
from django.http import HttpResponse
from django.utils.translation import gettext as _

from .errors import ADMIN_HINT, launch_error
from .models import Deployment, Platform
from .validation import unknown_deployment

STATE_TTL_SECONDS = 600
STATE_COOKIE_PREFIX = "lti-state-"
RELAUNCH_PARAMS = ("iss", "login_hint", "target_link_uri", "lti_message_hint", "client_id",
                   "lti_deployment_id")


@dataclass(frozen=True)
class LoginStart:
    state: str
    nonce: str
    auth_url: str
    storage_target: str
    platform: Platform


def platform_for_login(*, issuer: str, client_id: str) -> Platform:
    """The active registration for iss (+ client_id). Several client_ids per issuer work."""
    platforms = Platform.objects.filter(issuer=issuer, is_active=True)
    if client_id:
        platforms = platforms.filter(client_id=client_id)
    found = list(platforms[:2])
    if not found:
        raise launch_error(
            "unknown_platform",
            _("This LMS (issuer %(iss)s) is not registered with the proctoring tool.")
            % {"iss": issuer[:200]},
            hint=ADMIN_HINT, status=400,
        )
    if len(found) > 1:
        raise launch_error(
            "ambiguous_platform",
            _("Several registrations match this LMS and it did not send a client_id."),
            hint=ADMIN_HINT, status=400,
        )
    return found[0]


def login_start(*, params: dict[str, str], redirect_uri: str) -> LoginStart:
    """Validate the login request and build the redirect to the platform's auth endpoint."""
    missing = [name for name in ("iss", "login_hint", "target_link_uri") if not params.get(name)]
    if missing:
        raise launch_error(
            "bad_login_request",
            _("The LMS sent an incomplete sign-in request (missing %(names)s).")
            % {"names": ", ".join(missing)},
            status=400,
        )
    if any("\x00" in value for value in params.values()):
        # PostgreSQL refuses NUL in text: refuse it here, as bad input, not as a 500.
        raise launch_error("bad_login_request",
                           _("The LMS sent a sign-in request with invalid characters."),
                           status=400)
    platform = platform_for_login(issuer=params["iss"], client_id=params.get("client_id", ""))
    deployment_id = params.get("lti_deployment_id", "")
    if (deployment_id and not platform.auto_add_deployments and not Deployment.objects.filter(
            platform=platform, deployment_id=deployment_id).exists()):
        raise unknown_deployment(platform=platform, deployment_id=deployment_id)
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    storage_target = params.get("lti_storage_target", "")[:100]
    cache.set(
        f"lti:state:{state}",
        {
            "platform_id": platform.pk,
            "nonce": nonce,
            "storage_target": storage_target,
            "relaunch": {k: params[k] for k in RELAUNCH_PARAMS if params.get(k)},
        },
        STATE_TTL_SECONDS,
    )
    query = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": platform.client_id,
        "redirect_uri": redirect_uri,
        "login_hint": params["login_hint"],
        "state": state,
        "nonce": nonce,
    }
    if params.get("lti_message_hint"):
        query["lti_message_hint"] = params["lti_message_hint"]
    separator = "&" if urlsplit(platform.auth_login_url).query else "?"
    return LoginStart(state=state, nonce=nonce, storage_target=storage_target,
                      auth_url=f"{platform.auth_login_url}{separator}{urlencode(query)}",
                      platform=platform)


def login_state_get(state: str) -> dict[str, Any] | None:
    return cache.get(f"lti:state:{state}") if state else None


def login_state_forget(state: str) -> None:
    """A state is used once: forget it before validating the token it came with."""
    cache.delete(f"lti:state:{state}")


class PartitionedMorsel(Morsel):  # type: ignore[type-arg]
    """A cookie with the CHIPS `Partitioned` attribute (http.cookies has no such attribute).

    Chrome keeps partitioned cookies in third-party iframes even when it blocks others.
    """

    def OutputString(self, attrs: Any = None) -> str:  # noqa: N802 - stdlib name
        return super().OutputString(attrs) + "; Partitioned"


def set_partitioned_cookie(response: HttpResponse, name: str, value: str, *, max_age: int,
                           path: str = "/") -> None:
    """Set-Cookie with SameSite=None; Secure; HttpOnly; Partitioned."""
    morsel = PartitionedMorsel()
    morsel.set(name, value, value)
    morsel["max-age"] = max_age
    morsel["path"] = path
    morsel["secure"] = True
    morsel["httponly"] = True
    morsel["samesite"] = "None"
    response.cookies[name] = morsel


def state_cookie_set(response: HttpResponse, state: str, *,
                     max_age: int = STATE_TTL_SECONDS) -> None:
    """Set (or, with max_age=0, delete) the state cookie of one login."""
    set_partitioned_cookie(response, STATE_COOKIE_PREFIX + state, state if max_age else "",
                           max_age=max_age, path="/lti/")


def state_cookie_matches(cookies: dict[str, str], state: str) -> bool:
    value = cookies.get(STATE_COOKIE_PREFIX + state, "")
    return bool(value) and secrets.compare_digest(value, state)


def storage_check_issue(state: str) -> str:
    """A one-time token that lets the Platform Storage page post the launch back once."""
    check = secrets.token_urlsafe(24)
    cache.set(f"lti:storage-check:{check}", state, 120)
    return check


def storage_check_take(check: str, state: str) -> bool:
    key = f"lti:storage-check:{check}"
    expected = cache.get(key) if check else None
    cache.delete(key)
    return bool(expected) and secrets.compare_digest(str(expected), state)


def platform_origins(platform: Platform) -> list[str]:
    """Origins the platform's storage frame may answer from."""
    origins = []
    for url in [platform.issuer, platform.auth_login_url, *platform.frame_origins]:
        parts = urlsplit(url)
        if parts.scheme and parts.netloc:
            origins.append(f"{parts.scheme}://{parts.netloc}")
    return sorted(set(origins))
