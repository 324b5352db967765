"""State of the built-in development LMS (dev-only; never used in production).

It is a real LTI 1.3 platform living inside the project so a newcomer (and the browser tests)
can launch the tool with no Canvas at hand. It keeps its own signing key, its course links,
LTI Proctoring Services sessions and the Assessment Control Service calls it received.

PII: none real. The demo roster is made-up names defined in `platform.py`.
Retention: dev data; `manage.py flush` or deleting var/ removes it.
"""

from __future__ import annotations

from django.db import models


class DevLmsConfig(models.Model):
    """Where the dev LMS lives and which tool registration it launches (one row, from seed_demo)."""

    issuer = models.URLField(max_length=500)
    tool_url = models.URLField(max_length=500)
    client_id = models.CharField(max_length=255)
    deployment_id = models.CharField(max_length=255)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"dev LMS {self.issuer} -> {self.tool_url}"


class DevLmsKey(models.Model):
    """The dev platform's RSA signing key, generated at first use (never committed)."""

    kid = models.CharField(max_length=64, unique=True)
    private_key_pem = models.TextField()
    public_jwk = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.kid


class DevCourseLink(models.Model):
    """A placement of the tool in the demo course (seeded, or created by deep linking)."""

    class Kind(models.TextChoices):
        RESOURCE = "resource", "Resource link"
        PROCTORING = "proctoring", "Proctored assessment (LTI Proctoring Services)"

    resource_link_id = models.CharField(max_length=255, unique=True)
    title = models.CharField(max_length=255)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.RESOURCE)
    # The tool URL returned by deep linking (target_link_uri); blank = the tool's launch URL.
    url = models.URLField(max_length=1000, blank=True)
    custom = models.JSONField(default=dict, blank=True)
    from_deep_linking = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.title


class DevQuiz(models.Model):
    """A tiny web exam protected by an access code (the access-code gate's other half)."""

    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=255)
    access_code = models.CharField(max_length=255)

    def __str__(self) -> str:
        return self.title


class DevProctoringSession(models.Model):
    """One LtiStartProctoring attempt: what the platform sent and what came back."""

    class Status(models.TextChoices):
        LAUNCHED = "launched"  # LtiStartProctoring sent, waiting for LtiStartAssessment
        RUNNING = "running"
        PAUSED = "paused"
        TERMINATED = "terminated"
        COMPLETE = "complete"

    link = models.ForeignKey(DevCourseLink, on_delete=models.CASCADE, related_name="sessions")
    user_key = models.CharField(max_length=64)
    attempt_number = models.PositiveIntegerField()
    session_data = models.CharField(max_length=128, unique=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.LAUNCHED)
    end_assessment_return = models.BooleanField(default=False)
    verified_user = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["link", "user_key", "attempt_number"],
                                    name="uniq_dev_proctoring_attempt")
        ]

    def __str__(self) -> str:
        return f"{self.link} / {self.user_key} #{self.attempt_number} ({self.status})"


class DevAcsAction(models.Model):
    """An Assessment Control Service request received from the tool."""

    session = models.ForeignKey(DevProctoringSession, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="acs_actions")
    action = models.CharField(max_length=20)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} at {self.received_at:%H:%M:%S}"
