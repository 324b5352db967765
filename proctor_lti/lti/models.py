"""LTI 1.3 registrations, the tool's own keys, and who is who in which course.

PII: LtiIdentity (name, email from the platform) and Membership. Retention: identities live
as long as their platform registration; memberships are refreshed at each launch.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from proctor_lti.core.models import TimeStampedModel


class Platform(TimeStampedModel):
    """One registration of this tool in one LMS (issuer + client_id)."""

    name = models.CharField(max_length=200)
    issuer = models.URLField(max_length=500)
    client_id = models.CharField(max_length=255)
    auth_login_url = models.URLField(max_length=500)
    auth_token_url = models.URLField(max_length=500)
    key_set_url = models.URLField(max_length=500)
    # Optional audience for service tokens when it differs from the token URL (Moodle, Brightspace).
    auth_audience = models.CharField(max_length=500, blank=True)
    # Origins allowed to frame the tool (CSP frame-ancestors); derived from issuer if empty.
    frame_origins = models.JSONField(default=list, blank=True)
    # Canvas REST API access for setting quiz access codes (optional, per platform).
    canvas_api_base_url = models.URLField(max_length=500, blank=True)
    is_active = models.BooleanField(default=True)
    # Off by default: an unknown deployment_id is refused until an admin adds it. Some LMSs
    # create deployments only at first launch (Canvas Dynamic Registration); an admin may then
    # let the first launch of a new deployment register it.
    auto_add_deployments = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "client_id"], name="uniq_platform_iss_client")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.issuer}, {self.client_id})"


class Deployment(TimeStampedModel):
    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="deployments")
    deployment_id = models.CharField(max_length=255)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["platform", "deployment_id"], name="uniq_deployment")
        ]

    def __str__(self) -> str:
        return f"{self.platform.name} / {self.deployment_id}"


class ToolKey(TimeStampedModel):
    """An RSA key pair the tool signs with. States: next -> active -> retired.

    The JWKS publishes `next` and `active` keys so platforms can cache the next key before we
    sign with it. The private key never leaves this table (not in admin, logs or fixtures).
    """

    class State(models.TextChoices):
        NEXT = "next"
        ACTIVE = "active"
        RETIRED = "retired"

    kid = models.CharField(max_length=64, unique=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.NEXT,
                             db_index=True)
    # The PKCS#8 PEM sealed with the master key (core.sealing): a database dump alone cannot
    # sign as the tool. Read it through keys.tool_private_pem().
    private_key_sealed = models.TextField()
    public_jwk = models.JSONField()
    activated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.kid} ({self.state})"


class UsedNonce(models.Model):
    """An id_token nonce that has been consumed; the unique row makes replay impossible."""

    issuer = models.CharField(max_length=500)
    nonce = models.CharField(max_length=255)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "nonce"], name="uniq_nonce")]

    def __str__(self) -> str:
        return f"nonce from {self.issuer}"


class LtiIdentity(TimeStampedModel):
    """A platform user (issuer + sub) bound to a local Django user."""

    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="identities")
    sub = models.CharField(max_length=255)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="lti_identity")
    name = models.CharField(max_length=255, blank=True)
    email = models.EmailField(blank=True)
    # LMS-side ids useful to humans and to LMS APIs (e.g. $Canvas.user.id).
    lms_user_id = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform", "sub"], name="uniq_identity")]

    def __str__(self) -> str:
        return self.name or self.sub


class Context(TimeStampedModel):
    """A course (LTI context) on one platform. Every permission is scoped to a context."""

    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="contexts")
    deployment = models.ForeignKey(Deployment, null=True, blank=True, on_delete=models.SET_NULL)
    context_id = models.CharField(max_length=255)
    title = models.CharField(max_length=255, blank=True)
    label = models.CharField(max_length=255, blank=True)
    # Names and Role Provisioning Service endpoint from the launch, for the roster.
    nrps_url = models.URLField(max_length=500, blank=True)
    lms_course_id = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["platform", "context_id"], name="uniq_context")
        ]

    def __str__(self) -> str:
        return self.title or self.context_id


class Membership(TimeStampedModel):
    """A user's role in one context, as last asserted by a launch (or the NRPS roster)."""

    class Role(models.TextChoices):
        LEARNER = "learner"
        STAFF = "staff"  # instructor, teaching assistant, content developer
        ADMIN = "admin"  # platform/institution administrator

    context = models.ForeignKey(Context, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="lti_memberships")
    role = models.CharField(max_length=10, choices=Role.choices)
    lti_roles = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["context", "user"], name="uniq_membership")
        ]


class ResourceLink(TimeStampedModel):
    """A placement of the tool in a course (one LTI resource link)."""

    context = models.ForeignKey(Context, on_delete=models.CASCADE, related_name="resource_links")
    resource_link_id = models.CharField(max_length=255)
    title = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["context", "resource_link_id"], name="uniq_rlink")
        ]

    def __str__(self) -> str:
        return self.title or self.resource_link_id
