"""Celery tasks: thin wrappers taking ids and calling services.

ml_* tasks are routed to the `ml` queue (settings.CELERY_TASK_ROUTES). They ack late, so a
worker killed mid-task leaves the message to be redelivered; services are idempotent, so a
redelivery gives one result. Only named transient errors are retried.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from .storage import StorageUnavailable

logger = logging.getLogger(__name__)

TRANSIENT = (StorageUnavailable, OperationalError, InterfaceError, ConnectionError)
SOFT_LIMIT = 600
HARD_LIMIT = 720


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, autoretry_for=TRANSIENT,
             retry_backoff=5, retry_backoff_max=300, retry_jitter=True, max_retries=6,
             soft_time_limit=SOFT_LIMIT, time_limit=HARD_LIMIT)
def ml_analyse_segment(self, segment_id: int) -> str:  # type: ignore[no-untyped-def]
    from .analysis import _finish, segment_analyse
    from .models import Segment

    try:
        return segment_analyse(segment_id=segment_id)
    except SoftTimeLimitExceeded:
        segment = Segment.objects.select_related("recording").filter(pk=segment_id).first()
        if segment is not None:
            _finish(segment, status=Segment.Status.FAILED,
                    error=f"analysis took longer than {SOFT_LIMIT} s")
        return "failed"


@shared_task(acks_late=True, reject_on_worker_lost=True, autoretry_for=TRANSIENT,
             retry_backoff=5, retry_jitter=True, max_retries=6, soft_time_limit=300,
             time_limit=360)
def ml_aggregate_attempt(attempt_id: int) -> int:
    from .analysis import attempt_aggregate

    return attempt_aggregate(attempt_id=attempt_id)


@shared_task(acks_late=True, ignore_result=True, soft_time_limit=50, time_limit=60)
def recordings_sweep() -> dict[str, int]:
    """Every minute: enqueue what a broker outage left behind (no analysis is lost)."""
    from .sweep import sweep

    stale = timedelta(seconds=int(getattr(settings, "RECORDINGS_SWEEP_STALE_SECONDS", 900)))
    return sweep(now=timezone.now(), stale_after=stale)


@shared_task(acks_late=True, ignore_result=True)
def recordings_purge_expired() -> int:
    from .retention import retention_purge_expired

    return retention_purge_expired()
