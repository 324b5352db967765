"""What a validated launch hands to the rest of the tool.

The lti app validates the id_token, upserts platform-side objects (identity, context,
membership, resource link), logs the user in, then calls
`proctor_lti.exams.entry.handle_launch(request, launch)` which decides where to go.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .models import Context, Deployment, LtiIdentity, Membership, Platform, ResourceLink

MSG_RESOURCE_LINK = "LtiResourceLinkRequest"
MSG_DEEP_LINKING = "LtiDeepLinkingRequest"
MSG_START_PROCTORING = "LtiStartProctoring"
MSG_END_ASSESSMENT = "LtiEndAssessment"


@dataclass(frozen=True)
class ProctoringClaims:
    """LTI Proctoring Services claims (https://purl.imsglobal.org/spec/lti-ap/claim/...)."""

    start_assessment_url: str = ""
    session_data: str = ""
    attempt_number: int | None = None
    acs_url: str = ""
    acs_actions: tuple[str, ...] = ()
    proctoring_settings: str = ""
    return_url: str = ""
    error_message: str = ""


@dataclass(frozen=True)
class LaunchData:
    message_type: str
    platform: Platform
    deployment: Deployment
    identity: LtiIdentity
    context: Context | None
    membership: Membership | None
    resource_link: ResourceLink | None
    role: str  # Membership.Role value, or "" when the platform sent no usable role
    custom: dict[str, Any] = field(default_factory=dict)
    claims: dict[str, Any] = field(default_factory=dict)  # the whole validated payload
    proctoring: ProctoringClaims | None = None
    launch_id: str = ""  # key of the cached launch (deep linking responses need it)

    @property
    def is_staff_role(self) -> bool:
        return self.role in ("staff", "admin")
