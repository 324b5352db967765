"""Instructor pages (launched as staff from the LMS): settings, accommodations, create."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_http_methods, require_POST

from proctor_lti.core.errors import UserFacingError
from proctor_lti.lti.models import Membership, ResourceLink
from proctor_lti.lti.roster import roster_refresh_in_background

from . import selectors, services
from . import settings_schema as schema
from .forms import AccommodationForm, CreateExamForm, ExamSettingsForm
from .models import Accommodation, Attempt, CanvasQuizAccess, ReentryApproval
from .views_student import friendly_errors

# Confirmation after a redirect, carried in the URL: the messages framework's cookie is not
# sent inside a cross-site LMS frame.
DONE_MESSAGES = {
    "settings": _lazy("Settings saved."),
    "accommodation": _lazy("Accommodation saved."),
    "removed": _lazy("Accommodation removed."),
    "reentry": _lazy("Re-entry approved once for this student."),
    "canvas": _lazy("A new access code was set on the Canvas quiz."),
}


def _done(name: str, exam, what: str) -> HttpResponse:  # type: ignore[no-untyped-def]
    return HttpResponseRedirect(f"{reverse(name, args=[exam.pk])}?done={what}")


def _done_message(request: HttpRequest) -> str:
    return str(DONE_MESSAGES.get(request.GET.get("done", ""), ""))


def _students(exam) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    rows = (
        Membership.objects.filter(context=exam.context, role=Membership.Role.LEARNER)
        .select_related("user", "user__lti_identity")
        .order_by("user__username")
    )
    out = []
    for m in rows:
        identity = getattr(m.user, "lti_identity", None)
        name = identity.name if identity and identity.name else m.user.get_username()
        out.append((str(m.user_id), name))
    return out


@login_required
@friendly_errors
@require_http_methods(["GET", "POST"])
def exam_settings(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = selectors.exam_for_staff(exam_id=exam_id, user=request.user)
    form = ExamSettingsForm(request.POST or None, exam=exam)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.exam_update_settings(
                    exam=exam, actor=request.user, data=form.settings_data()
                )
            except schema.SettingsError as exc:
                form.add_settings_errors(exc.errors)
            else:
                return _done("exams:settings", exam, "settings")
        status = 400
    attempts = Attempt.objects.filter(exam=exam).values("status").order_by("status")
    counts: dict[str, int] = {}
    for row in attempts:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return render(
        request,
        "exams/staff_settings.html",
        {
            "exam": exam,
            "form": form,
            "groups": form.groups(),
            "counts": counts,
            "review_url": f"/review/exams/{exam.pk}/",
            "accommodations_url": reverse("exams:accommodations", args=[exam.pk]),
            "presets": schema.PRESET_LABELS,
            "canvas_ready": CanvasQuizAccess.objects.filter(context=exam.context).exists(),
            "done_message": _done_message(request),
        },
        status=status,
    )


@login_required
@friendly_errors
@require_http_methods(["GET", "POST"])
def accommodations(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = selectors.exam_for_staff(exam_id=exam_id, user=request.user)
    # Students who have not launched yet come from the NRPS roster, as on the review page.
    roster_refresh_in_background(exam.context)
    students = _students(exam)
    form = AccommodationForm(request.POST or None, students=students)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            user = get_user_model().objects.get(pk=int(form.cleaned_data["student"]))
            alternate = {}
            if form.cleaned_data["alternate_full_screen"]:
                alternate["lockdown"] = {"full_screen": form.cleaned_data["alternate_full_screen"]}
            try:
                services.accommodation_set(
                    exam=exam,
                    user=user,
                    actor=request.user,
                    exempt_checks=form.cleaned_data["exempt_checks"],
                    extra_time_minutes=form.cleaned_data["extra_time_minutes"],
                    alternate_settings=alternate,
                    reason=form.cleaned_data["reason"],
                )
            except schema.SettingsError as exc:
                for key, message in exc.errors.items():
                    form.add_error(key if key in form.fields else None, message)
            else:
                return _done("exams:accommodations", exam, "accommodation")
        status = 400
    rows = (
        Accommodation.objects.filter(exam=exam)
        .select_related("user", "granted_by")
        .order_by("user__username")
    )
    names = dict(students)
    return render(
        request,
        "exams/staff_accommodations.html",
        {
            "exam": exam,
            "form": form,
            "names": names,
            "rows": [
                (
                    a,
                    names.get(str(a.user_id), a.user.get_username()),
                    [schema.EXEMPTABLE_CHECKS.get(c, c) for c in a.exempt_checks],
                )
                for a in rows
            ],
            "approvals": ReentryApproval.objects.filter(exam=exam).order_by("-created_at")[:50],
            "students": students,
            "done_message": _done_message(request),
        },
        status=status,
    )


@login_required
@friendly_errors
@require_POST
def accommodation_delete(request: HttpRequest, exam_id: int, accommodation_id: int) -> HttpResponse:
    exam = selectors.exam_for_staff(exam_id=exam_id, user=request.user)
    acc = Accommodation.objects.filter(pk=accommodation_id, exam=exam).first()
    if acc is None:
        raise UserFacingError(_("Accommodation not found."), status=404, code="not_found")
    services.accommodation_remove(
        accommodation=acc, actor=request.user, reason=request.POST.get("reason", "")
    )
    return _done("exams:accommodations", exam, "removed")


@login_required
@friendly_errors
@require_POST
def reentry_approve(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = selectors.exam_for_staff(exam_id=exam_id, user=request.user)
    student_id = request.POST.get("student", "")
    if student_id not in dict(_students(exam)):
        raise UserFacingError(_("Choose a student of this course."), code="bad_student")
    user = get_user_model().objects.get(pk=int(student_id))
    services.reentry_approve(
        exam=exam, user=user, actor=request.user, reason=request.POST.get("reason", "")[:2000]
    )
    return _done("exams:accommodations", exam, "reentry")


@login_required
@friendly_errors
@require_POST
def exam_create_here(request: HttpRequest, resource_link_id: int) -> HttpResponse:
    """ "Create a proctored exam here" for a placement that has none yet."""
    link = ResourceLink.objects.select_related("context").filter(pk=resource_link_id).first()
    if link is None or not selectors.is_staff_in(context=link.context, user=request.user):
        raise UserFacingError(
            _("Placement not found, or you are not an instructor of its course."),
            status=404,
            code="not_found",
        )
    if getattr(link, "exam", None) is not None:
        return HttpResponseRedirect(reverse("exams:settings", args=[link.exam.pk]))
    form = CreateExamForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "exams/staff_create.html",
            {"resource_link": link, "context": link.context, "form": form},
            status=400,
        )
    exam = services.exam_create(
        context=link.context, resource_link=link, actor=request.user, **form.cleaned_data
    )
    return HttpResponseRedirect(reverse("exams:settings", args=[exam.pk]))


@login_required
@friendly_errors
@require_POST
def canvas_code_set(request: HttpRequest, exam_id: int) -> HttpResponse:
    """Set a new random access code on the Canvas quiz now (Canvas API token configured)."""
    from .canvas import canvas_access_code_set

    exam = selectors.exam_for_staff(exam_id=exam_id, user=request.user)
    canvas_access_code_set(exam=exam, actor=request.user)
    return _done("exams:settings", exam, "canvas")
