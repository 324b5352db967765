"""The periodic sweep: catch up on everything a broker outage or a lost message left."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q

from .analysis import PENDING, attempt_aggregate_if_ready
from .models import AttemptVault, Segment
from .services import ANALYSED_KINDS, segments_enqueue
from .tasks import HARD_LIMIT


def sweep(*, now: datetime, stale_after: timedelta) -> dict[str, int]:
    """Enqueue STORED segments, re-queue stale QUEUED/ANALYSING ones, finish aggregations.

    Re-sending a segment that is in fact still queued costs one quick no-op task (the
    analysis service skips DONE segments), so erring on the side of re-sending is safe.
    """
    webcam = Segment.objects.filter(recording__kind__in=ANALYSED_KINDS)
    stale = webcam.filter(
        Q(status=Segment.Status.QUEUED, queued_at__lt=now - stale_after)
        | Q(status=Segment.Status.ANALYSING,
            updated_at__lt=now - timedelta(seconds=HARD_LIMIT) - stale_after))
    requeued = stale.update(status=Segment.Status.STORED)
    stored = list(webcam.filter(status=Segment.Status.STORED).values_list("pk", flat=True))
    sent = segments_enqueue(segment_ids=stored)
    aggregated = 0
    # Only recent attempts: older ones have long been aggregated or need a person anyway.
    waiting = AttemptVault.objects.filter(finalised_at__gt=now - timedelta(days=7),
                                          purged_at__isnull=True) \
        .filter(Q(aggregated_at__isnull=True) | Q(aggregated_at__lt=now - stale_after))
    for vault in waiting.only("attempt_id", "aggregated_at"):
        if vault.aggregated_at is not None and not Segment.objects.filter(
                recording__attempt_id=vault.attempt_id, analysed_at__gt=vault.aggregated_at
        ).exists():
            continue
        if not Segment.objects.filter(recording__attempt_id=vault.attempt_id,
                                      recording__kind__in=ANALYSED_KINDS,
                                      status__in=PENDING).exists():
            aggregated += int(attempt_aggregate_if_ready(attempt_id=vault.attempt_id))
    finalised = _finalise_missed(now=now, stale_after=stale_after)
    return {"stored": len(stored), "sent": sent, "requeued": requeued, "aggregations": aggregated,
            "finalised": finalised}


def _finalise_missed(*, now: datetime, stale_after: timedelta) -> int:
    """Attempts that ended but whose finalisation failed (it runs right after the end, in the
    request: a database blip there would otherwise leave them 'analysing' for ever)."""
    from proctor_lti.exams.models import Attempt

    from .services import attempt_finalise

    ended = Attempt.objects.filter(
        status__in=[Attempt.Status.SUBMITTED, Attempt.Status.TERMINATED],
        ended_at__lt=now - stale_after, ended_at__gt=now - timedelta(days=7),
        vault__finalised_at__isnull=True,  # also true when the attempt has no vault yet
    )
    count = 0
    for attempt in ended.select_related("exam"):
        attempt_finalise(attempt=attempt)
        count += 1
    return count
