"""The Celery application: Redis broker in production, filesystem transport in the demo."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proctor_lti.settings")

app = Celery("proctor_lti")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
