"""Deep linking (LtiDeepLinkingRequest -> LtiDeepLinkingResponse): place an exam in a course.

The validated deep-linking settings stay on the server (cache, keyed by the launch id) between
the picker page and the response; the browser only carries the launch id, and the response is
bound to the instructor who launched.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from django.utils.translation import gettext as _

from proctor_lti.core.errors import UserFacingError

from .launch_data import LaunchData
from .models import Context, Platform
from .signing import sign_tool_jwt

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
LTI_DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
SETTINGS_CLAIM = LTI_DL + "deep_linking_settings"
MSG_RESPONSE = "LtiDeepLinkingResponse"
# An instructor may take a while to fill the form; the platform's own dialog outlives this.
STASH_TTL_SECONDS = 3600


@dataclass(frozen=True)
class DeepLinkingStash:
    """What the response needs, kept server-side between the picker page and the response."""

    launch_id: str
    platform_id: int
    deployment_id: str
    context_id: int
    user_id: int
    return_url: str
    data: Any  # deep_linking_settings.data, echoed untouched (absent -> None)
    has_data: bool
    accept_multiple: bool
    title: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _key(launch_id: str) -> str:
    return f"lti:deep-linking:{launch_id}"


def deep_linking_stash(launch: LaunchData) -> DeepLinkingStash:
    """Validate the deep-linking settings of `launch` and keep them server-side."""
    settings_claim = launch.claims.get(SETTINGS_CLAIM)
    if not isinstance(settings_claim, dict) or not settings_claim.get("deep_link_return_url"):
        raise UserFacingError(
            _("The platform sent a content selection request without its return address."),
            hint=_("Try adding the tool again."),
            code="lti_deep_linking_settings",
        )
    accept_types = settings_claim.get("accept_types") or ["ltiResourceLink"]
    if "ltiResourceLink" not in accept_types:
        raise UserFacingError(
            _("This placement in the platform does not accept exam links."),
            hint=_("Add the proctoring tool from an assignment or module instead."),
            code="lti_deep_linking_types",
        )
    if launch.context is None:
        raise UserFacingError(
            _("Exams can only be added inside a course."), code="lti_deep_linking_no_context"
        )
    stash = DeepLinkingStash(
        launch_id=launch.launch_id or uuid.uuid4().hex,
        platform_id=launch.platform.pk,
        deployment_id=launch.deployment.deployment_id,
        context_id=launch.context.pk,
        user_id=launch.identity.user_id,
        return_url=str(settings_claim["deep_link_return_url"]),
        data=settings_claim.get("data"),
        has_data="data" in settings_claim,
        accept_multiple=bool(settings_claim.get("accept_multiple", True)),
        title=str(settings_claim.get("title") or ""),
    )
    cache.set(_key(stash.launch_id), stash.to_dict(), STASH_TTL_SECONDS)
    return stash


def deep_linking_load(launch_id: str, *, user_id: int | None) -> DeepLinkingStash:
    """The stash of `launch_id`, only for the user who launched it."""
    raw = cache.get(_key(launch_id)) if launch_id else None
    if raw is None:
        raise UserFacingError(
            _("This exam selection has expired."),
            hint=_("Close this window and start adding the exam again."),
            code="lti_deep_linking_expired",
            status=410,
        )
    stash = DeepLinkingStash(**raw)
    if stash.user_id != user_id:
        raise UserFacingError(
            _("This exam selection belongs to someone else."),
            code="lti_deep_linking_forbidden",
            status=403,
        )
    return stash


def deep_linking_forget(launch_id: str) -> None:
    cache.delete(_key(launch_id))


def launch_url() -> str:
    """Our launch URL as platforms must store it (absolute, from SITE_URL)."""
    return settings.SITE_URL + reverse("lti:launch")


def exam_content_item(exam: Any) -> dict[str, Any]:
    """The ltiResourceLink item for `exam`: our launch URL with custom exam_id, and for
    LTI Proctoring Services exams `proctoring_services=1` (the platform administrator then
    turns proctoring on for that link; the development LMS does it from this flag)."""
    custom = {"exam_id": str(exam.pk)}
    if getattr(exam, "delivery", None) == "lti_proctoring":
        custom["proctoring_services"] = "1"
    return {
        "type": "ltiResourceLink",
        "title": exam.title,
        "url": launch_url(),
        "custom": custom,
    }


def deep_linking_response_jwt(
    stash: DeepLinkingStash, *, items: list[dict[str, Any]], message: str = ""
) -> str:
    """The signed LtiDeepLinkingResponse for `stash` carrying `items` (may be empty)."""
    platform = Platform.objects.get(pk=stash.platform_id)
    claims: dict[str, Any] = {
        LTI + "message_type": MSG_RESPONSE,
        LTI + "version": "1.3.0",
        LTI + "deployment_id": stash.deployment_id,
        LTI_DL + "content_items": items,
    }
    if stash.has_data:
        claims[LTI_DL + "data"] = stash.data
    if message:
        claims[LTI_DL + "msg"] = message
    return sign_tool_jwt(claims, platform=platform)


def exams_of_context(context_id: int) -> list[Any]:
    from proctor_lti.exams.models import Exam

    return list(Exam.objects.filter(context_id=context_id).order_by("title", "pk"))


def deep_linking_exam_create(
    *, context: Context, title: str, delivery: str, preset: str = "minimal", actor: Any = None
) -> Any:
    """Create the exam an instructor asked for in the picker (the exam flow's service)."""
    from proctor_lti.exams.services import exam_create

    return exam_create(context=context, title=title, delivery=delivery, preset=preset, actor=actor)
