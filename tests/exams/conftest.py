"""Alice teaches course A, Bob takes course A, Charlie teaches course B."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from proctor_lti.exams import services
from proctor_lti.exams.models import AgreementVersion
from proctor_lti.lti.models import Membership
from tests.factories import (
    ContextFactory,
    DeploymentFactory,
    IdentityFactory,
    MembershipFactory,
    PlatformFactory,
    ResourceLinkFactory,
    UserFactory,
)


@pytest.fixture
def world(db):  # type: ignore[no-untyped-def]
    platform = PlatformFactory()
    deployment = DeploymentFactory(platform=platform)
    course_a = ContextFactory(platform=platform, deployment=deployment, title="Course A")
    course_b = ContextFactory(platform=platform, deployment=deployment, title="Course B")
    alice, bob, charlie, dana = (
        UserFactory(username=n) for n in ("alice", "bob", "charlie", "dana")
    )
    for user in (alice, bob, charlie, dana):
        IdentityFactory(platform=platform, user=user, name=user.username.title())
    MembershipFactory(context=course_a, user=alice, role=Membership.Role.STAFF)
    MembershipFactory(context=course_a, user=bob, role=Membership.Role.LEARNER)
    MembershipFactory(context=course_a, user=dana, role=Membership.Role.LEARNER)
    MembershipFactory(context=course_b, user=charlie, role=Membership.Role.STAFF)
    link = ResourceLinkFactory(context=course_a, title="Midterm")
    exam = services.exam_create(
        context=course_a,
        title="Midterm",
        resource_link=link,
        actor=alice,
        exam_url="https://quiz.example.edu/q/1",
        access_code="SECRET-CODE-7731",
    )
    AgreementVersion.objects.create(version=1, text="Be honest.", is_current=True)
    return SimpleNamespace(
        platform=platform,
        deployment=deployment,
        course_a=course_a,
        course_b=course_b,
        alice=alice,
        bob=bob,
        charlie=charlie,
        dana=dana,
        link=link,
        exam=exam,
    )
