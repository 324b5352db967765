"""Where a validated launch goes.

- LtiResourceLinkRequest: staff -> the exam's settings (or "create a proctored exam here");
  learners -> Before you Begin of their attempt.
- LtiDeepLinkingRequest -> the LTI-services exam picker.
- LtiStartProctoring (Open edX, Blackboard) -> the attempt named by the platform's
  attempt_number, then Before you Begin; after the agreement the session page opens the
  platform's exam with a signed LtiStartAssessment in a second window while it keeps recording.
- LtiEndAssessment -> end the session, back to the platform's return_url.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from proctor_lti.core.errors import UserFacingError, error_page
from proctor_lti.lti.launch_data import (
    MSG_DEEP_LINKING,
    MSG_END_ASSESSMENT,
    MSG_RESOURCE_LINK,
    MSG_START_PROCTORING,
    LaunchData,
)

from . import selectors, services
from .models import Attempt, Exam

logger = logging.getLogger(__name__)


def handle_launch(request: HttpRequest, launch: LaunchData) -> HttpResponse:
    try:
        return _route(request, launch)
    except UserFacingError as error:
        return error_page(request, error)


def _route(request: HttpRequest, launch: LaunchData) -> HttpResponse:
    if launch.message_type == MSG_DEEP_LINKING:
        from proctor_lti.lti.views_services import deep_linking_start

        return deep_linking_start(request, launch)
    if launch.context is None:
        raise UserFacingError(
            _("This link is not inside a course."),
            hint=_("Add the exam to a course in your LMS."),
            code="no_context",
        )
    exam = selectors.exam_for_resource_link(
        context=launch.context, resource_link=launch.resource_link, custom=launch.custom
    )
    if launch.message_type == MSG_START_PROCTORING:
        return _start_proctoring(request, launch, exam)
    if launch.message_type == MSG_END_ASSESSMENT:
        return _end_assessment(request, launch, exam)
    if launch.message_type != MSG_RESOURCE_LINK:
        raise UserFacingError(
            _("This kind of launch is not supported."), code="unsupported_message"
        )
    if launch.is_staff_role:
        if exam is None:
            if launch.resource_link is None:
                raise UserFacingError(
                    _("This launch has no placement to attach an exam to."), code="no_resource_link"
                )
            from .forms import CreateExamForm

            form = CreateExamForm(initial={"title": launch.resource_link.title})
            return render(
                request,
                "exams/staff_create.html",
                {"resource_link": launch.resource_link, "context": launch.context, "form": form},
            )
        return HttpResponseRedirect(reverse("exams:settings", args=[exam.pk]))
    if exam is None:
        raise UserFacingError(
            _("This proctored exam is not set up yet."),
            hint=_("Your instructor has to open it once to configure it."),
            code="exam_not_configured",
            status=404,
        )
    if exam.delivery == Exam.Delivery.PROCTORING_SERVICES:
        raise UserFacingError(
            _("Start this exam from the exam itself in your course."),
            hint=_("Your course starts the proctoring for you when you open the exam."),
            code="start_from_platform",
            status=409,
        )
    attempt = services.attempt_start_or_resume(exam=exam, user=request.user)
    return HttpResponseRedirect(_student_url(attempt))


def _student_url(attempt: Attempt) -> str:
    """The page matching where the student is in the flow (resume lands on the right step)."""
    S = Attempt.Status
    if attempt.status == S.IN_PROGRESS:
        return reverse("exams:session", args=[attempt.pk])
    if attempt.status == S.READY:
        return reverse("exams:agreement", args=[attempt.pk])
    return reverse("exams:before", args=[attempt.pk])


def _start_proctoring(request: HttpRequest, launch: LaunchData, exam: Exam | None) -> HttpResponse:
    if launch.proctoring is None or launch.proctoring.attempt_number is None:
        raise UserFacingError(
            _("The LMS did not say which attempt this is."), code="proctoring_claims_missing"
        )
    if exam is None:
        # The platform decides which exams are proctored: the first start creates the exam
        # with the privacy-minimal preset; instructors adjust it from the settings page.
        title = (launch.resource_link.title if launch.resource_link else "") or _("Proctored exam")
        exam = services.exam_create(
            context=launch.context,
            title=title,
            delivery=Exam.Delivery.PROCTORING_SERVICES,
            resource_link=launch.resource_link,
        )
    attempt = services.attempt_start_or_resume(
        exam=exam, user=request.user, proctoring=launch.proctoring
    )
    return HttpResponseRedirect(_student_url(attempt))


def _end_assessment(request: HttpRequest, launch: LaunchData, exam: Exam | None) -> HttpResponse:
    number = launch.proctoring.attempt_number if launch.proctoring else None
    attempt = None
    if exam is not None:
        found = Attempt.objects.filter(exam=exam, user=request.user)
        if number is not None:
            found = found.filter(lti_attempt_number=number)
        attempt = found.order_by("-number").first()
    if attempt is not None:
        services.attempt_end(attempt=attempt, reason="LtiEndAssessment")
    from proctor_lti.lti.proctoring import end_assessment_return_url

    url = end_assessment_return_url(launch)  # validated http(s) only: it becomes a redirect
    if url:
        return HttpResponseRedirect(url)
    return render(request, "exams/ended.html", {"attempt": attempt})
