"""Background calls to LTI services (thin: the work is in roster.py / service_clients.py)."""

from __future__ import annotations

import logging

from celery import shared_task

from .models import Context
from .roster import roster_sync
from .service_clients import LtiServiceError

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=3, acks_late=True, soft_time_limit=300, time_limit=360)
def lti_roster_sync(self, context_id: int) -> None:  # type: ignore[no-untyped-def]
    """Refresh a course roster from NRPS; retries only transient platform failures."""
    context = Context.objects.select_related("platform").filter(pk=context_id).first()
    if context is None or not context.nrps_url:
        return
    try:
        roster_sync(context)
    except LtiServiceError as exc:
        if exc.transient and self.request.retries < self.max_retries:
            raise self.retry(exc=exc, countdown=30 * 2**self.request.retries) from exc
        logger.warning("roster sync for context %s failed: %s", context_id, exc.message)
