"""LTI role URIs -> the tool's per-course role (Membership.Role).

learner: takes exams. staff (instructor, teaching assistant, content developer):
configures and reviews exams of THAT course. admin (institution or system administrator):
sees every course of its own platform. Roles are kept per context, so rights in course A
never leak to course B.
"""

from __future__ import annotations

from collections.abc import Iterable

from .models import Membership

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
# Not Mentor: Canvas sends membership#Mentor for observers (parents, advisors), who must
# never see other students' recordings. A mentor gets no role unless another one applies.
STAFF_ROLES = {"Instructor", "TeachingAssistant", "ContentDeveloper"}
ADMIN_SCOPES = ("institution", "system")


def _parse(uri: str) -> tuple[str, str, str]:
    """(scope, role, sub-role) from a full or simple role name.

    http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor -> (membership, Instructor, "")
    http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant
        -> (membership, Instructor, TeachingAssistant)
    http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator
        -> (institution, Administrator, "")
    Simple names ("Instructor", deprecated but still sent) are context roles.
    """
    if not uri.startswith(LIS):
        return ("membership", uri.rsplit("#", 1)[-1].rsplit("/", 1)[-1], "")
    rest = uri[len(LIS):]
    path, _, fragment = rest.partition("#")
    parts = path.split("/")
    if len(parts) == 2 and parts[1] != "person":  # membership/Instructor#TeachingAssistant
        return (parts[0], parts[1], fragment)
    return (parts[0], fragment, "")  # membership#Learner, institution/person#Administrator


def role_from_lti(roles: Iterable[str]) -> str:
    """The strongest tool role the launch grants in its context, or "" when none applies."""
    found: set[str] = set()
    for uri in roles:
        if not isinstance(uri, str):
            continue
        scope, role, _sub_role = _parse(uri.strip())
        if role == "Administrator" and scope in ADMIN_SCOPES:
            found.add(Membership.Role.ADMIN)
        # The principal role decides: a sub-role refines it (Instructor#TeachingAssistant) and
        # never upgrades it (Learner#Instructor stays a learner).
        elif role in STAFF_ROLES or (scope == "membership" and role == "Administrator"):
            found.add(Membership.Role.STAFF)
        elif role == "Learner" and scope == "membership":
            found.add(Membership.Role.LEARNER)
    # Institution roles such as Faculty say nothing about this course: they grant nothing.
    for role in (Membership.Role.ADMIN, Membership.Role.STAFF, Membership.Role.LEARNER):
        if role in found:
            return str(role)
    return ""
