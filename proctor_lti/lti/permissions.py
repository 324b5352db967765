"""Who may do what in which course. Every right is scoped to one Context.

- learner: takes the exams of that course (`can_take`).
- staff (instructor, teaching assistant, content developer): configures and reviews
  the exams of that course (`can_manage`).
- admin (institution/system administrator in a launch): manages every course of ITS OWN
  platform, never another platform's.

Use in views:

    @context_role_required("staff")            # or "learner" / "admin"
    def exam_settings(request, context_pk): ...  # the URL must carry context_pk

The decorator loads the Context, refuses with a 403 error page (error id + hint) when the
user lacks the role there, and passes `request.lti_context` / `request.lti_membership`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from proctor_lti.core.errors import UserFacingError, error_page

from .models import Context, Membership

MANAGE_ROLES = (Membership.Role.STAFF, Membership.Role.ADMIN)
ROLE_RANK = {Membership.Role.LEARNER: 1, Membership.Role.STAFF: 2, Membership.Role.ADMIN: 3}


def membership_for(user: Any, context: Context) -> Membership | None:
    """The user's membership in exactly this context, or None."""
    if not getattr(user, "is_authenticated", False):
        return None
    return Membership.objects.filter(user=user, context=context).first()


def is_platform_admin(user: Any, platform_id: int) -> bool:
    """True if a launch made this user an administrator on that platform."""
    if not getattr(user, "is_authenticated", False):
        return False
    return Membership.objects.filter(
        user=user, role=Membership.Role.ADMIN, context__platform_id=platform_id
    ).exists()


def can_take(user: Any, context: Context) -> bool:
    """Learners of this context take its exams."""
    membership = membership_for(user, context)
    return membership is not None and membership.role == Membership.Role.LEARNER


def can_manage(user: Any, context: Context) -> bool:
    """Staff or admin of this context, or an administrator of the same platform."""
    membership = membership_for(user, context)
    if membership is not None and membership.role in MANAGE_ROLES:
        return True
    return is_platform_admin(user, context.platform_id)


def effective_role(user: Any, context: Context) -> str:
    """"admin", "staff", "learner" or "" for this user in this context."""
    if is_platform_admin(user, context.platform_id):
        return str(Membership.Role.ADMIN)
    membership = membership_for(user, context)
    return str(membership.role) if membership else ""


def contexts_managed_by(user: Any) -> QuerySet[Context]:
    """Contexts the user may manage: their staff/admin courses and, for platform
    administrators, every course of their own platform(s)."""
    if not getattr(user, "is_authenticated", False):
        return Context.objects.none()
    admin_platforms = Membership.objects.filter(
        user=user, role=Membership.Role.ADMIN).values("context__platform_id")
    return Context.objects.filter(
        Q(memberships__user=user, memberships__role__in=MANAGE_ROLES)
        | Q(platform_id__in=admin_platforms)
    ).distinct()


def context_role_required(role: str, *, context_kwarg: str = "context_pk"
                          ) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """View decorator: the user needs `role` (or stronger) in the context from the URL.

    "learner" accepts only learners (staff previews are the exam flow's business);
    "staff" accepts staff and admins of the platform; "admin" only platform admins.
    """
    if role not in ROLE_RANK:
        raise ValueError(f"unknown role {role!r}")

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            context = Context.objects.filter(pk=kwargs.get(context_kwarg)).first()
            allowed = False
            if context is not None:
                if role == Membership.Role.LEARNER:
                    allowed = can_take(request.user, context)
                elif role == Membership.Role.STAFF:
                    allowed = can_manage(request.user, context)
                else:
                    allowed = is_platform_admin(request.user, context.platform_id)
            if not allowed:
                return error_page(request, UserFacingError(
                    _("You do not have access to this course page."),
                    hint=_("Open it again from your course in the LMS; your role there "
                           "decides what you can see here."),
                    code="forbidden", status=403 if request.user.is_authenticated else 401))
            request.lti_context = context  # type: ignore[attr-defined]
            request.lti_membership = membership_for(request.user, context)  # type: ignore[arg-type,attr-defined]
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
