"""Who may see what in review. One place, so every view asks the same question.

Rules: course staff (instructors, TAs) manage their own course contexts; platform
administrators manage every context of their own platform; students see only their own
attempt, and only when the exam lets them (students_see_own_flags); Django superusers
(operators) see everything. A refusal is a 404 so it never confirms that an id exists.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404

from proctor_lti.exams.models import Attempt, Exam
from proctor_lti.lti import permissions
from proctor_lti.lti.models import Context


def can_manage(user: Any, context: Context) -> bool:
    """True if `user` may review (and export) the exams of `context`.

    The course rule is lti.permissions.can_manage (staff of the course, admins of its
    platform); Django superusers (operators) may review everything.
    """
    if not getattr(user, "is_authenticated", False):
        return False
    if getattr(user, "is_superuser", False):
        return True
    return permissions.can_manage(user, context)


def manageable_context_ids(user: Any) -> set[int] | None:
    """Context ids the user manages (None means all: a superuser)."""
    if getattr(user, "is_superuser", False):
        return None
    return set(permissions.contexts_managed_by(user).values_list("id", flat=True))


def exam_for_staff(user: Any, exam_id: int) -> Exam:
    """The exam if the user may review it, else 404."""
    exam = Exam.objects.select_related("context", "context__platform").filter(pk=exam_id).first()
    if exam is None or not can_manage(user, exam.context):
        raise Http404
    return exam


def attempt_for_staff(user: Any, attempt_id: int) -> Attempt:
    attempt = (Attempt.objects.select_related("exam", "exam__context", "user")
               .filter(pk=attempt_id).first())
    if attempt is None or not can_manage(user, attempt.exam.context):
        raise Http404
    return attempt


def attempt_for_student(user: Any, attempt_id: int) -> Attempt:
    """The student's own attempt, only if its exam shares flags with students."""
    attempt = (Attempt.objects.select_related("exam", "exam__context")
               .filter(pk=attempt_id, user_id=getattr(user, "pk", None)).first())
    if attempt is None or not attempt.exam.students_see_own_flags:
        raise Http404
    return attempt
