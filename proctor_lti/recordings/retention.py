"""Retention: purging expired media, purge-now, and extending retention under review."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from proctor_lti.core.audit import audit_record
from proctor_lti.core.errors import UserFacingError
from proctor_lti.core.models import AuditEntry
from proctor_lti.exams.models import Attempt

from . import crypto
from .models import AttemptVault, Chunk, DeletionRecord, Recording, Segment
from .storage import media_delete

logger = logging.getLogger(__name__)


def attempt_media_purge(*, attempt: Attempt, actor=None, reason: str) -> DeletionRecord:  # type: ignore[no-untyped-def]
    """Delete every media file of the attempt (chunks and evidence) and destroy its key.

    Writes a DeletionRecord (what, when, why, by whom) and an audit entry. Analysis results
    (observations JSON, flags) stay: they are the review record, not media.
    """
    vault = crypto.vault_for(attempt.pk)
    if vault.purged_at:
        raise UserFacingError(
            f"This attempt's media was already deleted on {vault.purged_at:%Y-%m-%d %H:%M} UTC "
            "(see the deletion records).", code="purged", status=410)
    names = list(Chunk.objects.filter(recording__attempt=attempt)
                 .values_list("storage_name", flat=True))
    evidence = [item["name"] for ev in Segment.objects.filter(recording__attempt=attempt)
                .values_list("evidence", flat=True) for item in (ev or [])]
    freed = 0
    for name in names + evidence:
        freed += media_delete(name)
    kinds = sorted(Recording.objects.filter(attempt=attempt).values_list("kind", flat=True))
    what = (f"{len(names)} media chunks ({', '.join(kinds) or 'no streams'}) and "
            f"{len(evidence)} evidence thumbnails of attempt {attempt.pk}")
    with transaction.atomic():
        Chunk.objects.filter(recording__attempt=attempt).delete()
        Segment.objects.filter(recording__attempt=attempt).update(evidence=[])
        # Crypto-shredding: even a backup of the media cannot be decrypted any more.
        AttemptVault.objects.filter(pk=vault.pk).update(purged_at=timezone.now(), wrapped_key=b"")
        record = DeletionRecord.objects.create(
            attempt_id_ref=attempt.pk, exam_title=attempt.exam.title[:255], what=what,
            reason=reason[:255], deleted_by=str(actor) if actor else "system (retention)",
            bytes_deleted=freed)
        audit_record(actor=actor, action=AuditEntry.Action.PURGE, target=attempt,
                     context_id=attempt.exam.context_id,
                     detail={"reason": reason, "what": what, "bytes": freed})
    logger.info("purged media of attempt %s: %s", attempt.pk, what)
    return record


def retention_purge_expired(*, now: datetime | None = None) -> int:
    """Purge the media of every attempt whose retention has ended (the beat task)."""
    now = now or timezone.now()
    count = 0
    for vault in AttemptVault.objects.filter(retain_until__lt=now, purged_at__isnull=True) \
            .select_related("attempt__exam"):
        attempt = vault.attempt
        attempt_media_purge(attempt=attempt, actor=None,
                            reason=f"retention period of {attempt.exam.retention_days} days ended")
        count += 1
    return count


def retention_extend(*, attempt: Attempt, until: datetime, actor, reason: str) -> AttemptVault:  # type: ignore[no-untyped-def]
    """Keep the attempt's media until `until` (never shortens retention); audited."""
    if not reason.strip():
        raise UserFacingError("Say why the recording must be kept longer.", code="reason_required")
    if until <= timezone.now():
        raise UserFacingError("The new retention date must be in the future.", code="bad_date")
    vault = crypto.vault_for(attempt.pk)
    if vault.purged_at:
        raise UserFacingError("This attempt's media has already been deleted.", code="purged",
                              status=410)
    previous = vault.retain_until
    if previous is not None and until <= previous:
        raise UserFacingError(
            f"The media is already kept until {previous:%Y-%m-%d}: give a later date to "
            "extend it.", code="not_later")
    vault.retain_until = until
    vault.save(update_fields=["retain_until", "updated_at"])
    audit_record(actor=actor, action=AuditEntry.Action.RETENTION, target=attempt,
                 context_id=attempt.exam.context_id,
                 detail={"reason": reason, "from": previous.isoformat() if previous else None,
                         "until": vault.retain_until.isoformat()})
    return vault
