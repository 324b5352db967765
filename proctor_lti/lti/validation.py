"""The rules of the LTI 1.3 launch checklist that pylti1p3 lacks (docs: ../shared/LTI.md).

`message_launch.ProctorMessageLaunch` (pylti1p3's MessageLaunch, extended) calls these from
its validation steps. Each failure is a LaunchError with a stable code (a 4xx page with an
error id).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import jwt
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .errors import ADMIN_HINT, launch_error
from .launch_data import (
    MSG_DEEP_LINKING,
    MSG_END_ASSESSMENT,
    MSG_RESOURCE_LINK,
    MSG_START_PROCTORING,
)
from .models import Deployment, Platform, UsedNonce

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
LTI_AP = "https://purl.imsglobal.org/spec/lti-ap/claim/"
LTI_DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
ALLOWED_MESSAGES = (MSG_RESOURCE_LINK, MSG_DEEP_LINKING, MSG_START_PROCTORING, MSG_END_ASSESSMENT)

_JWT_ERRORS: list[tuple[type[Exception], str, Any]] = [
    (jwt.ExpiredSignatureError, "token_expired", gettext_lazy("This launch has expired.")),
    (jwt.ImmatureSignatureError, "token_from_future",
     gettext_lazy("This launch claims to be issued in the future; the LMS clock may be wrong.")),
    (jwt.InvalidAudienceError, "wrong_audience",
     gettext_lazy("This launch was meant for another tool.")),
    (jwt.InvalidIssuerError, "wrong_issuer",
     gettext_lazy("This launch comes from an unexpected LMS.")),
    (jwt.InvalidSignatureError, "bad_signature",
     gettext_lazy("The launch signature is not valid.")),
    (jwt.InvalidAlgorithmError, "unsupported_algorithm",
     gettext_lazy("The launch is not signed with RS256.")),
    (jwt.DecodeError, "malformed_token", gettext_lazy("The launch token is malformed.")),
]


def _refuse(code: str, message: str, *, hint: str = "", status: int = 401) -> Exception:
    return launch_error(code, message, hint=hint, status=status)


def token_header(id_token: str) -> dict[str, Any]:
    """The unverified JOSE header; only alg RS256 with a kid goes further."""
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.InvalidTokenError:  # DecodeError, and e.g. a kid that is not a string
        raise _refuse("malformed_token", _("The launch token is malformed."), status=400) from None
    if header.get("alg") != "RS256":
        raise _refuse("unsupported_algorithm", _("The launch is not signed with RS256."))
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise _refuse("missing_kid", _("The launch token does not name its signing key."))
    return header


def claims_verify(*, id_token: str, key: Any, platform: Platform) -> dict[str, Any]:
    """Signature, iss, aud, exp, iat (required, with leeway), maximum age and azp.

    pylti1p3 decodes with verify_aud off and no required claims: a token without exp/iat
    passed, and iss/aud were only read from the unverified payload.
    """
    leeway = settings.LTI_CLOCK_LEEWAY_SECONDS
    try:
        claims = jwt.decode(
            id_token,
            key,
            algorithms=["RS256"],
            audience=platform.client_id,
            issuer=platform.issuer,
            leeway=leeway,
            options={"require": ["exp", "iat", "iss", "aud", "nonce"]},
        )
    except jwt.MissingRequiredClaimError as exc:
        raise _refuse(f"missing_{exc.claim}",
                      _("The launch token lacks its required “%(claim)s” claim.")
                      % {"claim": exc.claim}) from None
    except jwt.InvalidTokenError as exc:
        for error_class, code, message in _JWT_ERRORS:
            if isinstance(exc, error_class):
                raise _refuse(code, str(message)) from None
        raise _refuse("invalid_token", _("The launch token is not valid.")) from None
    if time.time() - int(claims["iat"]) > settings.LTI_MAX_TOKEN_AGE_SECONDS + leeway:
        raise _refuse("token_too_old", _("This launch is too old to be used."))
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and "azp" not in claims:
        raise _refuse("missing_azp", _("The launch names several audiences but no azp."))
    if "azp" in claims and claims["azp"] != platform.client_id:
        raise _refuse("wrong_azp", _("This launch was authorised for another tool (azp)."))
    return claims


def nonce_consume(*, issuer: str, nonce: str, expires_at: float) -> None:
    """Use the nonce up: a unique row, so a replayed id_token is refused even in a race."""
    if cache.add("lti:nonce-purge", 1, 300):
        UsedNonce.objects.filter(expires_at__lt=timezone.now()).delete()
    try:
        with transaction.atomic():
            UsedNonce.objects.create(
                issuer=issuer,
                nonce=nonce[:255],
                expires_at=datetime.fromtimestamp(expires_at, tz=UTC),
            )
    except IntegrityError:
        raise _refuse("replayed_token", _("This launch has already been used.")) from None


def deployment_lookup(*, platform: Platform, deployment_id: str) -> Deployment | None:
    """The known deployment (auto-added only if the platform allows it), else None."""
    deployment = Deployment.objects.filter(platform=platform, deployment_id=deployment_id).first()
    if deployment is None and platform.auto_add_deployments:
        deployment = Deployment.objects.get_or_create(platform=platform,
                                                      deployment_id=deployment_id)[0]
    return deployment


def unknown_deployment(*, platform: Platform, deployment_id: str) -> Exception:
    return _refuse(
        "unknown_deployment",
        _("This installation of the tool in your LMS (deployment “%(id)s”) is not registered.")
        % {"id": deployment_id[:80]},
        hint=_("An administrator of the proctoring tool can add it in the admin pages "
               "(LTI platforms) or with: manage.py register_platform … --deployment-id "
               "%(id)s") % {"id": deployment_id[:80]},
        status=403,
    )


def _require(claims: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = claims.get(name)
    if not isinstance(value, kind) or value in ("", {}):
        short = name.rsplit("/", 1)[-1]
        raise _refuse(f"missing_{short}",
                      _("The launch lacks its required “%(claim)s” claim.") % {"claim": short},
                      hint=ADMIN_HINT, status=400)
    return value


def message_check(claims: dict[str, Any]) -> str:
    """Version 1.3.0, an allowed message type and that type's required claims."""
    if claims.get(LTI + "version") != "1.3.0":
        raise _refuse("wrong_version", _("Only LTI 1.3.0 launches are supported."), status=400)
    message_type = claims.get(LTI + "message_type")
    if message_type not in ALLOWED_MESSAGES:
        raise _refuse("wrong_message_type",
                      _("This kind of launch is not supported by the proctoring tool."),
                      hint=ADMIN_HINT, status=400)
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise _refuse("missing_sub", _("The launch does not say who you are."),
                      hint=_("Anonymous launches cannot be proctored: ask your LMS "
                             "administrator to share the user id with this tool."), status=400)
    roles = claims.get(LTI + "roles", [] if message_type in (
        MSG_START_PROCTORING, MSG_END_ASSESSMENT) else None)
    if not isinstance(roles, list):
        _require(claims, LTI + "roles", list)
    if message_type != MSG_DEEP_LINKING:
        link = _require(claims, LTI + "resource_link", dict)
        if not isinstance(link.get("id"), str) or not link["id"]:
            _require({}, LTI + "resource_link", dict)
    if message_type == MSG_DEEP_LINKING:
        dl = _require(claims, LTI_DL + "deep_linking_settings", dict)
        _require(dl, "deep_link_return_url", str)
    if message_type == MSG_START_PROCTORING:
        _require(claims, LTI_AP + "start_assessment_url", str)
        _require(claims, LTI_AP + "session_data", str)
    if message_type in (MSG_START_PROCTORING, MSG_END_ASSESSMENT):
        attempt = claims.get(LTI_AP + "attempt_number")
        if isinstance(attempt, str) and attempt.isdigit():
            attempt = int(attempt)
        if not isinstance(attempt, int) or isinstance(attempt, bool) or attempt < 1:
            _require({}, LTI_AP + "attempt_number", int)
    return message_type
