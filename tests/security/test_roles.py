"""Roles: who becomes course staff (and so sees every student's recordings)."""

from __future__ import annotations

import pytest

from proctor_lti.lti.roles import role_from_lti

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"


@pytest.mark.parametrize("roles", [
    [LIS + "membership#Mentor"],  # Canvas sends this for observers (parents, advisors)
    [LIS + "membership/Mentor#Advisor"],
    [LIS + "membership/Mentor#Reviewer"],
    ["Mentor"],
])
def test_it_refuses_staff_rights_to_mentors_and_observers(roles):
    assert role_from_lti(roles) == ""


def test_it_keeps_a_mentor_who_is_also_a_learner_a_learner():
    assert role_from_lti([LIS + "membership#Mentor", LIS + "membership#Learner"]) == "learner"


def test_it_keeps_instructors_and_teaching_assistants_staff():
    assert role_from_lti([LIS + "membership/Instructor#TeachingAssistant"]) == "staff"
    assert role_from_lti([LIS + "membership#ContentDeveloper"]) == "staff"


def test_it_keeps_a_learner_with_an_instructor_sub_role_a_learner():
    # LIS "Learner#Instructor": the principal role is Learner; a sub-role never upgrades it.
    assert role_from_lti([LIS + "membership/Learner#Instructor"]) == "learner"
    assert role_from_lti([LIS + "membership/Mentor#TeachingAssistant"]) == ""
