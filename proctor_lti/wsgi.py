import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proctor_lti.settings")
django_application = get_wsgi_application()

from proctor_lti.celery import client_warm  # noqa: E402 - needs the settings
from proctor_lti.recordings.upload_lane import with_upload_lane  # noqa: E402

# Students' uploads take a short middleware chain (recordings/upload_lane.py).
application = with_upload_lane(django_application)
client_warm()
