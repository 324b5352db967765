"""The development LMS as an LTI 1.3 platform: its key, configuration and signed messages.

Deliberately independent of the tool-side code in `proctor_lti.lti`: it signs and verifies
with PyJWT and `cryptography` directly, so a bug on the tool side cannot hide itself by being
mirrored here.
"""

from __future__ import annotations

import base64
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core import signing
from django.db import transaction
from django.http import HttpRequest

from . import roster
from .models import DevCourseLink, DevLmsConfig, DevLmsKey

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
LTI_AP = "https://purl.imsglobal.org/spec/lti-ap/claim/"
LTI_DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
SCOPE_ACS = "https://purl.imsglobal.org/spec/lti-ap/scope/control.all"
SUPPORTED_SCOPES = frozenset({SCOPE_NRPS, SCOPE_ACS})
ACS_ACTIONS = ("pause", "resume", "terminate", "update", "flag")
DEFAULT_CLIENT_ID = "proctor-dev-lms"
DEFAULT_DEPLOYMENT_ID = "dev-lms-deployment-1"
HINT_SALT = "devlms.message-hint"
HINT_MAX_AGE_S = 600
ID_TOKEN_LIFETIME_S = 300


class PlatformError(Exception):
    """A request to the dev platform that it refuses (rendered as a 4xx)."""

    def __init__(self, message: str, *, status: int = 400, code: str = "invalid_request") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


@dataclass(frozen=True)
class Config:
    issuer: str
    tool_url: str
    client_id: str
    deployment_id: str

    @property
    def base(self) -> str:
        """Absolute URL prefix of the dev LMS routes (the issuer is the /dev-lms root)."""
        return self.issuer.rstrip("/")

    @property
    def tool_login_url(self) -> str:
        return f"{self.tool_url}/lti/login/"

    @property
    def tool_launch_url(self) -> str:
        return f"{self.tool_url}/lti/launch/"

    @property
    def tool_jwks_url(self) -> str:
        return f"{self.tool_url}/lti/jwks/"

    @property
    def token_url(self) -> str:
        return f"{self.base}/token"

    def url(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}"


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def config_for(request: HttpRequest | None = None) -> Config:
    """The stored configuration, or one derived from the request's host when none is stored."""
    row = DevLmsConfig.objects.order_by("-id").first()
    if row:
        return Config(row.issuer.rstrip("/"), row.tool_url.rstrip("/"), row.client_id,
                      row.deployment_id)
    if request is None:
        raise PlatformError("The development LMS is not configured: run `manage.py seed_demo`.")
    here = f"{request.scheme}://{request.get_host()}"
    return Config(f"{here}/dev-lms", here, DEFAULT_CLIENT_ID, DEFAULT_DEPLOYMENT_ID)


def config_save(*, issuer: str, tool_url: str, client_id: str, deployment_id: str) -> Config:
    """Store the one configuration row (idempotent)."""
    with transaction.atomic():
        row = DevLmsConfig.objects.select_for_update().order_by("-id").first() or DevLmsConfig()
        row.issuer, row.tool_url = issuer.rstrip("/"), tool_url.rstrip("/")
        row.client_id, row.deployment_id = client_id, deployment_id
        row.save()
        DevLmsConfig.objects.exclude(pk=row.pk).delete()
    return config_for()


# --- the platform's own key ---------------------------------------------------------------

def _b64(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def signing_key() -> DevLmsKey:
    """The dev platform's key, generated on first use and kept in the database."""
    key = DevLmsKey.objects.order_by("-created_at", "-id").first()
    if key:
        return key
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = private.public_key().public_numbers()
    kid = f"devlms-{uuid.uuid4().hex[:16]}"
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    jwk = {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
           "n": _b64(numbers.n), "e": _b64(numbers.e)}
    return DevLmsKey.objects.create(kid=kid, private_key_pem=pem, public_jwk=jwk)


def jwks() -> dict[str, Any]:
    return {"keys": [k.public_jwk for k in DevLmsKey.objects.order_by("-created_at")]
            or [signing_key().public_jwk]}


def sign(claims: dict[str, Any]) -> str:
    key = signing_key()
    return jwt.encode(claims, key.private_key_pem, algorithm="RS256", headers={"kid": key.kid})


# --- launch initiation and the id_token ---------------------------------------------------

def message_hint(**data: Any) -> str:
    """An opaque, signed lti_message_hint carrying what to launch."""
    return signing.dumps(data, salt=HINT_SALT, compress=True)


def read_message_hint(hint: str) -> dict[str, Any]:
    try:
        data = signing.loads(hint, salt=HINT_SALT, max_age=HINT_MAX_AGE_S)
    except signing.SignatureExpired as exc:
        raise PlatformError("The launch took too long; go back to the course and launch again.",
                            code="login_expired") from exc
    except signing.BadSignature as exc:
        raise PlatformError("lti_message_hint was not issued by this LMS.") from exc
    return dict(data)


def login_initiation_url(config: Config, *, user: roster.DemoUser, message_type: str,
                         link: DevCourseLink | None = None, target: str = "iframe",
                         **extra: Any) -> str:
    """Where the browser goes to start a launch: the tool's OIDC login initiation URL."""
    target_link_uri = (link.url if link and link.url else config.tool_launch_url)
    hint = message_hint(user=user.key, message_type=message_type,
                        link=link.resource_link_id if link else "", target=target, **extra)
    params = {
        "iss": config.issuer,
        "login_hint": user.key,
        "target_link_uri": target_link_uri,
        "lti_message_hint": hint,
        "client_id": config.client_id,
        "lti_deployment_id": config.deployment_id,
    }
    return f"{config.tool_login_url}?{urlencode(params)}"


def id_token_claims(config: Config, *, user: roster.DemoUser, hint: dict[str, Any],
                    nonce: str, now: int | None = None) -> dict[str, Any]:
    """The claims of the id_token for the launch described by `hint`."""
    now = int(time.time()) if now is None else now
    message_type = hint["message_type"]
    claims: dict[str, Any] = {
        "iss": config.issuer,
        "aud": config.client_id,
        "azp": config.client_id,
        "sub": user.sub,
        "iat": now,
        "exp": now + ID_TOKEN_LIFETIME_S,
        "nonce": nonce,
        "name": user.name,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "email": user.email,
        LTI + "message_type": message_type,
        LTI + "version": "1.3.0",
        LTI + "deployment_id": config.deployment_id,
        LTI + "target_link_uri": config.tool_launch_url,
        LTI + "roles": list(user.roles),
        LTI + "context": {"id": roster.COURSE_ID, "label": roster.COURSE_LABEL,
                          "title": roster.COURSE_TITLE,
                          "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"]},
        LTI + "tool_platform": {"guid": config.issuer, "name": "Development LMS",
                                "product_family_code": "proctor-dev-lms", "version": "1"},
        LTI + "launch_presentation": {"document_target": hint.get("target", "iframe"),
                                      "return_url": config.url("/"), "locale": "en"},
        LTI + "lis": {"person_sourcedid": user.sub, "course_section_sourcedid": roster.COURSE_ID},
        NRPS_CLAIM: {"context_memberships_url": config.url(f"nrps/{roster.COURSE_ID}/memberships"),
                     "service_versions": ["2.0"]},
    }
    link = DevCourseLink.objects.filter(resource_link_id=hint.get("link") or "").first()
    if link:
        claims[LTI + "resource_link"] = {"id": link.resource_link_id, "title": link.title}
        claims[LTI + "target_link_uri"] = link.url or config.tool_launch_url
        claims[LTI + "custom"] = {"dev_lms_course_id": "101", **link.custom}
    if message_type == "LtiDeepLinkingRequest":
        claims.pop(LTI + "resource_link", None)
        claims[LTI_DL + "deep_linking_settings"] = {
            "deep_link_return_url": config.url("deep-link/return/"),
            "accept_types": ["ltiResourceLink"],
            "accept_presentation_document_targets": ["iframe", "window"],
            "accept_multiple": False,
            "auto_create": True,
            "title": "Add a proctored exam",
            "data": hint.get("dl_data", ""),
        }
    elif message_type in ("LtiStartProctoring", "LtiEndAssessment"):
        claims[LTI_AP + "attempt_number"] = int(hint["attempt_number"])
        if message_type == "LtiStartProctoring":
            claims[LTI_AP + "start_assessment_url"] = config.url("proctoring/start-assessment/")
            claims[LTI_AP + "session_data"] = hint["session_data"]
            claims[LTI_AP + "proctoring_settings"] = {"data": "dev-lms demo settings"}
            claims[LTI_AP + "acs"] = {"assessment_control_url": config.url("acs/"),
                                     "actions": list(ACS_ACTIONS)}
        else:
            claims[LTI + "launch_presentation"]["return_url"] = config.url(
                f"proctoring/{hint['session_id']}/finished/")
    return claims


def new_nonce() -> str:
    return secrets.token_urlsafe(24)
