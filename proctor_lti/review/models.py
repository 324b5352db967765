"""Flags, their evidence and the reviewer's decisions.

PII: flags and evidence thumbnails describe a student's behaviour; thumbnails are stored
encrypted like the media and purged with it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from proctor_lti.core.models import TimeStampedModel
from proctor_lti.exams.models import Attempt


class Flag(TimeStampedModel):
    """A time-stamped observation that explains itself. A person decides what it means."""

    class Source(models.TextChoices):
        DETECTION = "detection"
        LOCKDOWN = "lockdown"

    class Decision(models.TextChoices):
        OPEN = "open"
        CONFIRMED = "confirmed"
        DISMISSED = "dismissed"

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="flags")
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.DETECTION)
    type = models.CharField(max_length=40, db_index=True)
    start_s = models.FloatField()
    end_s = models.FloatField()
    confidence = models.FloatField(default=1.0)
    # Rule, threshold, observed duration, model and version, evidence timestamps.
    explanation = models.JSONField(default=dict)
    decision = models.CharField(max_length=12, choices=Decision.choices, default=Decision.OPEN)
    reason_code = models.CharField(max_length=40, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["start_s"]
        indexes = [models.Index(fields=["attempt", "type"])]


class Evidence(models.Model):
    """An encrypted thumbnail backing a flag."""

    flag = models.ForeignKey(Flag, on_delete=models.CASCADE, related_name="evidence")
    at_s = models.FloatField()
    storage_name = models.CharField(max_length=500)
    # The label its ciphertext is bound to (crypto.aad_for(attempt_id, label)).
    aad_label = models.CharField(max_length=200, blank=True)
    mime_type = models.CharField(max_length=50, default="image/jpeg")

    def __str__(self) -> str:
        return f"evidence of flag {self.flag_id} at {self.at_s:.1f} s"


class AttemptReview(TimeStampedModel):
    class Outcome(models.TextChoices):
        NONE = "", "Not reviewed"
        NO_ISSUE = "no_issue", "No issue"
        FOLLOW_UP = "follow_up", "Needs follow-up"
        INCIDENT = "incident", "Incident"

    attempt = models.OneToOneField(Attempt, on_delete=models.CASCADE, related_name="review")
    outcome = models.CharField(max_length=12, choices=Outcome.choices, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)


class ReviewNote(models.Model):
    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="review_notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"note on attempt {self.attempt_id} by {self.author}"


class AttemptScore(models.Model):
    """The cached score of one attempt with its explanation (review.scoring.Score.to_dict()).

    Attempt.suspicion_score mirrors `value` so lists sort on an indexed column.
    """

    attempt = models.OneToOneField(Attempt, on_delete=models.CASCADE, related_name="score")
    value = models.FloatField()
    band = models.CharField(max_length=8)
    parts = models.JSONField(default=list)
    exam_minutes = models.FloatField(default=0)
    # The weights the score was computed with, so a reader can tell if it is stale.
    weights = models.JSONField(default=dict)
    computed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.value:.0f} % ({self.band})"


class AttemptOperations(Attempt):
    """Admin view of attempts for operators: re-run analysis, purge media, extend retention."""

    class Meta:
        proxy = True
        verbose_name = "attempt (media and analysis)"
        verbose_name_plural = "attempts (media and analysis)"
