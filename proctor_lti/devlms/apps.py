from django.apps import AppConfig


class DevlmsConfig(AppConfig):
    name = "proctor_lti.devlms"
    label = "devlms"
    default_auto_field = "django.db.models.BigAutoField"
