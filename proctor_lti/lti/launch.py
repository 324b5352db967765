"""After validation: who is this, in which course, with which role; then hand over.

`launch_complete` upserts the identity (and its Django user), the context, the membership and
the resource link, logs the user in (rotating the session), caches the validated launch by
`launch_id` (deep-linking responses and LtiStartAssessment are built from it later) and
returns the LaunchData for `proctor_lti.exams.entry.handle_launch`.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.core.cache import cache
from django.db import IntegrityError, models, transaction
from django.http import HttpRequest

from .launch_data import MSG_END_ASSESSMENT, MSG_START_PROCTORING, LaunchData, ProctoringClaims
from .models import Context, Deployment, LtiIdentity, Membership, Platform, ResourceLink
from .roles import role_from_lti
from .validation import LTI, LTI_AP

NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
LAUNCH_CACHE_SECONDS = 4 * 3600  # long enough for pre-checks before LtiStartAssessment
SESSION_LAUNCH_KEY = "lti_launch_id"


def _text(value: Any, limit: int = 255) -> str:
    return str(value)[:limit] if isinstance(value, (str, int)) else ""


def _upsert(model: Any, lookup: dict[str, Any], values: dict[str, Any]) -> Any:
    """get-or-create, then write only the fields that changed (most launches change nothing,
    so the common case is one SELECT and no write). Safe against a parallel first launch."""
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        try:
            with transaction.atomic():
                return model.objects.create(**lookup, **values)
        except IntegrityError:
            obj = model.objects.get(**lookup)
    changed = [name for name, value in values.items() if (
        getattr(obj, f"{name}_id") != value.pk if isinstance(value, models.Model)
        else getattr(obj, name) != value)]
    if changed:
        for name in changed:
            setattr(obj, name, values[name])
        obj.save(update_fields=[*changed, "updated_at"])
    return obj


def identity_upsert(*, platform: Platform, claims: dict[str, Any]) -> LtiIdentity:
    """The identity for (platform, sub), creating its Django user on first launch."""
    sub = claims["sub"]
    custom = claims.get(LTI + "custom") or {}
    fields = {
        "name": _text(claims.get("name")) or " ".join(
            _text(claims.get(k)) for k in ("given_name", "family_name") if claims.get(k)),
        "email": _text(claims.get("email"), 254) if "@" in str(claims.get("email", "")) else "",
        "lms_user_id": _text(custom.get("canvas_user_id") if isinstance(custom, dict) else ""),
    }
    identity = LtiIdentity.objects.select_related("user").filter(platform=platform, sub=sub).first()
    if identity is None:
        digest = hashlib.sha256(f"{platform.pk}:{sub}".encode()).hexdigest()[:24]
        try:
            with transaction.atomic():
                user = get_user_model().objects.create(username=f"lti-{platform.pk}-{digest}")
                user.set_unusable_password()
                user.save(update_fields=["password"])
                identity = LtiIdentity.objects.create(platform=platform, sub=sub, user=user,
                                                      **fields)
        except IntegrityError:  # a parallel first launch won the race
            identity = LtiIdentity.objects.select_related("user").get(platform=platform, sub=sub)
    changed = [name for name, value in fields.items()
               if value and getattr(identity, name) != value]
    if changed:
        for name in changed:
            setattr(identity, name, fields[name])
        identity.save(update_fields=[*changed, "updated_at"])
    user = identity.user
    first, last = _text(claims.get("given_name"), 150), _text(claims.get("family_name"), 150)
    if (first and user.first_name != first) or (last and user.last_name != last) or (
            fields["email"] and user.email != fields["email"]):
        user.first_name, user.last_name = first or user.first_name, last or user.last_name
        user.email = fields["email"] or user.email
        user.save(update_fields=["first_name", "last_name", "email"])
    return identity


def context_upsert(*, platform: Platform, deployment: Deployment,
                   claims: dict[str, Any]) -> Context:
    """The course. A launch without a context claim gets one per deployment."""
    claim = claims.get(LTI + "context") or {}
    custom = claims.get(LTI + "custom") or {}
    context_id = _text(claim.get("id")) if isinstance(claim, dict) else ""
    defaults: dict[str, Any] = {"deployment": deployment}
    if context_id:
        defaults.update(title=_text(claim.get("title")), label=_text(claim.get("label")))
    else:
        context_id = f"deployment:{deployment.deployment_id}"[:255]
    nrps = claims.get(NRPS) or {}
    if isinstance(nrps, dict) and isinstance(nrps.get("context_memberships_url"), str):
        defaults["nrps_url"] = nrps["context_memberships_url"][:500]
    if isinstance(custom, dict) and custom.get("canvas_course_id"):
        defaults["lms_course_id"] = _text(custom["canvas_course_id"])
    return _upsert(Context, {"platform": platform, "context_id": context_id}, defaults)


def membership_upsert(*, context: Context, user: Any, role: str,
                      lti_roles: list[str]) -> Membership | None:
    """The user's role in this context as this launch asserts it (the latest launch wins).

    A launch granting no usable role removes the membership: rights are never kept from an
    older launch the platform no longer vouches for.
    """
    if not role:
        Membership.objects.filter(context=context, user=user).delete()
        return None
    return _upsert(Membership, {"context": context, "user": user},
                   {"role": role, "lti_roles": lti_roles[:50]})


def resource_link_upsert(*, context: Context, claims: dict[str, Any]) -> ResourceLink | None:
    claim = claims.get(LTI + "resource_link")
    if not isinstance(claim, dict) or not claim.get("id"):
        return None
    return _upsert(ResourceLink, {"context": context, "resource_link_id": _text(claim["id"])},
                   {"title": _text(claim.get("title"))})


def proctoring_claims(claims: dict[str, Any]) -> ProctoringClaims:
    acs = claims.get(LTI_AP + "acs") or {}
    settings_claim = claims.get(LTI_AP + "proctoring_settings") or {}
    presentation = claims.get(LTI + "launch_presentation") or {}
    attempt = claims.get(LTI_AP + "attempt_number")
    return ProctoringClaims(
        start_assessment_url=_text(claims.get(LTI_AP + "start_assessment_url"), 2000),
        session_data=str(claims.get(LTI_AP + "session_data") or ""),
        attempt_number=int(attempt) if attempt is not None else None,
        acs_url=_text(acs.get("assessment_control_url"), 2000) if isinstance(acs, dict) else "",
        acs_actions=tuple(a for a in (acs.get("actions") or []) if isinstance(a, str))
        if isinstance(acs, dict) else (),
        proctoring_settings=str(settings_claim.get("data") or "")
        if isinstance(settings_claim, dict) else "",
        return_url=_text(presentation.get("return_url"), 2000)
        if isinstance(presentation, dict) else "",
        error_message=_text(claims.get(LTI_AP + "errormsg"), 2000),
    )


@transaction.atomic
def launch_complete(*, request: HttpRequest, platform: Platform,
                    claims: dict[str, Any]) -> LaunchData:
    """Upsert everything the launch says, log the user in, cache it, return LaunchData.

    One transaction: the launch's writes land together (and cost one commit, not seven).
    """
    message_type = claims[LTI + "message_type"]
    deployment = Deployment.objects.get(platform=platform,
                                        deployment_id=claims[LTI + "deployment_id"])
    identity = identity_upsert(platform=platform, claims=claims)
    context = context_upsert(platform=platform, deployment=deployment, claims=claims)
    lti_roles = [r for r in (claims.get(LTI + "roles") or []) if isinstance(r, str)]
    role = role_from_lti(lti_roles)
    if not role and message_type in (MSG_START_PROCTORING, MSG_END_ASSESSMENT):
        role = Membership.Role.LEARNER  # proctoring messages may carry no roles: the taker
    membership = membership_upsert(context=context, user=identity.user, role=role,
                                   lti_roles=lti_roles)
    if lti_roles and role != Membership.Role.ADMIN:
        # Admin is an institution role: a launch whose roles no longer include it ends the
        # platform-wide rights an older launch in another course left behind.
        Membership.objects.filter(user=identity.user, role=Membership.Role.ADMIN,
                                  context__platform=platform).exclude(context=context).delete()
    resource_link = resource_link_upsert(context=context, claims=claims)
    login(request, identity.user, backend="django.contrib.auth.backends.ModelBackend")
    launch_id = uuid.uuid4().hex
    cache.set(f"lti:launch:{launch_id}", {
        "claims": claims, "platform_id": platform.pk, "deployment_id": deployment.pk,
        "user_id": identity.user.pk,
    }, getattr(settings, "LTI_LAUNCH_CACHE_SECONDS", LAUNCH_CACHE_SECONDS))
    request.session[SESSION_LAUNCH_KEY] = launch_id
    custom = claims.get(LTI + "custom")
    return LaunchData(
        message_type=message_type,
        platform=platform,
        deployment=deployment,
        identity=identity,
        context=context,
        membership=membership,
        resource_link=resource_link,
        role=str(role),
        custom=custom if isinstance(custom, dict) else {},
        claims=claims,
        proctoring=proctoring_claims(claims)
        if message_type in (MSG_START_PROCTORING, MSG_END_ASSESSMENT) else None,
        launch_id=launch_id,
    )


def launch_claims(*, launch_id: str, user: Any) -> dict[str, Any] | None:
    """The cached validated launch (claims, platform_id, deployment_id) for its own user only.

    Deep-linking responses and LtiStartAssessment are built from it after the launch.
    """
    entry = cache.get(f"lti:launch:{launch_id}") if launch_id else None
    if not entry or getattr(user, "pk", None) != entry["user_id"]:
        return None
    return entry
