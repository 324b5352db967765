from django.apps import AppConfig


class RecordingsConfig(AppConfig):
    name = "proctor_lti.recordings"
    label = "recordings"
    default_auto_field = "django.db.models.BigAutoField"
