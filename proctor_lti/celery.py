"""The Celery application: Redis broker in production, filesystem transport in the demo."""

import logging
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proctor_lti.settings")

app = Celery("proctor_lti")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def client_warm() -> None:
    """Import the broker transport and build the producer pool and result backend now.

    Called once per web process at start (wsgi.py). Otherwise the first segment that an
    upload completes pays about 0.2 s of imports. That happens in every web process at about
    the same moment, in the exam's first minute. Nothing connects here, so a broker that is
    down does not delay the start.
    """
    try:
        app.connection_for_write().transport  # noqa: B018 - resolves the transport class
        app.amqp.producer_pool  # noqa: B018
        app.backend  # noqa: B018
    except Exception:  # a bad broker URL: the first real send reports it, with context
        logging.getLogger(__name__).warning("could not prepare the broker client", exc_info=True)
