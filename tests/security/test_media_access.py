"""Recordings and evidence: who may fetch them, and storage outages are a 503, not a 500."""

from __future__ import annotations

import pytest
from django.test import Client

from proctor_lti.lti.models import Membership
from proctor_lti.recordings.storage import StorageUnavailable
from proctor_lti.review.models import Evidence, Flag
from tests.factories import (
    AttemptFactory,
    ContextFactory,
    ExamFactory,
    MembershipFactory,
    PlatformFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():  # type: ignore[no-untyped-def]
    platform, other_platform = PlatformFactory(), PlatformFactory()
    course = ContextFactory(platform=platform)
    foreign_course = ContextFactory(platform=other_platform)
    attempt = AttemptFactory(exam=ExamFactory(context=course))
    flag = Flag.objects.create(attempt=attempt, type="multiple_faces", start_s=1, end_s=2)
    evidence = Evidence.objects.create(flag=flag, at_s=1.5, storage_name="evidence/x.enc")
    staff = UserFactory()
    MembershipFactory(user=staff, context=course, role=Membership.Role.STAFF)
    foreign_admin = UserFactory()  # administrator of ANOTHER platform
    MembershipFactory(user=foreign_admin, context=foreign_course, role=Membership.Role.ADMIN)
    mentor = UserFactory()  # an observer, as Canvas sends it, after the role fix: no role
    return {"attempt": attempt, "evidence": evidence, "staff": staff,
            "foreign_admin": foreign_admin, "mentor": mentor}


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.mark.parametrize("who", ["foreign_admin", "mentor"])
def test_it_hides_media_and_evidence_from_administrators_of_another_platform(world, who):
    client, attempt = _client(world[who]), world["attempt"]
    for url in (f"/api/attempts/{attempt.pk}/streams/webcam/media",
                f"/api/attempts/{attempt.pk}/streams/webcam/segments",
                f"/api/attempts/{attempt.pk}/evidence?name=evidence/x.enc",
                f"/review/evidence/{world['evidence'].pk}",
                f"/review/attempts/{attempt.pk}/",
                f"/review/exams/{attempt.exam_id}/export.csv"):
        assert client.get(url).status_code == 404, url


def test_a_storage_outage_while_playing_is_a_503(world, monkeypatch):
    from proctor_lti.recordings import selectors

    def down(**kwargs):  # type: ignore[no-untyped-def]
        raise StorageUnavailable("I/O error")

    monkeypatch.setattr(selectors, "media_bytes", down)
    response = _client(world["staff"]).get(
        f"/api/attempts/{world['attempt'].pk}/streams/webcam/media")
    assert response.status_code == 503


def test_a_storage_outage_while_showing_evidence_is_a_503(world, monkeypatch):
    from proctor_lti.review import views

    def down(**kwargs):  # type: ignore[no-untyped-def]
        raise StorageUnavailable("I/O error")

    monkeypatch.setattr(views, "evidence_bytes", down)
    response = _client(world["staff"]).get(f"/review/evidence/{world['evidence'].pk}")
    assert response.status_code == 503
