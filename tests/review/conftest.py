"""Alice (instructor of course A), Bob (instructor of course B), Charlie (student of A).

Course A's exam has attempts with flags, evidence and events; course B has its own exam and
student so that every refusal can be checked for leaks in both directions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from proctor_lti.exams.models import Attempt, AttemptEvent, Exam
from proctor_lti.lti.models import Membership
from proctor_lti.review.models import Evidence, Flag
from tests.factories import (
    AttemptFactory,
    ContextFactory,
    ExamFactory,
    IdentityFactory,
    MembershipFactory,
    PlatformFactory,
    UserFactory,
)

WEIGHTS = {"head_movement": 3, "multiple_faces": 5, "leaving_room": 4, "navigating_away": 4,
           "copy_paste": 2, "speaking": 2}


def person(platform, context, name: str, role: str, email: str = ""):  # type: ignore[no-untyped-def]
    user = UserFactory(username=name.lower().replace(" ", "."))
    IdentityFactory(platform=platform, user=user, name=name,
                    email=email or f"{name.split()[0].lower()}@example.edu")
    MembershipFactory(context=context, user=user, role=role)
    return user


def finished_attempt(exam: Exam, user, minutes: float = 30, status=Attempt.Status.REVIEWABLE,
                     number: int = 1) -> Attempt:  # type: ignore[no-untyped-def]
    start = timezone.now() - timedelta(hours=2)
    return AttemptFactory(exam=exam, user=user, status=status, started_at=start, number=number,
                          ended_at=start + timedelta(minutes=minutes))


def flag(attempt: Attempt, type_: str, start: float, end: float, **kw) -> Flag:  # type: ignore[no-untyped-def]
    return Flag.objects.create(attempt=attempt, type=type_, start_s=start, end_s=end,
                               confidence=kw.pop("confidence", 0.9),
                               explanation=kw.pop("explanation", {
                                   "rule": f"rule for {type_}", "threshold": {"min_s": 3},
                                   "models": [{"name": "yunet", "version": "2023mar"}]}), **kw)


@dataclass
class World:
    platform: object
    course_a: object
    course_b: object
    alice: object
    bob: object
    charlie: object
    dave: object
    erin: object
    exam_a: Exam
    exam_b: Exam
    attempt_charlie: Attempt
    attempt_dave: Attempt
    attempt_erin: Attempt
    flag_charlie: Flag
    flag_erin: Flag
    evidence_charlie: Evidence
    evidence_erin: Evidence


@pytest.fixture(autouse=True)
def _fresh_cache():  # type: ignore[no-untyped-def]
    """Audit windows and roster timestamps live in the (test-local, locmem) cache."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def world(db) -> World:  # type: ignore[no-untyped-def]
    platform = PlatformFactory()
    course_a = ContextFactory(platform=platform, title="Organic Chemistry A")
    course_b = ContextFactory(platform=platform, title="Byzantine History B")
    alice = person(platform, course_a, "Alice Instructor", Membership.Role.STAFF)
    bob = person(platform, course_b, "Bob Instructor", Membership.Role.STAFF)
    charlie = person(platform, course_a, "Charlie Student", Membership.Role.LEARNER)
    dave = person(platform, course_a, "Dave Student", Membership.Role.LEARNER)
    erin = person(platform, course_b, "Erin Bstudent", Membership.Role.LEARNER)
    exam_a = ExamFactory(context=course_a, title="Midterm Alkenes", behaviour_weights=WEIGHTS)
    exam_b = ExamFactory(context=course_b, title="Final Justinian", behaviour_weights=WEIGHTS)
    att_c = finished_attempt(exam_a, charlie)
    att_d = finished_attempt(exam_a, dave)
    att_e = finished_attempt(exam_b, erin)
    f_c = flag(att_c, "multiple_faces", 60, 90)
    f_e = flag(att_e, "looking_away", 10, 40)
    ev_c = Evidence.objects.create(flag=f_c, at_s=61, storage_name="x/none.enc")
    ev_e = Evidence.objects.create(flag=f_e, at_s=11, storage_name="x/none.enc")
    AttemptEvent.objects.create(attempt=att_c, client_event_id="e1", type="tab_hidden",
                                occurred_at=att_c.started_at, offset_s=120)
    return World(platform, course_a, course_b, alice, bob, charlie, dave, erin, exam_a, exam_b,
                 att_c, att_d, att_e, f_c, f_e, ev_c, ev_e)
