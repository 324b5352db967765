"""LTI Dynamic Registration (Canvas, Moodle, any 1EdTech-conformant platform).

The platform opens /lti/register/?openid_configuration=...&registration_token=... in an
iframe. We read its configuration (bearer registration token), check that the configuration
URL lives under its issuer, POST our registration (same bearer token), store the Platform
(+ deployment when the answer names one) and let the page tell the platform to close.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.utils.translation import gettext as _

from proctor_lti.core.errors import UserFacingError

from .models import Platform

logger = logging.getLogger(__name__)

TOOL_CONFIG = "https://purl.imsglobal.org/spec/lti-tool-configuration"
PLATFORM_CONFIG = "https://purl.imsglobal.org/spec/lti-platform-configuration"
CANVAS_PRIVACY = "https://canvas.instructure.com/lti/privacy_level"
WANTED_SCOPES = (
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "https://purl.imsglobal.org/spec/lti-ap/scope/control.all",
)
WANTED_CLAIMS = ("iss", "sub", "name", "given_name", "family_name", "email", "picture")
REQUIRED_CONFIG = (
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "jwks_uri",
    "registration_endpoint",
)
CUSTOM_PARAMETERS = {
    # Canvas expands these; other platforms send them back literally, which the tool ignores.
    "canvas_course_id": "$Canvas.course.id",
    "canvas_assignment_id": "$Canvas.assignment.id",
    "canvas_user_id": "$Canvas.user.id",
    "canvas_allowed_attempts": "$Canvas.assignment.allowedAttempts",
}


class RegistrationError(UserFacingError):
    status = 400
    code = "lti_registration_failed"


def _url_ok(url: str) -> bool:
    parts = urlsplit(url or "")
    allowed = {"https", "http"} if settings.LTI_ALLOW_INSECURE_PLATFORMS else {"https"}
    return parts.scheme in allowed and bool(parts.netloc)


def url_is_under_issuer(url: str, issuer: str) -> bool:
    """True when `url` starts with `issuer` on a path boundary (https://lms.edu.evil fails)."""
    issuer = issuer.rstrip("/")
    if not issuer or not url.startswith(issuer):
        return False
    rest = url[len(issuer) :]
    return rest == "" or rest[0] in "/?#"


def _bearer(token: str) -> dict[str, str]:
    # The registration token is optional in the specification; without one, send none.
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def origin_of(url: str) -> str:
    """scheme://host[:port] of an http(s) URL, or "" (never anything a header could abuse)."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    if any(c in parts.netloc for c in " ;,'\"\\") or "@" in parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}"


def registration_fetch_configuration(
    *, openid_configuration: str, registration_token: str
) -> dict[str, Any]:
    """GET the platform's OpenID configuration and check it; RegistrationError otherwise."""
    if not _url_ok(openid_configuration):
        raise RegistrationError(
            _("The platform gave no usable openid_configuration URL."),
            hint=_("Start the registration from the LMS admin page."),
        )
    try:
        response = requests.get(
            openid_configuration,
            headers=_bearer(registration_token),
            timeout=settings.LTI_HTTP_TIMEOUT_SECONDS,
        )
    except requests.RequestException as exc:
        raise RegistrationError(
            _("The platform's configuration could not be read (%(err)s).")
            % {"err": type(exc).__name__},
            status=400,
        ) from exc
    if response.status_code != 200:
        raise RegistrationError(
            _("The platform refused to share its configuration (HTTP %(status)s).")
            % {"status": response.status_code},
            hint=_("The registration link may have expired: start again from the LMS."),
            status=400,
        )
    try:
        config = response.json()
    except ValueError:
        config = None
    if not isinstance(config, dict):
        raise RegistrationError(_("The platform's configuration is not JSON."), status=400)
    missing = [name for name in REQUIRED_CONFIG if not config.get(name)]
    if missing:
        raise RegistrationError(
            _("The platform's configuration lacks: %(names)s.") % {"names": ", ".join(missing)},
            status=400,
        )
    if not url_is_under_issuer(openid_configuration, str(config["issuer"])):
        raise RegistrationError(
            _("The configuration URL is not under the platform's issuer %(issuer)s.")
            % {"issuer": config["issuer"]},
            hint=_("Only start the registration from your own LMS."),
        )
    for name in REQUIRED_CONFIG[1:]:
        if not _url_ok(str(config[name])):
            raise RegistrationError(
                _("The platform's %(name)s is not an https URL.") % {"name": name}, status=400
            )
    return config


def tool_registration_payload(config: dict[str, Any], *, client_name: str = "") -> dict[str, Any]:
    """Our client registration for the platform described by `config`."""
    site = settings.SITE_URL
    launch = f"{site}/lti/launch/"
    supported_scopes = config.get("scopes_supported")
    scopes = [s for s in WANTED_SCOPES if supported_scopes is None or s in supported_scopes]
    supported_claims = config.get("claims_supported")
    claims = [c for c in WANTED_CLAIMS if supported_claims is None or c in supported_claims]
    name = client_name or _("Exam proctoring")
    messages: list[dict[str, Any]] = [
        {
            "type": "LtiResourceLinkRequest",
            "target_link_uri": launch,
            "label": name,
            "placements": ["course_navigation"],
            "roles": [
                "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
                "http://purl.imsglobal.org/vocab/lis/v2/membership#ContentDeveloper",
                "http://purl.imsglobal.org/vocab/lis/v2/membership#TeachingAssistant",
            ],
        },
        {
            "type": "LtiDeepLinkingRequest",
            "target_link_uri": launch,
            "label": _("Proctored exam"),
            "placements": ["assignment_selection", "link_selection"],
        },
    ]
    platform_messages = {
        m.get("type")
        for m in (config.get(PLATFORM_CONFIG) or {}).get("messages_supported") or []
        if isinstance(m, dict)
    }
    if platform_messages:
        messages = [m for m in messages if m["type"] in platform_messages]
    return {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": f"{site}/lti/login/",
        "redirect_uris": [launch],
        "client_name": name,
        "jwks_uri": f"{site}/lti/jwks/",
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(scopes),
        TOOL_CONFIG: {
            "domain": urlsplit(site).netloc,
            "target_link_uri": launch,
            "custom_parameters": dict(CUSTOM_PARAMETERS),
            "claims": claims,
            "messages": messages,
            CANVAS_PRIVACY: "public",
        },
    }


def registration_submit(
    *, config: dict[str, Any], registration_token: str, client_name: str = ""
) -> dict[str, Any]:
    """POST our registration; return the platform's answer (it carries our client_id)."""
    payload = tool_registration_payload(config, client_name=client_name)
    try:
        response = requests.post(
            str(config["registration_endpoint"]),
            json=payload,
            headers=_bearer(registration_token),
            timeout=settings.LTI_HTTP_TIMEOUT_SECONDS,
        )
    except requests.RequestException as exc:
        raise RegistrationError(
            _("The platform did not answer the registration (%(err)s).")
            % {"err": type(exc).__name__},
            status=400,
        ) from exc
    if response.status_code not in (200, 201):
        logger.warning(
            "registration refused by %s: HTTP %s %s",
            config["issuer"],
            response.status_code,
            response.text[:500],
        )
        raise RegistrationError(
            _("The platform refused the registration (HTTP %(status)s): %(answer)s")
            % {"status": response.status_code, "answer": response.text[:300]},
            status=400,
        )
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or not answer.get("client_id"):
        raise RegistrationError(
            _("The platform's registration answer has no client_id."), status=400
        )
    return answer


def registration_store(
    *,
    config: dict[str, Any],
    answer: dict[str, Any],
    openid_configuration: str,
    lms_origin: str = "",
) -> tuple[Platform, str]:
    """Save the platform registration; returns (platform, deployment_id or "").

    `lms_origin` is where the LMS showed the registration dialog (Canvas cloud: the school's
    own host, not the issuer's): it may frame the tool's pages from now on.
    """
    from .services import platform_register

    tool_config = answer.get(TOOL_CONFIG) or {}
    deployment_id = str(tool_config.get("deployment_id") or answer.get("deployment_id") or "")
    family = (config.get(PLATFORM_CONFIG) or {}).get("product_family_code") or "LMS"
    host = urlsplit(str(config["issuer"])).netloc
    origins = sorted({o for o in (origin_of(openid_configuration), origin_of(lms_origin)) if o})
    platform, _created = platform_register(
        name=f"{family} ({host})"[:200],
        issuer=str(config["issuer"]),
        client_id=str(answer["client_id"]),
        auth_login_url=str(config["authorization_endpoint"]),
        auth_token_url=str(config["token_endpoint"]),
        key_set_url=str(config["jwks_uri"]),
        deployment_ids=[deployment_id] if deployment_id else [],
        auth_audience=str(config.get("authorization_server") or ""),
        frame_origins=origins,
        # Canvas creates the deployment only when the tool is installed, after this answer:
        # let its first launch register it rather than refuse every launch.
        auto_add_deployments=not deployment_id,
    )
    return platform, deployment_id
