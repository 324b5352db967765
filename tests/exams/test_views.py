from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from proctor_lti.exams import services
from proctor_lti.exams.models import Attempt, Exam

S = Attempt.Status
CODE = "SECRET-CODE-7731"


def client_for(user) -> Client:  # type: ignore[no-untyped-def]
    c = Client()
    c.force_login(user)
    return c


def test_learners_cannot_open_the_settings(world) -> None:
    response = client_for(world.bob).get(reverse("exams:settings", args=[world.exam.pk]))
    assert response.status_code == 404
    assert b"Error id" in response.content


def test_staff_of_another_course_cannot_open_or_change_the_settings(world) -> None:
    c = client_for(world.charlie)
    url = reverse("exams:settings", args=[world.exam.pk])
    assert c.get(url).status_code == 404
    assert c.post(url, {"title": "Hijacked"}).status_code == 404
    assert c.get(reverse("exams:accommodations", args=[world.exam.pk])).status_code == 404
    world.exam.refresh_from_db()
    assert world.exam.title == "Midterm"


def _form_data(exam: Exam, **overrides) -> dict:  # type: ignore[no-untyped-def]
    data = {
        "title": exam.title,
        "preset": exam.preset,
        "delivery": exam.delivery,
        "exam_url": exam.exam_url,
        "access_code": exam.access_code,
        "duration_minutes": "",
        "retention_days": exam.retention_days,
    }
    for group in ("recording", "verification", "lockdown", "tools", "behaviour_weights"):
        for key, value in getattr(exam, group).items():
            if value is True:
                data[f"{group}__{key}"] = "on"
            elif value is not False:
                data[f"{group}__{key}"] = value
    data.update(overrides)
    return data


def test_staff_see_and_save_the_settings_with_a_review_link(world) -> None:
    c = client_for(world.alice)
    url = reverse("exams:settings", args=[world.exam.pk])
    page = c.get(url)
    assert page.status_code == 200
    assert f"/review/exams/{world.exam.pk}/".encode() in page.content
    response = c.post(
        url, _form_data(world.exam, retention_days=45, **{"lockdown__full_screen": "severe"})
    )
    assert response.status_code == 302
    assert "Settings saved." in c.get(response["Location"]).content.decode()
    world.exam.refresh_from_db()
    assert world.exam.retention_days == 45 and world.exam.lockdown["full_screen"] == "severe"


def test_invalid_settings_come_back_as_a_400_form_with_the_message(world) -> None:
    c = client_for(world.alice)
    response = c.post(
        reverse("exams:settings", args=[world.exam.pk]),
        _form_data(world.exam, **{"verification__screen_share": "on"}),
    )
    assert response.status_code == 400
    assert b"needs screen recording on" in response.content


def test_locked_groups_render_read_only_with_the_reason(world) -> None:
    attempt = services.attempt_start_or_resume(exam=world.exam, user=world.bob)
    services.attempt_transition(attempt=attempt, to=S.PRECHECKS)
    c = client_for(world.alice)
    page = c.get(reverse("exams:settings", args=[world.exam.pk])).content.decode()
    assert 'data-testid="locked-notice"' in page
    assert (
        'name="recording__webcam"' in page
        and "disabled" in page.split('name="recording__webcam"')[1].split(">")[0]
    )
    # Posting a different value for a locked field is ignored (disabled fields keep initial).
    response = c.post(
        reverse("exams:settings", args=[world.exam.pk]),
        _form_data(world.exam, **{"recording__screen": "on", "behaviour_weights__speaking": 5}),
    )
    assert response.status_code == 302
    world.exam.refresh_from_db()
    assert world.exam.recording["screen"] is False
    assert world.exam.behaviour_weights["speaking"] == 5


def test_staff_grant_an_accommodation_from_the_page(world) -> None:
    c = client_for(world.alice)
    url = reverse("exams:accommodations", args=[world.exam.pk])
    response = c.post(
        url,
        {
            "student": str(world.bob.pk),
            "exempt_checks": ["camera"],
            "extra_time_minutes": 20,
            "alternate_full_screen": "",
            "reason": "Letter 12",
        },
    )
    assert response.status_code == 302
    page = c.get(url).content.decode()
    assert "Letter 12" in page and "Camera test" in page
    # A student of another course cannot be chosen.
    bad = c.post(url, {"student": str(world.charlie.pk), "extra_time_minutes": 0, "reason": "x"})
    assert bad.status_code == 400


def test_removing_an_accommodation_from_the_page_asks_why(world) -> None:
    acc = services.accommodation_set(exam=world.exam, user=world.bob, actor=world.alice,
                                     exempt_checks=["camera"], reason="Letter 12")
    c = client_for(world.alice)
    url = reverse("exams:accommodation_delete", args=[world.exam.pk, acc.pk])
    refused = c.post(url, {"reason": ""})
    assert refused.status_code == 400 and b"Say why" in refused.content
    assert c.post(url, {"reason": "Letter withdrawn"}).status_code == 302
    assert not world.exam.accommodations.exists()


def test_the_accommodations_page_refreshes_the_class_list(world, monkeypatch) -> None:
    queued = []
    monkeypatch.setattr("proctor_lti.lti.roster.roster_sync_enqueue", queued.append)
    page = client_for(world.alice).get(reverse("exams:accommodations", args=[world.exam.pk]))
    assert page.status_code == 200 and queued == [world.exam.context]


def test_students_cannot_open_someone_elses_attempt(world) -> None:
    attempt = services.attempt_start_or_resume(exam=world.exam, user=world.bob)
    c = client_for(world.dana)
    for name in ("before", "prechecks", "agreement", "session"):
        assert c.get(reverse(f"exams:{name}", args=[attempt.pk])).status_code == 404
    assert c.post(reverse("exams:heartbeat", args=[attempt.pk])).status_code == 404
    assert c.get(reverse("exams:access_code", args=[attempt.pk])).status_code == 404


def _walk_to_session(world, c: Client) -> Attempt:  # type: ignore[no-untyped-def]
    attempt = services.attempt_start_or_resume(exam=world.exam, user=world.bob)
    bodies = [c.get(reverse("exams:before", args=[attempt.pk])).content]
    for check in ("browser", "permissions", "upload_speed"):
        r = c.post(
            reverse("exams:check_record", args=[attempt.pk, check]),
            data=json.dumps({"passed": True}),
            content_type="application/json",
        )
        bodies.append(r.content)
        assert r.status_code == 200
    # The camera check is judged on the server only.
    r = c.post(
        reverse("exams:check_record", args=[attempt.pk, "camera"]),
        data=json.dumps({"passed": True}),
        content_type="application/json",
    )
    assert r.status_code == 403
    services.precheck_record(attempt=attempt, check="camera", passed=True)
    bodies.append(c.get(reverse("exams:prechecks", args=[attempt.pk])).content)
    bodies.append(c.get(reverse("exams:agreement", args=[attempt.pk])).content)
    r = c.post(
        reverse("exams:agreement", args=[attempt.pk]), {"version": 1}, REMOTE_ADDR="198.51.100.4"
    )
    assert r.status_code == 400  # box not ticked
    bodies.append(r.content)
    r = c.post(
        reverse("exams:agreement", args=[attempt.pk]),
        {"version": 1, "accept": "yes"},
        HTTP_USER_AGENT="TestBrowser/1",
    )
    assert r.status_code == 302 and r["Location"].endswith("/session/")
    bodies.append(c.get(r["Location"]).content)
    for body in bodies:
        assert CODE.encode() not in body
    attempt.refresh_from_db()
    return attempt


def test_the_access_code_is_absent_from_every_response_before_an_active_session(world) -> None:
    c = client_for(world.bob)
    attempt = _walk_to_session(world, c)
    assert attempt.status == S.IN_PROGRESS
    early = c.get(reverse("exams:access_code", args=[attempt.pk]))
    assert early.status_code == 403 and CODE.encode() not in early.content
    beat = c.post(reverse("exams:heartbeat", args=[attempt.pk]))
    assert beat.json()["status"] == "in_progress"
    revealed = c.get(reverse("exams:access_code", args=[attempt.pk]))
    assert revealed.status_code == 200 and revealed.json()["code"] == CODE
    assert revealed["Cache-Control"] == "no-store"
    end = c.post(
        reverse("exams:end", args=[attempt.pk]), data="{}", content_type="application/json"
    )
    assert end.json()["status"] == "submitted"
    after = c.get(reverse("exams:access_code", args=[attempt.pk]))
    assert after.status_code == 403 and CODE.encode() not in after.content


def test_staff_pages_show_the_code_only_to_staff(world) -> None:
    assert (
        CODE
        in client_for(world.alice)
        .get(reverse("exams:settings", args=[world.exam.pk]))
        .content.decode()
    )


def test_speedtest_measures_and_discards_the_upload(world) -> None:
    attempt = services.attempt_start_or_resume(exam=world.exam, user=world.bob)
    r = client_for(world.bob).post(
        reverse("exams:speedtest", args=[attempt.pk]),
        data=b"x" * 300_000,
        content_type="application/octet-stream",
    )
    assert r.status_code == 200 and r.json()["bytes"] == 300_000


def test_high_visibility_is_remembered_on_the_server(world) -> None:
    c = client_for(world.bob)
    attempt = services.attempt_start_or_resume(exam=world.exam, user=world.bob)
    r = c.post(
        reverse("exams:pref_high_visibility"),
        data=json.dumps({"enabled": True}),
        content_type="application/json",
    )
    assert r.status_code == 200
    page = c.get(reverse("exams:before", args=[attempt.pk])).content.decode()
    assert 'class="high-visibility"' in page


def test_bad_json_is_a_400_with_an_error_id(world) -> None:
    attempt = services.attempt_start_or_resume(exam=world.exam, user=world.bob)
    r = client_for(world.bob).post(
        reverse("exams:check_record", args=[attempt.pk, "browser"]),
        data="{nope",
        content_type="application/json",
    )
    assert r.status_code == 400 and r.json()["error_id"]


def test_before_you_begin_says_what_is_recorded_and_for_how_long(world) -> None:
    attempt = services.attempt_start_or_resume(exam=world.exam, user=world.bob)
    page = client_for(world.bob).get(reverse("exams:before", args=[attempt.pk])).content.decode()
    assert "Video from your webcam." in page
    assert "deleted 14 days after the exam" in page
    assert 'id="warning-box"' in page and 'id="start-prechecks"' in page


@pytest.mark.parametrize("kind", ["camera", "photo_id"])
def test_frames_must_be_images(world, kind: str) -> None:
    attempt = services.attempt_start_or_resume(exam=world.exam, user=world.bob)
    r = client_for(world.bob).post(
        reverse("exams:frame_submit", args=[attempt.pk, kind]),
        data=b"{}",
        content_type="application/json",
    )
    assert r.status_code == 415


def _proctoring_attempt(world) -> Attempt:  # type: ignore[no-untyped-def]
    from proctor_lti.lti.launch_data import ProctoringClaims

    world.exam.delivery = Exam.Delivery.PROCTORING_SERVICES
    world.exam.save()
    attempt = services.attempt_start_or_resume(
        exam=world.exam,
        user=world.bob,
        proctoring=ProctoringClaims(
            start_assessment_url="https://lms.example.edu/start",
            session_data="opaque",
            attempt_number=1,
        ),
    )
    return attempt


def test_the_exam_window_link_works_without_cookies_only_while_in_progress(world) -> None:
    from proctor_lti.exams.views_student import start_assessment_url
    from proctor_lti.lti.keys import tool_key_create
    from proctor_lti.lti.models import ToolKey

    tool_key_create(state=ToolKey.State.ACTIVE)
    attempt = _proctoring_attempt(world)
    url = start_assessment_url(attempt)
    anonymous = Client()
    assert anonymous.get(url).status_code == 409  # not in progress yet
    services.attempt_transition(attempt=attempt, to=S.READY)
    services.attempt_transition(attempt=attempt, to=S.IN_PROGRESS)
    page = anonymous.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert 'action="https://lms.example.edu/start"' in body and 'name="JWT"' in body
    assert anonymous.get(url[:-3] + "xyz").status_code == 403
    other = services.attempt_start_or_resume(exam=world.exam, user=world.dana)
    forged = url.replace(f"/attempts/{attempt.pk}/", f"/attempts/{other.pk}/")
    assert anonymous.get(forged).status_code == 403


def test_the_session_page_offers_the_tools_the_exam_enables(world) -> None:
    services.exam_update_settings(
        exam=world.exam,
        actor=world.alice,
        data={
            "tools": {"calculator": "scientific", "whiteboard": True},
            "recording": {"webcam": False},
            "verification": {"camera": False},
        },
    )
    attempt = services.attempt_start_or_resume(exam=world.exam, user=world.bob)
    services.attempt_transition(attempt=attempt, to=S.READY)
    services.attempt_transition(attempt=attempt, to=S.IN_PROGRESS)
    page = client_for(world.bob).get(reverse("exams:session", args=[attempt.pk])).content.decode()
    assert 'id="calculator"' in page and "Scientific calculator" in page
    assert 'id="whiteboard"' in page
    assert CODE not in page


def test_a_long_lived_page_can_fetch_a_fresh_csrf_token_after_a_new_sign_in(world) -> None:
    c = Client(enforce_csrf_checks=True)
    c.force_login(world.bob)
    attempt = services.attempt_start_or_resume(exam=world.exam, user=world.bob)
    token = c.get(reverse("exams:csrf")).json()["token"]
    # A launch in another window signs the student in again: Django rotates the CSRF secret.
    c.cookies["csrftoken"] = "a" * 32
    url = reverse("exams:heartbeat", args=[attempt.pk])
    stale = c.post(url, HTTP_X_CSRFTOKEN=token)
    assert stale.status_code == 403
    fresh = c.get(reverse("exams:csrf")).json()["token"]
    assert c.post(url, HTTP_X_CSRFTOKEN=fresh).status_code == 200


def test_the_end_page_links_students_to_their_flags_only_when_the_exam_shares_them(world) -> None:
    attempt = services.attempt_start_or_resume(exam=world.exam, user=world.bob)
    c = client_for(world.bob)
    link = reverse("review:my_attempt", args=[attempt.pk])
    page = c.get(reverse("exams:done", args=[attempt.pk])).content.decode()
    assert link not in page and c.get(link).status_code == 404
    Exam.objects.filter(pk=world.exam.pk).update(students_see_own_flags=True)
    page = c.get(reverse("exams:done", args=[attempt.pk])).content.decode()
    assert link in page and c.get(link).status_code == 200


def test_a_heartbeat_the_database_cannot_store_is_a_503_to_retry(world, monkeypatch) -> None:
    from django.db import OperationalError

    attempt = services.attempt_start_or_resume(exam=world.exam, user=world.bob)
    Attempt.objects.filter(pk=attempt.pk).update(status=Attempt.Status.IN_PROGRESS)

    def locked(**kwargs):  # type: ignore[no-untyped-def]
        raise OperationalError("database is locked")

    monkeypatch.setattr(services, "attempt_heartbeat", locked)
    response = client_for(world.bob).post(reverse("exams:heartbeat", args=[attempt.pk]))
    assert response.status_code == 503 and response["Retry-After"]
    assert response.json()["error"] == "retry_later"
