"""Reviewer input with characters PostgreSQL cannot store is a 400, not a 500."""

from __future__ import annotations

import pytest
from django.test import Client

from proctor_lti.lti.models import Membership
from proctor_lti.review.models import ReviewNote
from tests.factories import AttemptFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_and_attempt():  # type: ignore[no-untyped-def]
    attempt = AttemptFactory()
    staff = UserFactory()
    MembershipFactory(user=staff, context=attempt.exam.context, role=Membership.Role.STAFF)
    client = Client(raise_request_exception=False)
    client.force_login(staff)
    return client, attempt


def test_it_refuses_a_note_with_a_nul_character(staff_and_attempt):
    client, attempt = staff_and_attempt
    response = client.post(f"/review/attempts/{attempt.pk}/notes", {"text": "seen\x00twice"})
    assert response.status_code == 400
    assert not ReviewNote.objects.exists()


def test_it_refuses_an_acs_reason_with_a_nul_character_before_sending_anything(
        staff_and_attempt):
    client, attempt = staff_and_attempt
    response = client.post(f"/review/attempts/{attempt.pk}/acs",
                           {"action": "flag", "reason": "phone\x00"})
    assert response.status_code == 400
