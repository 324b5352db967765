"""LTI routing with LaunchData built in the test (the real-platform round trip is tested by
the LTI-services engineer)."""

from __future__ import annotations

import pytest
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.middleware import SessionMiddleware
from django.test import RequestFactory

from proctor_lti.exams import services
from proctor_lti.exams.entry import handle_launch
from proctor_lti.exams.models import Attempt, Exam
from proctor_lti.lti.launch_data import (
    MSG_DEEP_LINKING,
    MSG_END_ASSESSMENT,
    MSG_RESOURCE_LINK,
    MSG_START_PROCTORING,
    LaunchData,
    ProctoringClaims,
)
from proctor_lti.lti.models import Membership
from tests.factories import ResourceLinkFactory

S = Attempt.Status


def launch_for(
    world, user, *, message=MSG_RESOURCE_LINK, link=None, role=None, proctoring=None, custom=None
) -> LaunchData:  # type: ignore[no-untyped-def]
    membership = Membership.objects.get(user=user, context=world.course_a)
    return LaunchData(
        message_type=message,
        platform=world.platform,
        deployment=world.deployment,
        identity=user.lti_identity,
        context=world.course_a,
        membership=membership,
        resource_link=link if link is not None else world.link,
        role=role or membership.role,
        custom=custom or {},
        claims={},
        proctoring=proctoring,
        launch_id="launch-1",
    )


def request_for(user):  # type: ignore[no-untyped-def]
    request = RequestFactory().post("/lti/launch", REMOTE_ADDR="127.0.0.1")
    SessionMiddleware(lambda r: None).process_request(request)
    request.session.save()
    request._messages = FallbackStorage(request)
    request.user = user
    return request


def test_a_learner_lands_on_before_you_begin_of_a_new_attempt(world) -> None:
    response = handle_launch(request_for(world.bob), launch_for(world, world.bob))
    attempt = Attempt.objects.get(exam=world.exam, user=world.bob)
    assert response.status_code == 302
    assert response["Location"] == f"/exams/attempts/{attempt.pk}/"


def test_a_learner_in_progress_is_sent_back_to_the_session(world) -> None:
    attempt = services.attempt_start_or_resume(exam=world.exam, user=world.bob)
    services.attempt_transition(attempt=attempt, to=S.READY)
    services.attempt_transition(attempt=attempt, to=S.IN_PROGRESS)
    response = handle_launch(request_for(world.bob), launch_for(world, world.bob))
    assert response["Location"] == f"/exams/attempts/{attempt.pk}/session/"


def test_staff_go_to_the_settings_page(world) -> None:
    response = handle_launch(request_for(world.alice), launch_for(world, world.alice))
    assert response["Location"] == f"/exams/{world.exam.pk}/settings/"


def test_staff_on_a_link_without_exam_get_the_create_form(world) -> None:
    link = ResourceLinkFactory(context=world.course_a, title="Quiz 3")
    response = handle_launch(request_for(world.alice), launch_for(world, world.alice, link=link))
    assert response.status_code == 200
    assert b"Create a proctored exam here" in response.content
    assert f"/exams/create/{link.pk}/".encode() in response.content


def test_a_learner_on_a_link_without_exam_gets_a_clear_404(world) -> None:
    link = ResourceLinkFactory(context=world.course_a)
    response = handle_launch(request_for(world.bob), launch_for(world, world.bob, link=link))
    assert response.status_code == 404
    assert b"not set up yet" in response.content


def test_a_deep_linked_exam_is_found_by_its_custom_exam_id(world) -> None:
    link = ResourceLinkFactory(context=world.course_a)
    other = services.exam_create(context=world.course_a, title="Deep linked")
    response = handle_launch(
        request_for(world.bob),
        launch_for(world, world.bob, link=link, custom={"exam_id": str(other.pk)}),
    )
    assert response.status_code == 302
    assert Attempt.objects.filter(exam=other, user=world.bob).exists()


def test_a_custom_exam_id_from_another_course_is_ignored(world) -> None:
    foreign = services.exam_create(context=world.course_b, title="B exam")
    link = ResourceLinkFactory(context=world.course_a)
    response = handle_launch(
        request_for(world.bob),
        launch_for(world, world.bob, link=link, custom={"exam_id": str(foreign.pk)}),
    )
    assert response.status_code == 404
    assert not Attempt.objects.filter(exam=foreign).exists()


def test_deep_linking_goes_to_the_lti_services_picker(world) -> None:
    response = handle_launch(
        request_for(world.bob), launch_for(world, world.bob, message=MSG_DEEP_LINKING)
    )
    assert response.status_code == 403  # learners may not add exams: the picker's own rule
    assert b"Only instructors" in response.content


def _proctoring(number: int = 1, session_data: str = "opaque-session") -> ProctoringClaims:
    return ProctoringClaims(
        start_assessment_url="https://lms.example.edu/start",
        session_data=session_data,
        attempt_number=number,
        acs_url="https://lms.example.edu/acs",
        return_url="https://lms.example.edu/return",
    )


def test_start_proctoring_creates_the_attempt_with_the_platform_data(world) -> None:
    world.exam.delivery = Exam.Delivery.PROCTORING_SERVICES
    world.exam.save()
    response = handle_launch(
        request_for(world.bob),
        launch_for(world, world.bob, message=MSG_START_PROCTORING, proctoring=_proctoring()),
    )
    attempt = Attempt.objects.get(exam=world.exam, user=world.bob)
    assert response["Location"] == f"/exams/attempts/{attempt.pk}/"
    assert attempt.lti_session_data == "opaque-session"
    assert attempt.lti_attempt_number == 1
    assert attempt.lti_start_assessment_url == "https://lms.example.edu/start"
    assert attempt.lti_acs_url == "https://lms.example.edu/acs"


def test_start_proctoring_on_an_unknown_link_creates_a_minimal_exam(world) -> None:
    link = ResourceLinkFactory(context=world.course_a, title="Open edX final")
    handle_launch(
        request_for(world.bob),
        launch_for(
            world, world.bob, link=link, message=MSG_START_PROCTORING, proctoring=_proctoring()
        ),
    )
    exam = Exam.objects.get(resource_link=link)
    assert exam.delivery == Exam.Delivery.PROCTORING_SERVICES
    assert exam.preset == "minimal" and exam.title == "Open edX final"


def test_start_proctoring_without_attempt_number_is_a_clear_400(world) -> None:
    response = handle_launch(
        request_for(world.bob),
        launch_for(world, world.bob, message=MSG_START_PROCTORING, proctoring=ProctoringClaims()),
    )
    assert response.status_code == 400


def test_end_assessment_submits_and_returns_to_the_platform(world) -> None:
    world.exam.delivery = Exam.Delivery.PROCTORING_SERVICES
    world.exam.save()
    attempt = services.attempt_start_or_resume(
        exam=world.exam, user=world.bob, proctoring=_proctoring()
    )
    services.attempt_transition(attempt=attempt, to=S.READY)
    services.attempt_transition(attempt=attempt, to=S.IN_PROGRESS)
    response = handle_launch(
        request_for(world.bob),
        launch_for(world, world.bob, message=MSG_END_ASSESSMENT, proctoring=_proctoring()),
    )
    attempt.refresh_from_db()
    assert attempt.status == S.SUBMITTED
    assert response.status_code == 302
    assert response["Location"] == "https://lms.example.edu/return"


def test_a_learner_launching_a_proctoring_services_exam_directly_is_told_where_to_start(
    world,
) -> None:
    world.exam.delivery = Exam.Delivery.PROCTORING_SERVICES
    world.exam.save()
    response = handle_launch(request_for(world.bob), launch_for(world, world.bob))
    assert response.status_code == 409


@pytest.mark.parametrize("status", [S.SUBMITTED, S.REVIEWED])
def test_start_proctoring_for_an_ended_attempt_is_refused(world, status) -> None:
    attempt = services.attempt_start_or_resume(
        exam=world.exam, user=world.bob, proctoring=_proctoring()
    )
    Attempt.objects.filter(pk=attempt.pk).update(status=status)
    response = handle_launch(
        request_for(world.bob),
        launch_for(world, world.bob, message=MSG_START_PROCTORING, proctoring=_proctoring()),
    )
    assert response.status_code == 409
