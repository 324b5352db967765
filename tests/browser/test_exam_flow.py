"""Issue 3 in a real browser: a student launched from the dev LMS walks Before you Begin ->
pre-checks -> agreement -> proctored session -> end, with both delivery modes, in normal and
high-visibility mode, with axe-core on every page and a real worker doing the camera test."""

from __future__ import annotations

import time

import pytest

from proctor_lti.devlms import roster
from proctor_lti.devlms.models import DevProctoringSession
from proctor_lti.exams.models import AgreementAcceptance, Attempt
from proctor_lti.recordings.models import Chunk

from . import flow
from .conftest import wait_until
from .worker import celery_worker_process  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ENDED = {"submitted", "analysing", "reviewable", "reviewed"}


def _stored_seqs(attempt: Attempt, kind: str) -> list[int]:
    return list(Chunk.objects.filter(recording__attempt=attempt, recording__kind=kind)
                .order_by("seq").values_list("seq", flat=True))


def _attempt(user_key: str, link_id: str) -> Attempt:
    return Attempt.objects.select_related("exam").get(
        user__lti_identity__sub=roster.USERS[user_key].sub,
        exam__resource_link__resource_link_id=link_id)


@pytest.mark.parametrize("high_visibility", [False, True], ids=["normal", "high-visibility"])
def test_a_student_takes_an_access_code_exam_from_the_lms(
        make_browser, site, celery_worker_process, high_visibility):  # noqa: F811
    b = make_browser()
    b.driver.get(site.lms())
    started = time.monotonic()
    b.click(f"#launch-{roster.ACCESS_CODE_LINK_ID}-ada")
    b.into_tool_frame()
    flow.before_you_begin(b, high_visibility=high_visibility)
    flow.prechecks(b, high_visibility=high_visibility)
    flow.agreement(b, high_visibility=high_visibility)
    flow.start_session(b, high_visibility=high_visibility)
    exam_started = time.monotonic() - started
    if not high_visibility:
        flow.record_timing("launch_to_exam_started_access_code", exam_started)
    code = b.find("#access-code", timeout=30).text
    attempt = _attempt("ada", roster.ACCESS_CODE_LINK_ID)
    assert code == attempt.exam.access_code
    flow.page(b, "session recording with access code", high_visibility)

    session_window = b.driver.current_window_handle
    b.click("#open-exam")
    b.wait(lambda d: len(d.window_handles) == 2, 10, "the exam window did not open")
    b.driver.switch_to.window([h for h in b.driver.window_handles if h != session_window][0])
    b.find("#access_code").send_keys(code)
    b.click("#quiz-code-submit")
    b.click("#quiz-submit")
    b.find("#quiz-submitted")
    b.shot("quiz submitted in the exam window")
    b.driver.close()
    b.driver.switch_to.window(session_window)
    b.into_tool_frame()
    # Record past a segment boundary, so the end has a restarted recorder to flush too.
    wait_until(lambda: _stored_seqs(attempt, "webcam")[-1:] >= [1], 40,
               "the second webcam segment did not reach the server")

    flow.end_session(b, high_visibility=high_visibility)
    b.find("[data-testid=ended-title]", timeout=60)
    flow.page(b, "session ended", high_visibility)
    attempt.refresh_from_db()
    assert attempt.status in ENDED and attempt.started_at and attempt.ended_at
    assert AgreementAcceptance.objects.filter(attempt=attempt).exists()
    for kind in ("webcam", "screen"):
        seqs = _stored_seqs(attempt, kind)
        # Every chunk the browser recorded arrived (no gap), once (unique per seq).
        assert seqs and seqs == list(range(len(seqs))), f"{kind} chunks stored: {seqs}"


def _new_window(b, known: set[str]) -> str:  # type: ignore[no-untyped-def]
    b.wait(lambda d: len(set(d.window_handles) - known) == 1, 10, "no new window opened")
    handle = (set(b.driver.window_handles) - known).pop()
    b.driver.switch_to.window(handle)
    return handle


# Open edX opens the proctoring tool in a new window; the LMS iframe is the other way.
@pytest.mark.parametrize("high_visibility, presentation",
                         [(False, "window"), (True, "iframe")],
                         ids=["normal-new-window", "high-visibility-iframe"])
def test_a_student_takes_an_lti_proctoring_services_exam_from_the_lms(
        make_browser, site, celery_worker_process, high_visibility, presentation):  # noqa: F811
    b = make_browser()
    b.driver.get(site.lms())
    lms_window = b.driver.current_window_handle
    started = time.monotonic()
    b.click(f"#start-proctoring-{roster.PROCTORING_LINK_ID}-grace")
    if presentation == "window":
        b.click("#open-in-new-window")
        session_window = _new_window(b, {lms_window})
    else:
        session_window = lms_window
        b.into_tool_frame()
    flow.before_you_begin(b, high_visibility=high_visibility)
    flow.prechecks(b, high_visibility=high_visibility)
    flow.agreement(b, high_visibility=high_visibility)
    flow.start_session(b, high_visibility=high_visibility)
    if not high_visibility:
        flow.record_timing("launch_to_exam_started_lti_proctoring",
                           time.monotonic() - started, {"presentation": presentation})
    flow.page(b, "session recording (LTI Proctoring Services)", high_visibility)

    b.click("#open-exam")
    _new_window(b, {lms_window, session_window})
    # The LMS verified our signed LtiStartAssessment before showing the assessment.
    assert b.find("#assessment-status", timeout=30).text == "running"
    b.shot("platform verified LtiStartAssessment")
    b.axe("dev LMS assessment page")
    dev_session = DevProctoringSession.objects.get(user_key="grace")
    assert dev_session.status == "running" and dev_session.attempt_number == 1
    b.click("#assessment-end")
    # With end_assessment_return the LMS launches LtiEndAssessment; the tool ends the
    # session and sends the student back to the LMS's return URL.
    finished = b.find("#assessment-finished", timeout=30)
    b.shot("back in the LMS after LtiEndAssessment")
    assert "submitted" in finished.text
    attempt = _attempt("grace", roster.PROCTORING_LINK_ID)
    assert attempt.lti_attempt_number == 1
    dev_session.refresh_from_db()
    assert dev_session.status == "complete"
    b.driver.close()
    b.driver.switch_to.window(session_window)
    if presentation == "iframe":
        b.into_tool_frame()
    # The session page learns from its heartbeat that the platform ended the attempt.
    b.find("[data-testid=ended-title]", timeout=60)
    flow.page(b, "session ended by the platform", high_visibility)
    attempt.refresh_from_db()
    assert attempt.status in ENDED
    seqs = _stored_seqs(attempt, "webcam")
    assert seqs and seqs == list(range(len(seqs))), f"webcam chunks stored: {seqs}"


def test_the_warning_box_lists_a_missing_camera(make_browser, site):
    b = make_browser(devices=False)
    b.driver.get(site.lms())
    b.click(f"#launch-{roster.ACCESS_CODE_LINK_ID}-alan")
    b.into_tool_frame()
    b.find("#start-prechecks", timeout=30)
    box = b.find("#warning-box", timeout=20)
    items = b.driver.find_elements("css selector", "#warning-list li")
    assert items, "the warning box is empty"
    assert "camera" in box.text.lower(), box.text
    b.shot("warning box without a camera")
    b.axe("before you begin with warnings")

