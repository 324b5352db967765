"""The exam overview: bounded queries, roster, filters, progress, gaps, export, audit."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from proctor_lti.core.models import AuditEntry
from proctor_lti.exams.models import Accommodation, Attempt
from proctor_lti.lti.models import Membership
from proctor_lti.recordings.models import Recording, Segment
from proctor_lti.review import services
from tests.review.conftest import finished_attempt, flag, person

pytestmark = pytest.mark.django_db


def add_students(world, n: int, start: int = 0) -> None:  # type: ignore[no-untyped-def]
    for i in range(start, start + n):
        user = person(world.platform, world.course_a, f"Student {i:03d}", Membership.Role.LEARNER)
        attempt = finished_attempt(world.exam_a, user)
        flag(attempt, "looking_away", 10, 40)
        flag(attempt, "multiple_faces", 100, 110 + i)
        rec = Recording.objects.create(attempt=attempt, kind="webcam", gaps=[[3, 4]])
        Segment.objects.create(recording=rec, index=0, status="done")
        Accommodation.objects.create(exam=world.exam_a, user=user, extra_time_minutes=15)
    services.scores_recalculate_for_exam(exam=world.exam_a)


def overview_queries(client, world) -> int:  # type: ignore[no-untyped-def]
    url = reverse("review:exam", args=[world.exam_a.pk])
    client.get(url)  # warm the per-process caches (session, frame-ancestor origins)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_overview_query_count_does_not_grow_with_the_class(client, world):
    client.force_login(world.alice)
    add_students(world, 10)
    small = overview_queries(client, world)
    add_students(world, 90, start=10)
    large = overview_queries(client, world)
    assert large == small
    assert small <= 14


def test_the_overview_lists_students_who_have_not_started(client, world):
    person(world.platform, world.course_a, "Nora Notstarted", Membership.Role.LEARNER)
    client.force_login(world.alice)
    body = client.get(reverse("review:exam", args=[world.exam_a.pk])).content.decode()
    assert "Nora Notstarted" in body and "Not started" in body
    # Staff are not students.
    body = client.get(reverse("review:exam", args=[world.exam_a.pk]) + "?status=not_started")
    text = body.content.decode()
    assert "Nora Notstarted" in text and "Alice Instructor" not in text.split("<table")[1]


def test_the_overview_shows_analysis_progress_gaps_and_accommodations(client, world):
    a = world.attempt_dave
    Attempt.objects.filter(pk=a.pk).update(status=Attempt.Status.ANALYSING)
    rec = Recording.objects.create(attempt=a, kind="webcam", gaps=[[5, 7], [20, 20]])
    for i, status in enumerate(["done", "done", "queued", "analysing"]):
        Segment.objects.create(recording=rec, index=i, status=status)
    Accommodation.objects.create(exam=world.exam_a, user=world.dave, extra_time_minutes=30,
                                 exempt_checks=["room_scan"])
    client.force_login(world.alice)
    body = client.get(reverse("review:exam", args=[world.exam_a.pk])).content.decode()
    assert 'max="4" value="2"' in body and "2/4" in body
    assert "30 min extra time" in body and "exempt from room scan" in body
    assert '<span class="gap-warn">2</span>' in body


def test_filters_and_sorting_are_server_side(client, world):
    add_students(world, 6)
    flag(world.attempt_dave, "multiple_faces", 0, 1200)
    services.scores_recalculate_for_exam(exam=world.exam_a)
    client.force_login(world.alice)
    url = reverse("review:exam", args=[world.exam_a.pk])
    body = client.get(url + "?band=red").content.decode()
    assert "Dave Student" in body and "Student 001" not in body
    body = client.get(url + "?q=student%2000").content.decode()
    assert "Student 003" in body and "Dave Student" not in body
    body = client.get(url + "?sort=name").content.decode()
    assert body.index("Charlie Student") < body.index("Dave Student") < body.index("Student 000")
    body = client.get(url + "?sort=bogus&band=purple&status=x").content.decode()
    assert "Dave Student" in body


def test_the_csv_export_has_attempts_and_flags_and_is_audited(client, world):
    services.scores_recalculate_for_exam(exam=world.exam_a)
    world.flag_charlie.explanation = {"rule": "=HYPERLINK(\"evil\")"}
    world.flag_charlie.save()
    client.force_login(world.alice)
    response = client.get(reverse("review:exam_csv", args=[world.exam_a.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    attempts = [r for r in rows if r and r[0] == "attempt"]
    flags = [r for r in rows if r and r[0] == "flag"]
    assert {r[2] for r in attempts} >= {"Charlie Student", "Dave Student"}
    assert flags[0][3] == "multiple_faces" and flags[0][9].startswith("'=")
    assert "Erin" not in response.content.decode()
    entry = AuditEntry.objects.get(action=AuditEntry.Action.EXPORT)
    assert entry.actor == world.alice and entry.target == f"exams.exam:{world.exam_a.pk}"


def test_the_incident_report_is_printable_and_audited(client, world):
    services.review_note_add(attempt=world.attempt_charlie, actor=world.alice, text="Checked.")
    client.force_login(world.alice)
    response = client.get(reverse("review:report", args=[world.attempt_charlie.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Charlie Student" in body and "Checked." in body and "More than one face" in body
    assert AuditEntry.objects.filter(action="export", detail__export="incident_report").exists()


def test_reviewer_actions_through_the_page_redirect_back_and_record_who(client, world):
    client.force_login(world.alice)
    a = world.attempt_charlie
    r = client.post(reverse("review:note_add", args=[a.pk]), {"text": "Looked fine"})
    assert r.status_code == 302 and r["Location"].endswith("#notes")
    r = client.post(reverse("review:outcome", args=[a.pk]), {"outcome": "no_issue"})
    assert r.status_code == 302
    page = client.get(reverse("review:attempt", args=[a.pk])).content.decode()
    from proctor_lti.review.selectors import display_name

    # Who acted is shown as people know them (the LMS name), never the internal username.
    assert "Looked fine" in page and "No issue" in page and display_name(world.alice) in page
    assert display_name(world.alice) != world.alice.get_username()
    bad = client.post(reverse("review:outcome", args=[a.pk]), {"outcome": "expel"})
    assert bad.status_code == 400 and b"error" in bad.content.lower()


def test_names_from_the_lms_are_escaped_in_the_overview(client, world):
    identity = world.dave.lti_identity
    identity.name = '<script>alert("x")</script> Dave'
    identity.save()
    client.force_login(world.alice)
    body = client.get(reverse("review:exam", args=[world.exam_a.pk])).content.decode()
    assert "<script>alert" not in body
    assert "&lt;script&gt;alert" in body


def test_the_attempt_page_query_count_does_not_grow_with_flags(client, world):
    from proctor_lti.review.models import Evidence

    client.force_login(world.alice)
    url = reverse("review:attempt", args=[world.attempt_charlie.pk])
    client.get(url)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for i in range(30):
        f = flag(world.attempt_charlie, "looking_away", 100 + i * 20, 110 + i * 20)
        Evidence.objects.create(flag=f, at_s=101 + i * 20, storage_name="x")
    assert count() == few


def test_the_attempt_page_explains_a_detection_flag_in_plain_words(client, world):
    world.flag_charlie.explanation = {
        "rule": "Two or more faces for at least 3 s", "threshold": {"min_duration_s": 3},
        "models": [{"name": "yunet", "version": "2023mar"}], "observed": {"frames": 12}}
    world.flag_charlie.save()
    client.force_login(world.alice)
    body = client.get(reverse("review:attempt", args=[world.attempt_charlie.pk])).content.decode()
    assert "Two or more faces for at least 3 s" in body
    assert "min duration s: 3" in body and "yunet 2023mar" in body
    assert "A person decides." in body


def test_refreshing_the_class_list_adds_students_who_have_not_started(client, world,
                                                                      monkeypatch):
    from proctor_lti.lti.service_clients import Member

    world.course_a.nrps_url = "https://lms.example.edu/nrps/course-a"
    world.course_a.save()
    lis = "http://purl.imsglobal.org/vocab/lis/v2/membership#"

    def member(sub: str, name: str, role: str) -> Member:
        return Member(user_id=sub, roles=[lis + ("Instructor" if role == "staff" else
                                                  "Learner")], role=role, status="Active",
                      name=name, given_name="", family_name="", email="",
                      lis_person_sourcedid="", extra={})

    roster = [member(world.alice.lti_identity.sub, "Alice Instructor", "staff"),
              member(world.charlie.lti_identity.sub, "Charlie Student", "learner"),
              member("new-sub-1", "Nina Newcomer", "learner")]
    # The platform is the edge of the world: its roster answer is given here.
    monkeypatch.setattr("proctor_lti.lti.roster.nrps_fetch_members", lambda context: roster)
    monkeypatch.setattr("proctor_lti.lti.roster.roster_sync_enqueue", lambda context: False)
    client.force_login(world.alice)
    page = client.get(reverse("review:exam", args=[world.exam_a.pk])).content.decode()
    assert 'id="roster-refresh"' in page and "Nina Newcomer" not in page
    response = client.post(reverse("review:roster_refresh", args=[world.exam_a.pk]))
    assert response.status_code == 302
    page = client.get(reverse("review:exam", args=[world.exam_a.pk])).content.decode()
    assert "Nina Newcomer" in page and "Class list refreshed" in page
    # Dave left the course in the LMS, but his attempt stays listed.
    assert "Dave Student" in page


def test_a_failing_roster_service_is_a_clear_error_not_a_crash(client, world, monkeypatch):
    from proctor_lti.lti.service_clients import LtiServiceError

    def refuse(context):  # type: ignore[no-untyped-def]
        raise LtiServiceError("platform said 401")

    monkeypatch.setattr("proctor_lti.lti.roster.nrps_fetch_members", refuse)
    client.force_login(world.alice)
    response = client.post(reverse("review:roster_refresh", args=[world.exam_a.pk]))
    assert response.status_code == 502 and b"class list" in response.content


@pytest.mark.parametrize("text", ["=1+1", " =1+1", "\u3000+1", "\uff1dSUM(A1)", "@cmd", "\t=1",
                                  "-2+3"])
def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(text):
    from proctor_lti.review.exports import _safe

    assert _safe(text) == "'" + text


def test_csv_cells_of_plain_text_are_kept():
    from proctor_lti.review.exports import _safe

    assert _safe("Ada Lovelace") == "Ada Lovelace" and _safe(None) == "" and _safe(3) == "3"
