"""The one way to write to the audit log."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpRequest

from .models import AuditEntry


def target_of(obj: models.Model) -> str:
    return f"{obj._meta.label_lower}:{obj.pk}"


def audit_record(
    *,
    actor: Any,
    action: str,
    target: models.Model | str,
    context_id: int | None = None,
    detail: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> AuditEntry:
    """Write one audit entry. `actor` is a user or None (system jobs)."""
    ip = request.META.get("REMOTE_ADDR") if request is not None else None
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        target=target if isinstance(target, str) else target_of(target),
        context_id=context_id,
        detail=detail or {},
        ip_address=ip,
    )
