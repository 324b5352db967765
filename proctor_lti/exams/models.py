"""Exams, their settings, accommodations, attempts and the exam agreement.

PII: Attempt (who, when, IP/browser of the agreement), Accommodation (reasons may be
sensitive), AttemptEvent (behaviour during the exam). Retention: media follows
Exam.retention_days; these rows are kept with the attempt until the course data is purged.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.db import models

from proctor_lti.core import sealing
from proctor_lti.core.models import TimeStampedModel
from proctor_lti.lti.models import Context, ResourceLink


class Exam(TimeStampedModel):
    class Delivery(models.TextChoices):
        PROCTORING_SERVICES = "lti_proctoring", "LTI Proctoring Services (Open edX, Blackboard)"
        ACCESS_CODE = "access_code", "Access-code gate (Canvas, Moodle, Cirrus, any web exam)"

    context = models.ForeignKey(Context, on_delete=models.CASCADE, related_name="exams")
    resource_link = models.OneToOneField(
        ResourceLink, null=True, blank=True, on_delete=models.SET_NULL, related_name="exam"
    )
    title = models.CharField(max_length=255)
    delivery = models.CharField(
        max_length=20, choices=Delivery.choices, default=Delivery.ACCESS_CODE
    )
    # Access-code gate: where the exam lives and the code that opens it (revealed only
    # inside an active, recording session).
    exam_url = models.URLField(max_length=1000, blank=True)
    access_code = models.CharField(max_length=255, blank=True)
    lms_assignment_id = models.CharField(max_length=255, blank=True)
    duration_minutes = models.PositiveIntegerField(null=True, blank=True)
    # Settings groups, validated by exams.settings_schema; presets fill them.
    preset = models.CharField(max_length=20, default="minimal")
    recording = models.JSONField(default=dict, blank=True)
    verification = models.JSONField(default=dict, blank=True)
    lockdown = models.JSONField(default=dict, blank=True)
    tools = models.JSONField(default=dict, blank=True)
    # metric name (exams.vocabulary.BEHAVIOUR_METRICS) -> weight 0..5; editable after lock.
    behaviour_weights = models.JSONField(default=dict, blank=True)
    retention_days = models.PositiveIntegerField(default=30)
    students_see_own_flags = models.BooleanField(default=False)
    # Set when the first student starts: recording and verification settings freeze.
    settings_locked_at = models.DateTimeField(null=True, blank=True)
    # Access-code gate with the Canvas API: when the exam window closes the code is rotated.
    window_closes_at = models.DateTimeField(null=True, blank=True)
    access_code_set_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.title


class Accommodation(TimeStampedModel):
    """Per-student changes to an exam, with who granted them, when and why."""

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="accommodations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="accommodations"
    )
    exempt_checks = models.JSONField(default=list, blank=True)
    extra_time_minutes = models.PositiveIntegerField(default=0)
    alternate_settings = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["exam", "user"], name="uniq_accommodation")]


class AgreementVersion(TimeStampedModel):
    """Institution-editable exam agreement text; a new version for every change."""

    version = models.PositiveIntegerField(unique=True)
    title = models.CharField(max_length=200, default="Exam agreement")
    text = models.TextField()
    is_current = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"Agreement v{self.version}"


def new_upload_secret() -> str:
    return secrets.token_urlsafe(32)


class Attempt(TimeStampedModel):
    """One student's sitting of one exam. Only exams.services.attempt_transition changes status."""

    class Status(models.TextChoices):
        CREATED = "created"
        PRECHECKS = "prechecks"
        READY = "ready"
        IN_PROGRESS = "in_progress"
        SUBMITTED = "submitted"
        ANALYSING = "analysing"
        REVIEWABLE = "reviewable"
        REVIEWED = "reviewed"
        INTERRUPTED = "interrupted"
        TERMINATED = "terminated"
        ERROR = "error"

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="attempts")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attempts"
    )
    number = models.PositiveIntegerField(default=1)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.CREATED, db_index=True
    )
    status_changed_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Per-attempt secret from which short-lived upload tokens are derived (recordings app).
    upload_secret = models.CharField(max_length=64, default=new_upload_secret)
    precheck_results = models.JSONField(default=dict, blank=True)
    # LTI Proctoring Services: what the platform sent with LtiStartProctoring.
    lti_session_data = models.TextField(blank=True)
    lti_attempt_number = models.PositiveIntegerField(null=True, blank=True)
    lti_start_assessment_url = models.URLField(max_length=1000, blank=True)
    lti_acs_url = models.URLField(max_length=1000, blank=True)
    lti_return_url = models.URLField(max_length=1000, blank=True)
    # Cached by review.services; recalculated when weights or flags change.
    suspicion_score = models.FloatField(null=True, blank=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["exam", "user", "number"], name="uniq_attempt_number")
        ]
        indexes = [models.Index(fields=["exam", "status"])]

    def __str__(self) -> str:
        return f"{self.exam} / {self.user} #{self.number}"


S = Attempt.Status
# The attempt status machine: exams.services.attempt_transition is the only writer of status
# and refuses any move not listed here. Network drops never move an attempt: a live attempt
# only leaves in_progress by the student ending it, an instructor, or an error.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.CREATED: frozenset({S.PRECHECKS, S.READY, S.TERMINATED, S.ERROR}),
    S.PRECHECKS: frozenset({S.READY, S.INTERRUPTED, S.TERMINATED, S.ERROR}),
    S.READY: frozenset({S.IN_PROGRESS, S.PRECHECKS, S.INTERRUPTED, S.TERMINATED, S.ERROR}),
    S.IN_PROGRESS: frozenset({S.SUBMITTED, S.INTERRUPTED, S.TERMINATED, S.ERROR}),
    S.INTERRUPTED: frozenset({S.IN_PROGRESS, S.PRECHECKS, S.SUBMITTED, S.TERMINATED, S.ERROR}),
    S.SUBMITTED: frozenset({S.ANALYSING, S.ERROR}),
    S.TERMINATED: frozenset({S.ANALYSING, S.ERROR}),
    S.ANALYSING: frozenset({S.REVIEWABLE, S.ERROR}),
    S.REVIEWABLE: frozenset({S.REVIEWED, S.ANALYSING}),
    S.REVIEWED: frozenset({S.REVIEWABLE}),
    S.ERROR: frozenset({S.ANALYSING}),
}
# Statuses in which the student is (or may get back) inside the attempt.
LIVE_STATUSES = frozenset({S.CREATED, S.PRECHECKS, S.READY, S.IN_PROGRESS, S.INTERRUPTED})
ENDED_STATUSES = frozenset(set(Attempt.Status) - LIVE_STATUSES)
del S


class AgreementAcceptance(models.Model):
    attempt = models.OneToOneField(Attempt, on_delete=models.CASCADE, related_name="agreement")
    version = models.ForeignKey(AgreementVersion, on_delete=models.PROTECT)
    accepted_at = models.DateTimeField(auto_now_add=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.attempt} accepted v{self.version.version}"


class AttemptEvent(models.Model):
    """A lockdown event or heartbeat from the browser, idempotent by client event id."""

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="events")
    client_event_id = models.CharField(max_length=64)
    type = models.CharField(max_length=40, db_index=True)
    occurred_at = models.DateTimeField()
    # Seconds since the attempt started, for the timeline.
    offset_s = models.FloatField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["attempt", "client_event_id"], name="uniq_event")
        ]
        ordering = ["occurred_at"]

    def __str__(self) -> str:
        return f"{self.type} at {self.occurred_at:%H:%M:%S}"


# --- Added by the exam flow -------------------------------------------------------------


class AttemptSession(models.Model):
    """Live state of an attempt's proctored session (heartbeat, browser session, re-entry).

    Kept out of Attempt so the hot heartbeat write touches a tiny row. PII: none beyond the
    attempt link. Retention: with the attempt.
    """

    attempt = models.OneToOneField(Attempt, on_delete=models.CASCADE, related_name="session")
    session_key = models.CharField(max_length=64, blank=True)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    entries = models.PositiveIntegerField(default=0)
    fullscreen_away_s = models.FloatField(default=0.0)

    def __str__(self) -> str:
        return f"session of {self.attempt}"


class ReentryApproval(TimeStampedModel):
    """An instructor's permission for one student to re-enter (or re-take) an exam once."""

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="reentry_approvals")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    used_at = models.DateTimeField(null=True, blank=True)


class PrecheckFrame(TimeStampedModel):
    """A camera-test or photo-ID still waiting for the server-side face check.

    PII: a face image. Retention: the image is erased as soon as the check has run (the
    photo ID kept for review travels through the recordings upload, encrypted).
    """

    class Kind(models.TextChoices):
        CAMERA = "camera"
        PHOTO_ID = "photo_id"

    class State(models.TextChoices):
        PENDING = "pending"
        DONE = "done"
        FAILED = "failed"

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="precheck_frames")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    image = models.BinaryField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    result = models.JSONField(default=dict, blank=True)


class StudentPreference(models.Model):
    """Per-user display preferences remembered across exams (high visibility)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="exam_preferences"
    )
    high_visibility = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"preferences of {self.user}"


class CanvasQuizAccess(TimeStampedModel):
    """Optional Canvas REST API access for one course, to set and rotate quiz access codes.

    The token is write-only in every form and in admin, and sealed with the master key in the
    database (core.sealing): assign the plain token, read it with `api_token_plain()`.
    """

    TOKEN_PURPOSE = "canvas-api-token"  # noqa: S105 - a label for sealing, not a secret

    context = models.OneToOneField(
        Context, on_delete=models.CASCADE, related_name="canvas_quiz_access"
    )
    api_token = models.TextField()
    last_error = models.TextField(blank=True)

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.api_token and not sealing.is_sealed(self.api_token):
            self.api_token = sealing.seal(self.api_token, purpose=self.TOKEN_PURPOSE)
        super().save(*args, **kwargs)

    def api_token_plain(self) -> str:
        return sealing.unseal(self.api_token, purpose=self.TOKEN_PURPOSE)
