"""Writes to platform registrations. Every change forgets the cached CSP frame origins."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction

from .middleware import forget_frame_origins
from .models import Deployment, Platform

URL_FIELDS = ("issuer", "auth_login_url", "auth_token_url", "key_set_url")


def validate_platform_url(*, name: str, url: str) -> str:
    """A well-formed https:// URL (http:// only when LTI_ALLOW_INSECURE_PLATFORMS)."""
    url = (url or "").strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise ValidationError(f"{name}: {url!r} is not a valid http(s) URL.") from None
    if urlsplit(url).scheme == "http" and not settings.LTI_ALLOW_INSECURE_PLATFORMS:
        raise ValidationError(
            f"{name}: {url!r} uses http://. Platforms must use https:// "
            "(set LTI_ALLOW_INSECURE_PLATFORMS=1 only for local development)."
        )
    return url


@transaction.atomic
def platform_register(
    *,
    name: str,
    issuer: str,
    client_id: str,
    auth_login_url: str,
    auth_token_url: str,
    key_set_url: str,
    deployment_ids: list[str] | tuple[str, ...] = (),
    auth_audience: str = "",
    frame_origins: list[str] | None = None,
    auto_add_deployments: bool | None = None,
) -> tuple[Platform, bool]:
    """Create or update the registration (issuer, client_id); add deployments.

    Idempotent: running it again with the same issuer and client_id updates the row.
    Returns (platform, created). Raises ValidationError with a readable message.
    """
    values = {
        "issuer": issuer.strip(),  # exact: it must equal the iss of the id_tokens
        "auth_login_url": auth_login_url,
        "auth_token_url": auth_token_url,
        "key_set_url": key_set_url,
    }
    for field in URL_FIELDS:
        validate_platform_url(name=field.replace("_", "-"), url=values[field])
    if not client_id.strip():
        raise ValidationError("client-id must not be empty.")
    if not name.strip():
        raise ValidationError("name must not be empty.")
    defaults: dict[str, object] = {
        "name": name.strip(),
        "auth_login_url": values["auth_login_url"].strip(),
        "auth_token_url": values["auth_token_url"].strip(),
        "key_set_url": values["key_set_url"].strip(),
        "auth_audience": auth_audience,
        "is_active": True,
    }
    if frame_origins is not None:
        defaults["frame_origins"] = frame_origins
    if auto_add_deployments is not None:
        defaults["auto_add_deployments"] = auto_add_deployments
    platform, created = Platform.objects.update_or_create(
        issuer=values["issuer"], client_id=client_id.strip(), defaults=defaults
    )
    for deployment_id in deployment_ids:
        deployment_add(platform=platform, deployment_id=deployment_id)
    transaction.on_commit(forget_frame_origins)
    forget_frame_origins()
    return platform, created


def deployment_add(*, platform: Platform, deployment_id: str) -> Deployment:
    """Register one deployment of the tool on a platform (idempotent)."""
    deployment_id = deployment_id.strip()
    if not deployment_id:
        raise ValidationError("deployment-id must not be empty.")
    deployment, _ = Deployment.objects.get_or_create(platform=platform,
                                                     deployment_id=deployment_id)
    return deployment


def platform_deactivate(*, platform: Platform) -> None:
    """Stop accepting launches from a platform (kept for its history)."""
    platform.is_active = False
    platform.save(update_fields=["is_active", "updated_at"])
    transaction.on_commit(forget_frame_origins)
    forget_frame_origins()
