"""The access matrix: every review, playback, evidence and export route, for Alice/Bob/Charlie.

Alice teaches course A, Bob teaches course B, Charlie is a student of course A. Every refused
request gets 403/404 and its body names nothing of the other course.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from proctor_lti.lti.models import Membership
from proctor_lti.review.models import Flag
from tests.factories import ContextFactory, MembershipFactory, PlatformFactory, UserFactory

pytestmark = pytest.mark.django_db

A_SECRETS = ["Organic Chemistry A", "Midterm Alkenes", "Charlie Student", "Dave Student",
             "charlie@example.edu"]
B_SECRETS = ["Byzantine History B", "Final Justinian", "Erin Bstudent", "erin@example.edu"]


def get_routes(w, side: str) -> list[str]:
    exam = w.exam_a if side == "A" else w.exam_b
    attempt = w.attempt_charlie if side == "A" else w.attempt_erin
    evidence = w.evidence_charlie if side == "A" else w.evidence_erin
    return [
        reverse("review:exam", args=[exam.pk]),
        reverse("review:exam_csv", args=[exam.pk]),
        reverse("review:attempt", args=[attempt.pk]),
        reverse("review:report", args=[attempt.pk]),
        reverse("review:evidence", args=[evidence.pk]),
        reverse("review:my_attempt", args=[attempt.pk]),
        reverse("review:my_evidence", args=[evidence.pk]),
        reverse("recordings:segments", args=[attempt.pk, "webcam"]),
        reverse("recordings:segment_media", args=[attempt.pk, "webcam", 0]),
        reverse("recordings:media", args=[attempt.pk, "photo_id"]),
        reverse("recordings:evidence", args=[attempt.pk]) + "?name=x",
    ]


def post_routes(w, side: str) -> list[tuple[str, dict]]:
    attempt = w.attempt_charlie if side == "A" else w.attempt_erin
    exam = w.exam_a if side == "A" else w.exam_b
    flag = w.flag_charlie if side == "A" else w.flag_erin
    return [
        (reverse("review:flag_decision", args=[flag.pk]),
         {"decision": "dismissed", "reason_code": "ordinary_behaviour"}),
        (reverse("review:note_add", args=[attempt.pk]), {"text": "sneaky note"}),
        (reverse("review:outcome", args=[attempt.pk]), {"outcome": "incident"}),
        (reverse("review:acs", args=[attempt.pk]), {"action": "terminate"}),
        (reverse("review:roster_refresh", args=[exam.pk]), {}),
    ]


def assert_refused(response, secrets: list[str]) -> None:
    assert response.status_code in (403, 404), (response.status_code, response.content[:300])
    body = response.content.decode(errors="replace")
    for secret in secrets:
        assert secret not in body, f"{secret!r} leaked in a refusal"


def test_bob_gets_nothing_of_course_a_on_any_route(client, world):
    client.force_login(world.bob)
    for url in get_routes(world, "A"):
        assert_refused(client.get(url), A_SECRETS)
    for url, data in post_routes(world, "A"):
        assert_refused(client.post(url, data), A_SECRETS)
    world.flag_charlie.refresh_from_db()
    assert world.flag_charlie.decision == Flag.Decision.OPEN
    assert not world.attempt_charlie.review_notes.exists()


def test_alice_gets_nothing_of_course_b_on_any_route(client, world):
    client.force_login(world.alice)
    for url in get_routes(world, "B"):
        assert_refused(client.get(url), B_SECRETS)
    for url, data in post_routes(world, "B"):
        assert_refused(client.post(url, data), B_SECRETS)


def test_charlie_the_student_gets_no_staff_route_even_for_his_own_attempt(client, world):
    client.force_login(world.charlie)
    own = get_routes(world, "A")
    staff_only = [u for u in own if "/my/" not in u]
    for url in staff_only:
        # Dave's name and the exam's other students must not appear either.
        assert_refused(client.get(url), ["Dave Student", *B_SECRETS])
    for url, data in post_routes(world, "A"):
        assert_refused(client.post(url, data), ["Dave Student"])


def test_charlie_sees_his_own_flags_only_when_the_exam_shares_them(client, world):
    client.force_login(world.charlie)
    url = reverse("review:my_attempt", args=[world.attempt_charlie.pk])
    assert_refused(client.get(url), ["More than one face"])
    world.exam_a.students_see_own_flags = True
    world.exam_a.save()
    page = client.get(url)
    assert page.status_code == 200
    assert "More than one face" in page.content.decode()
    assert "Dave Student" not in page.content.decode()


def test_charlie_never_sees_daves_attempt_even_when_flags_are_shared(client, world):
    world.exam_a.students_see_own_flags = True
    world.exam_a.save()
    client.force_login(world.charlie)
    assert_refused(client.get(reverse("review:my_attempt", args=[world.attempt_dave.pk])),
                   ["Dave Student"])
    assert_refused(client.get(reverse("review:my_attempt", args=[world.attempt_erin.pk])),
                   B_SECRETS)
    assert_refused(client.get(reverse("review:my_evidence", args=[world.evidence_erin.pk])),
                   B_SECRETS)


def test_anonymous_visitors_are_refused_everywhere(client, world):
    for url in get_routes(world, "A"):
        assert_refused(client.get(url), A_SECRETS)
    for url, data in post_routes(world, "A"):
        assert_refused(client.post(url, data), A_SECRETS)


def test_alice_sees_only_her_own_course_in_the_exam_index(client, world):
    client.force_login(world.alice)
    body = client.get(reverse("review:index")).content.decode()
    assert "Midterm Alkenes" in body
    assert "Final Justinian" not in body


def test_a_platform_admin_sees_every_course_of_their_platform_but_not_another_platform(
        client, world):
    admin = UserFactory()
    MembershipFactory(context=world.course_a, user=admin, role=Membership.Role.ADMIN)
    client.force_login(admin)
    assert client.get(reverse("review:exam", args=[world.exam_b.pk])).status_code == 200
    other_platform_course = ContextFactory(platform=PlatformFactory(), title="Elsewhere U")
    outsider = UserFactory()
    MembershipFactory(context=other_platform_course, user=outsider, role=Membership.Role.ADMIN)
    client.force_login(outsider)
    assert_refused(client.get(reverse("review:exam", args=[world.exam_a.pk])), A_SECRETS)


def test_a_staff_role_in_one_course_is_no_staff_role_in_another(client, world):
    # Charlie also TAs course B: he reviews B, still not as staff in A.
    MembershipFactory(context=world.course_b, user=world.charlie, role=Membership.Role.STAFF)
    client.force_login(world.charlie)
    assert client.get(reverse("review:exam", args=[world.exam_b.pk])).status_code == 200
    assert_refused(client.get(reverse("review:exam", args=[world.exam_a.pk])), ["Dave Student"])


def test_alice_reaches_every_review_route_of_her_own_course(client, world):
    client.force_login(world.alice)
    for name, arg in [("review:exam", world.exam_a.pk), ("review:exam_csv", world.exam_a.pk),
                      ("review:attempt", world.attempt_charlie.pk),
                      ("review:report", world.attempt_charlie.pk)]:
        response = client.get(reverse(name, args=[arg]))
        assert response.status_code == 200, name
    segments = client.get(reverse("recordings:segments", args=[world.attempt_charlie.pk,
                                                                "webcam"]))
    assert segments.status_code == 200
    # Staff may not use the student's transparency routes for someone else's attempt.
    assert_refused(client.get(reverse("review:my_attempt", args=[world.attempt_charlie.pk])),
                   [])
    response = client.post(reverse("review:flag_decision", args=[world.flag_charlie.pk]),
                           {"decision": "dismissed", "reason_code": "ordinary_behaviour"})
    assert response.status_code == 302
    world.flag_charlie.refresh_from_db()
    assert world.flag_charlie.decision == "dismissed"
