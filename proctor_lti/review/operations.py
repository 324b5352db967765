"""Operator actions on attempts (Django admin): re-run analysis, re-derive flags.

Media purge and retention changes are the recordings app's services; admin calls them.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from proctor_lti.core.audit import audit_record
from proctor_lti.core.errors import UserFacingError
from proctor_lti.core.models import AuditEntry
from proctor_lti.exams.models import Attempt
from proctor_lti.recordings.models import AttemptVault, Segment

ANALYSED_KINDS = ("webcam",)


def attempt_analysis_rerun(*, attempt: Attempt, actor: Any) -> int:
    """Send every analysed webcam segment of the attempt through detection again.

    Used after a model or config upgrade. Flags are replaced when the aggregation runs,
    keeping reviewers' decisions. Returns the number of segments queued.
    """
    vault = AttemptVault.objects.filter(attempt=attempt).first()
    if vault is not None and vault.purged_at:
        raise UserFacingError("This attempt's media has been deleted; it cannot be analysed "
                              "again.", code="purged", status=410)
    with transaction.atomic():
        segments = Segment.objects.filter(
            recording__attempt=attempt, recording__kind__in=ANALYSED_KINDS,
            status__in=[Segment.Status.DONE, Segment.Status.FAILED, Segment.Status.STORED,
                        Segment.Status.QUEUED])
        ids = list(segments.values_list("pk", flat=True))
        segments.update(status=Segment.Status.STORED, error="", task_attempts=0,
                        updated_at=timezone.now())
        audit_record(actor=actor, action=AuditEntry.Action.ADMIN, target=attempt,
                     context_id=attempt.exam.context_id,
                     detail={"event": "analysis_rerun", "segments": len(ids)})

        def send() -> None:
            from proctor_lti.recordings.services import segments_enqueue

            segments_enqueue(segment_ids=ids)

        transaction.on_commit(send)
    return len(ids)


def attempt_flags_rederive(*, attempt: Attempt, actor: Any) -> None:
    """Re-run only the flag rules over the stored observations (no model runs)."""
    audit_record(actor=actor, action=AuditEntry.Action.ADMIN, target=attempt,
                 context_id=attempt.exam.context_id, detail={"event": "flags_rederive"})
    from proctor_lti.recordings.services import aggregate_enqueue

    transaction.on_commit(lambda: aggregate_enqueue(attempt_id=attempt.pk))
