"""Role mapping and per-course permissions (Alice learner, Bob staff, Charlie admin)."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from proctor_lti.lti.models import Membership
from proctor_lti.lti.permissions import (
    can_manage,
    can_take,
    context_role_required,
    contexts_managed_by,
    effective_role,
    membership_for,
)
from proctor_lti.lti.roles import role_from_lti
from tests.factories import ContextFactory, MembershipFactory, PlatformFactory, UserFactory

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"


@pytest.mark.parametrize("roles, expected", [
    ([LIS + "membership#Learner"], "learner"),
    ([LIS + "membership#Instructor"], "staff"),
    ([LIS + "membership/Instructor#TeachingAssistant"], "staff"),
    ([LIS + "membership#ContentDeveloper"], "staff"),
    ([LIS + "membership#Mentor"], ""),  # observers (Canvas) are not staff
    ([LIS + "membership#Administrator"], "staff"),
    ([LIS + "institution/person#Administrator"], "admin"),
    ([LIS + "system/person#Administrator"], "admin"),
    ([LIS + "membership#Learner", LIS + "membership#Instructor"], "staff"),
    (["Instructor"], "staff"),
    (["Learner"], "learner"),
    ([LIS + "institution/person#Faculty"], ""),
    ([LIS + "institution/person#Student"], ""),
    ([], ""),
    ([42, None], ""),
])
def test_lti_roles_map_to_course_roles(roles, expected):
    assert role_from_lti(roles) == expected


@pytest.fixture
def people(db):
    platform, other_platform = PlatformFactory(), PlatformFactory()
    course_a, course_b = ContextFactory(platform=platform), ContextFactory(platform=platform)
    foreign = ContextFactory(platform=other_platform)
    alice, bob, charlie = UserFactory(), UserFactory(), UserFactory()
    MembershipFactory(user=alice, context=course_a, role=Membership.Role.LEARNER)
    MembershipFactory(user=bob, context=course_a, role=Membership.Role.STAFF)
    MembershipFactory(user=bob, context=course_b, role=Membership.Role.LEARNER)
    MembershipFactory(user=charlie, context=course_a, role=Membership.Role.ADMIN)
    return {"a": course_a, "b": course_b, "foreign": foreign, "alice": alice, "bob": bob,
            "charlie": charlie}


def test_learners_take_and_do_not_manage(people):
    assert can_take(people["alice"], people["a"]) and not can_manage(people["alice"], people["a"])
    assert not can_take(people["alice"], people["b"])
    assert membership_for(people["alice"], people["b"]) is None


def test_staff_rights_stay_in_their_course(people):
    assert can_manage(people["bob"], people["a"])
    assert not can_manage(people["bob"], people["b"]) and can_take(people["bob"], people["b"])
    assert set(contexts_managed_by(people["bob"])) == {people["a"]}


def test_platform_admins_see_every_course_of_their_platform_only(people):
    charlie = people["charlie"]
    assert can_manage(charlie, people["b"]) and effective_role(charlie, people["b"]) == "admin"
    assert not can_manage(charlie, people["foreign"])
    assert set(contexts_managed_by(charlie)) == {people["a"], people["b"]}


def test_anonymous_users_have_no_rights(people):
    from django.contrib.auth.models import AnonymousUser

    assert not can_take(AnonymousUser(), people["a"]) and not can_manage(AnonymousUser(),
                                                                          people["a"])


def call(view, user, context):
    request = RequestFactory().get("/")
    request.user = user
    return view(request, context_pk=context.pk)


def test_the_decorator_lets_staff_in_and_keeps_others_out(people):
    @context_role_required("staff")
    def view(request, context_pk):
        return HttpResponse(f"ok {request.lti_context.pk}")

    assert call(view, people["bob"], people["a"]).status_code == 200
    assert call(view, people["charlie"], people["b"]).status_code == 200
    refused = call(view, people["alice"], people["a"])
    assert refused.status_code == 403 and b"<code>" in refused.content
    assert call(view, people["bob"], people["b"]).status_code == 403


def test_the_decorator_refuses_an_unknown_context(people):
    @context_role_required("learner")
    def view(request, context_pk):
        return HttpResponse("ok")

    request = RequestFactory().get("/")
    request.user = people["alice"]
    assert view(request, context_pk=999999).status_code == 403
    assert call(view, people["alice"], people["a"]).status_code == 200


def test_the_decorator_knows_its_roles():
    with pytest.raises(ValueError):
        context_role_required("owner")
