"""Cross-cutting models: the audit log every sensitive read or change writes to."""

from django.conf import settings
from django.db import models


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class AuditEntry(models.Model):
    """One line of the audit log: who did what to which object, and when.

    PII: actor and IP address. Retention: kept for the life of the installation (it is the
    record that media was viewed or deleted), exportable from admin.
    """

    class Action(models.TextChoices):
        VIEW_MEDIA = "view_media", "Viewed a recording"
        VIEW_EVIDENCE = "view_evidence", "Viewed evidence"
        REVIEW = "review", "Review action"
        SETTINGS_CHANGE = "settings_change", "Changed settings"
        ACCOMMODATION = "accommodation", "Changed an accommodation"
        PURGE = "purge", "Purged media"
        RETENTION = "retention", "Changed retention"
        EXPORT = "export", "Exported data"
        KEY = "key", "Key management"
        ADMIN = "admin", "Administrative action"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    action = models.CharField(max_length=32, choices=Action.choices)
    # What was touched, as "app.model:pk" so entries outlive deleted objects.
    target = models.CharField(max_length=200, db_index=True)
    context_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    detail = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.target}"
