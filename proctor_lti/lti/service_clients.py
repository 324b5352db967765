"""Calls from the tool to LTI Advantage services: the service token, NRPS and ACS.

One client-credentials token client (a JWT assertion signed with the tool key, RFC 7523) is
shared by every service. Tokens are cached per platform and scope set until shortly before
they expire. Errors become `LtiServiceError` carrying the platform's answer, never a token.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from .models import Context, Platform
from .roles import role_from_lti
from .signing import sign_tool_jwt

logger = logging.getLogger(__name__)

SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
SCOPE_ACS = "https://purl.imsglobal.org/spec/lti-ap/scope/control.all"
SCOPE_AGS_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_AGS_RESULT = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_AGS_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"

NRPS_MEDIA_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
ACS_MEDIA_TYPE = "application/vnd.ims.lti-ap.v1.control+json"
ACS_ACTIONS = ("pause", "resume", "terminate", "update", "flag")
ACS_STATUSES = ("none", "running", "paused", "terminated", "complete")
# Retries for ACS: a proctoring action must survive a platform hiccup, but never hang a
# reviewer's request for long. Sleep = base * 2**n plus jitter (0.5 s, 1 s, ...).
ACS_MAX_ATTEMPTS = 3
ACS_BACKOFF_SECONDS = 0.5
# Refresh a service token this long before the platform says it expires.
TOKEN_EXPIRY_MARGIN_SECONDS = 60
NRPS_MAX_PAGES = 200
_ANSWER_EXCERPT = 500


class LtiServiceError(Exception):
    """A platform service call failed. `answer` is the platform's reply (truncated)."""

    def __init__(
        self, message: str, *, status: int | None = None, answer: str = "", transient: bool = False
    ) -> None:
        super().__init__(f"{message} (HTTP {status}): {answer}" if status else message)
        self.message = message
        self.status = status
        self.answer = answer[:_ANSWER_EXCERPT]
        self.transient = transient


def _timeout() -> float:
    return float(settings.LTI_HTTP_TIMEOUT_SECONDS)


def _check_url(url: str, what: str) -> None:
    parts = urlsplit(url or "")
    allowed = {"https", "http"} if settings.LTI_ALLOW_INSECURE_PLATFORMS else {"https"}
    if parts.scheme not in allowed or not parts.netloc:
        raise LtiServiceError(f"The platform's {what} URL is missing or not https: {url!r}")


def _token_cache_key(platform: Platform, scopes: tuple[str, ...]) -> str:
    digest = hashlib.sha256(" ".join(scopes).encode()).hexdigest()[:16]
    return f"lti:svc-token:{platform.pk}:{platform.client_id}:{digest}"


def service_token(
    *, platform: Platform, scopes: list[str] | tuple[str, ...], force_refresh: bool = False
) -> str:
    """An access token for `scopes` from the platform's token endpoint (cached until expiry).

    Client-credentials grant with a signed JWT assertion: iss = sub = our client_id,
    aud = platform.auth_audience or its token URL, a unique jti, a 5-minute lifetime.
    """
    wanted = tuple(sorted(set(scopes)))
    key = _token_cache_key(platform, wanted)
    if not force_refresh and (cached := cache.get(key)):
        return str(cached)
    _check_url(platform.auth_token_url, "token")
    assertion = sign_tool_jwt(
        {
            "iss": platform.client_id,
            "sub": platform.client_id,
            "aud": platform.auth_audience or platform.auth_token_url,
        }
    )
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
        "scope": " ".join(wanted),
    }
    try:
        response = requests.post(
            platform.auth_token_url,
            data=data,
            timeout=_timeout(),
            headers={"Accept": "application/json"},
        )
    except requests.RequestException as exc:
        raise LtiServiceError(
            f"The platform's token endpoint did not answer: {type(exc).__name__}", transient=True
        ) from exc
    if response.status_code != 200:
        raise LtiServiceError(
            "The platform refused a service token",
            status=response.status_code,
            answer=response.text,
            transient=response.status_code >= 500,
        )
    try:
        body = response.json()
        token = str(body["access_token"])
        expires_in = int(body.get("expires_in") or 3600)
    except (ValueError, KeyError, TypeError) as exc:
        raise LtiServiceError(
            "The platform's token answer has no access_token",
            status=response.status_code,
            answer="(not shown)",
        ) from exc
    # RFC 6749: no `scope` in the answer means exactly the requested scopes were granted.
    granted = set(str(body["scope"] or "").split()) if "scope" in body else set(wanted)
    if missing := set(wanted) - granted:
        raise LtiServiceError(
            "The platform did not grant the scopes this tool needs: "
            + ", ".join(sorted(missing))
            + ". Enable them in the LMS "
            "registration of the tool."
        )
    ttl = (
        expires_in - TOKEN_EXPIRY_MARGIN_SECONDS
        if expires_in > 2 * TOKEN_EXPIRY_MARGIN_SECONDS
        else expires_in // 2
    )
    if ttl > 0:
        cache.set(key, token, ttl)
    return token


def forget_service_token(*, platform: Platform, scopes: list[str] | tuple[str, ...]) -> None:
    cache.delete(_token_cache_key(platform, tuple(sorted(set(scopes)))))


def service_request(
    method: str,
    url: str,
    *,
    platform: Platform,
    scopes: tuple[str, ...],
    accept: str,
    json_body: Any = None,
    content_type: str = "",
    what: str = "service",
) -> requests.Response:
    """One authorised call; a 401 (token revoked or expired early) gets one fresh token."""
    _check_url(url, what)
    for attempt in range(2):
        token = service_token(platform=platform, scopes=scopes, force_refresh=attempt > 0)
        headers = {"Authorization": f"Bearer {token}", "Accept": accept}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            response = requests.request(
                method, url, json=json_body, headers=headers, timeout=_timeout()
            )
        except requests.RequestException as exc:
            raise LtiServiceError(
                f"The platform's {what} did not answer: {type(exc).__name__}", transient=True
            ) from exc
        if response.status_code != 401 or attempt > 0:
            break
    if response.status_code >= 400:
        raise LtiServiceError(
            f"The platform's {what} refused the call",
            status=response.status_code,
            answer=response.text,
            transient=response.status_code >= 500,
        )
    return response


# --- Names and Role Provisioning Services -------------------------------------------------


@dataclass(frozen=True)
class Member:
    """One person in the course roster, as the platform's NRPS reports them."""

    user_id: str  # the LTI `sub`
    roles: tuple[str, ...]
    role: str  # Membership.Role value, "" when no usable role
    status: str = "Active"  # Active | Inactive | Deleted
    name: str = ""
    given_name: str = ""
    family_name: str = ""
    email: str = ""
    lis_person_sourcedid: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_active(self) -> bool:
        return self.status.lower() == "active"


def _member(raw: dict[str, Any]) -> Member | None:
    user_id = str(raw.get("user_id") or "")
    if not user_id:
        return None
    roles = tuple(str(r) for r in raw.get("roles") or ())
    known = {
        "user_id",
        "roles",
        "status",
        "name",
        "given_name",
        "family_name",
        "email",
        "lis_person_sourcedid",
    }
    return Member(
        user_id=user_id,
        roles=roles,
        role=role_from_lti(roles),
        status=str(raw.get("status") or "Active"),
        name=str(raw.get("name") or ""),
        given_name=str(raw.get("given_name") or ""),
        family_name=str(raw.get("family_name") or ""),
        email=str(raw.get("email") or ""),
        lis_person_sourcedid=str(raw.get("lis_person_sourcedid") or ""),
        extra={k: v for k, v in raw.items() if k not in known},
    )


def nrps_fetch_members(context: Context) -> list[Member]:
    """The whole roster of `context` from its NRPS endpoint, following `Link: rel="next"`.

    Raises LtiServiceError when the course has no roster service or the platform refuses.
    """
    if not context.nrps_url:
        raise LtiServiceError(
            "This course has no roster service (the platform sent no Names "
            "and Role Provisioning claim; enable it in the LMS)."
        )
    members: dict[str, Member] = {}
    url: str | None = context.nrps_url
    seen: set[str] = set()
    while url and url not in seen:
        if len(seen) >= NRPS_MAX_PAGES:
            raise LtiServiceError(f"The roster has more than {NRPS_MAX_PAGES} pages; stopped.")
        seen.add(url)
        response = service_request(
            "GET",
            url,
            platform=context.platform,
            scopes=(SCOPE_NRPS,),
            accept=NRPS_MEDIA_TYPE,
            what="roster service",
        )
        try:
            body = response.json()
        except ValueError as exc:
            raise LtiServiceError(
                "The roster service answered something that is not JSON",
                status=response.status_code,
                answer=response.text,
            ) from exc
        for raw in body.get("members") or []:
            if isinstance(raw, dict) and (member := _member(raw)):
                members[member.user_id] = member
        url = response.links.get("next", {}).get("url")
    return list(members.values())


# --- Assessment Control Service (LTI Proctoring Services) -----------------------------------


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def acs_send(
    attempt: Any,
    *,
    action: str,
    incident_time: datetime | None = None,
    severity: float | None = None,
    reason_code: str = "",
    reason_msg: str = "",
    extra_time: int | None = None,
) -> dict[str, Any]:
    """POST one Assessment Control action for `attempt` to the platform; return its answer.

    `action` is one of pause, resume, terminate, update, flag; `severity` 0..1; `extra_time`
    in seconds (for update). Retries 5xx, timeouts and connection errors (bounded, with
    backoff); any other failure raises LtiServiceError at once.
    """
    if action not in ACS_ACTIONS:
        raise ValueError(f"unknown ACS action {action!r}; expected one of {ACS_ACTIONS}")
    if severity is not None and not 0.0 <= float(severity) <= 1.0:
        raise ValueError("incident severity must be between 0 and 1")
    if not attempt.lti_acs_url:
        raise LtiServiceError(
            "This attempt came without an Assessment Control Service; the "
            "platform cannot be told to pause, flag or end it."
        )
    exam = attempt.exam
    platform = exam.context.platform
    identity = getattr(attempt.user, "lti_identity", None)
    if identity is None or exam.resource_link is None:
        raise LtiServiceError("The attempt has no LTI user or resource link to report on.")
    body: dict[str, Any] = {
        "user": {"iss": platform.issuer, "sub": identity.sub},
        "resource_link": {"id": exam.resource_link.resource_link_id},
        "attempt_number": attempt.lti_attempt_number or attempt.number,
        "action": action,
        "incident_time": _iso(incident_time or timezone.now()),
    }
    if severity is not None:
        body["incident_severity"] = float(severity)
    if reason_code:
        body["reason_code"] = reason_code
    if reason_msg:
        body["reason_msg"] = reason_msg
    if extra_time is not None:
        body["extra_time"] = int(extra_time)
    for n in range(ACS_MAX_ATTEMPTS):
        try:
            response = service_request(
                "POST",
                attempt.lti_acs_url,
                platform=platform,
                scopes=(SCOPE_ACS,),
                accept=ACS_MEDIA_TYPE,
                json_body=body,
                content_type=ACS_MEDIA_TYPE,
                what="assessment control service",
            )
            break
        except LtiServiceError as exc:
            if not exc.transient or n == ACS_MAX_ATTEMPTS - 1:
                raise
            delay = ACS_BACKOFF_SECONDS * 2**n * (1 + random.random() / 2)  # noqa: S311
            logger.warning(
                "ACS %s for attempt %s failed (%s); retry %d in %.1fs",
                action,
                attempt.pk,
                exc.status or "no answer",
                n + 1,
                delay,
            )
            time.sleep(delay)
    try:
        answer = response.json() if response.content else {}
    except ValueError as exc:
        raise LtiServiceError(
            "The assessment control service answered something that is not JSON",
            status=response.status_code,
            answer=response.text,
        ) from exc
    if not isinstance(answer, dict):
        raise LtiServiceError(
            "The assessment control service answer is not an object",
            status=response.status_code,
            answer=response.text,
        )
    return answer
