"""Views for deep linking, Dynamic Registration and the Canvas JSON configuration.

Thin: the work is in deep_linking.py, dynamic_registration.py and canvas_config.py.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from proctor_lti.core.audit import audit_record
from proctor_lti.core.errors import UserFacingError, error_page
from proctor_lti.core.models import AuditEntry

from . import deep_linking as dl
from . import dynamic_registration as reg
from .autopost import auto_post_response, check_platform_url
from .canvas_config import canvas_developer_key_json
from .launch_data import LaunchData
from .models import Context

# --- Deep linking -------------------------------------------------------------------------


class DeepLinkingForm(forms.Form):
    CHOICES = [
        ("existing", gettext_lazy("Use an existing exam")),
        ("new", gettext_lazy("Create a new exam")),
    ]
    choice = forms.ChoiceField(
        choices=CHOICES, widget=forms.RadioSelect, initial="new", label=gettext_lazy("What to add")
    )
    exam = forms.TypedChoiceField(coerce=int, required=False, label=gettext_lazy("Exam"))
    title = forms.CharField(max_length=255, required=False, label=gettext_lazy("Exam title"))
    delivery = forms.ChoiceField(label=gettext_lazy("How the exam is delivered"), required=False)
    preset = forms.ChoiceField(
        label=gettext_lazy("Settings preset"), initial="minimal", required=False
    )

    def __init__(self, *args, exams: list, **kwargs) -> None:  # type: ignore[no-untyped-def]
        from proctor_lti.exams.models import Exam

        super().__init__(*args, **kwargs)
        self.fields["exam"].choices = [("", "---")] + [(e.pk, e.title) for e in exams]
        self.fields["delivery"].choices = Exam.Delivery.choices
        self.fields["delivery"].initial = Exam.Delivery.ACCESS_CODE
        try:
            from proctor_lti.exams.settings_schema import PRESET_LABELS

            self.fields["preset"].choices = list(PRESET_LABELS.items())
        except ImportError:
            self.fields["preset"].choices = [("minimal", _("Minimal data"))]

    def clean(self) -> dict:  # type: ignore[type-arg]
        data = super().clean()
        if data.get("choice") == "existing" and not data.get("exam"):
            self.add_error("exam", _("Choose the exam to add."))
        if data.get("choice") == "new":
            if not (data.get("title") or "").strip():
                self.add_error("title", _("Give the new exam a title."))
            if not data.get("delivery"):
                self.add_error("delivery", _("Choose how the exam is delivered."))
            data["preset"] = data.get("preset") or "minimal"
        return data


def _picker(
    request: HttpRequest, stash: dl.DeepLinkingStash, form: DeepLinkingForm, status: int = 200
) -> HttpResponse:
    context = Context.objects.get(pk=stash.context_id)
    return render(
        request,
        "lti/deep_linking.html",
        {"form": form, "stash": stash, "course": context},
        status=status,
    )


def deep_linking_start(request: HttpRequest, launch: LaunchData) -> HttpResponse:
    """Called by exams.entry.handle_launch for an LtiDeepLinkingRequest: the exam picker."""
    try:
        if not launch.is_staff_role:
            raise UserFacingError(
                _("Only instructors can add proctored exams to a course."),
                code="lti_deep_linking_role",
                status=403,
            )
        stash = dl.deep_linking_stash(launch)
        check_platform_url(stash.return_url, what=_("content selection return"))
    except UserFacingError as error:
        return error_page(request, error)
    form = DeepLinkingForm(
        exams=dl.exams_of_context(stash.context_id), initial={"title": stash.title}
    )
    return _picker(request, stash, form)


@require_POST
def deep_linking_submit(request: HttpRequest) -> HttpResponse:
    """The instructor's choice -> a signed LtiDeepLinkingResponse posted to the platform."""
    try:
        stash = dl.deep_linking_load(
            request.POST.get("launch_id", ""),
            user_id=request.user.pk if request.user.is_authenticated else None,
        )
    except UserFacingError as error:
        return error_page(request, error)
    if "cancel" in request.POST:
        items: list[dict] = []  # type: ignore[type-arg]
        message = ""
    else:
        exams = dl.exams_of_context(stash.context_id)
        form = DeepLinkingForm(request.POST, exams=exams)
        if not form.is_valid():
            return _picker(request, stash, form, status=400)
        if form.cleaned_data["choice"] == "existing":
            exam = next(e for e in exams if e.pk == form.cleaned_data["exam"])
        else:
            exam = dl.deep_linking_exam_create(
                context=Context.objects.get(pk=stash.context_id),
                title=form.cleaned_data["title"].strip(),
                delivery=form.cleaned_data["delivery"],
                preset=form.cleaned_data["preset"],
                actor=request.user,
            )
        items = [dl.exam_content_item(exam)]
        message = _("Added the proctored exam “%(title)s”.") % {"title": exam.title}
    token = dl.deep_linking_response_jwt(stash, items=items, message=message)
    dl.deep_linking_forget(stash.launch_id)
    return auto_post_response(
        request,
        action=stash.return_url,
        fields={"JWT": token},
        title=_("Returning to your course"),
        message=message or _("Nothing was added."),
    )


# --- Canvas JSON ----------------------------------------------------------------------------


@require_GET
def canvas_json(request: HttpRequest) -> JsonResponse:
    """GET /lti/canvas.json: paste its URL into Canvas (Developer Keys > LTI Key > Enter URL)."""
    return JsonResponse(canvas_developer_key_json(), json_dumps_params={"indent": 2})


# --- Dynamic Registration -------------------------------------------------------------------


def _framable_by(response: HttpResponse, *urls: str) -> HttpResponse:
    # The platform shows this page in an iframe before it is registered, so the usual
    # frame-ancestors list (registered platforms) does not contain it yet.
    origins = sorted({o for o in map(reg.origin_of, urls) if o})
    response["Content-Security-Policy"] = " ".join(["frame-ancestors 'self'", *origins])
    return response


def _lms_origin(request: HttpRequest) -> str:
    """The LMS host showing the registration dialog (Canvas cloud: the school's own host).

    First seen as the Referer of the framed GET; carried through the admin login (a `next`
    parameter) and the confirm form, because later requests have our own pages as Referer.
    """
    own = reg.origin_of(request.build_absolute_uri("/"))
    candidates = (
        [request.POST.get("lms_origin", "")]
        if request.method == "POST"
        else [request.META.get("HTTP_REFERER", ""), request.GET.get("lms_origin", "")]
    )
    for candidate in candidates:
        origin = reg.origin_of(candidate)
        if origin and origin != own:
            return origin
    return ""


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    """GET: read the platform's configuration and ask to confirm. POST: register.

    Only for staff users of the tool; others go through the admin login (inside the LMS
    dialog: the session cookie is partitioned per LMS site) and come back here.
    """
    source = request.POST if request.method == "POST" else request.GET
    openid_configuration = source.get("openid_configuration", "")
    registration_token = source.get("registration_token", "")
    lms_origin = _lms_origin(request)
    if not (request.user.is_active and request.user.is_staff):
        params = request.GET.copy()
        if lms_origin:
            params["lms_origin"] = lms_origin
        response = redirect_to_login(
            f"{request.path}?{params.urlencode()}", login_url=reverse("admin:login")
        )
        return _framable_by(response, openid_configuration, lms_origin)
    try:
        if not openid_configuration:
            raise reg.RegistrationError(
                _("This page is opened by your LMS during Dynamic Registration."),
                hint=_(
                    "In the LMS admin pages, add a tool by URL and give it this page's address."
                ),
            )
        config = reg.registration_fetch_configuration(
            openid_configuration=openid_configuration, registration_token=registration_token
        )
        if request.method == "GET":
            response = render(
                request,
                "lti/register_confirm.html",
                {
                    "config": config,
                    "openid_configuration": openid_configuration,
                    "registration_token": registration_token,
                    "lms_origin": lms_origin,
                    "payload": reg.tool_registration_payload(config),
                    "family": (config.get(reg.PLATFORM_CONFIG) or {}).get(
                        "product_family_code", ""
                    ),
                },
            )
            return _framable_by(response, openid_configuration, lms_origin)
        answer = reg.registration_submit(config=config, registration_token=registration_token)
        platform, deployment_id = reg.registration_store(
            config=config,
            answer=answer,
            openid_configuration=openid_configuration,
            lms_origin=lms_origin,
        )
    except UserFacingError as error:
        return _framable_by(error_page(request, error), openid_configuration, lms_origin)
    audit_record(
        actor=request.user,
        action=AuditEntry.Action.ADMIN,
        target=platform,
        request=request,
        detail={"dynamic_registration": platform.issuer, "client_id": platform.client_id},
    )
    response = render(
        request, "lti/register_done.html", {"platform": platform, "deployment_id": deployment_id}
    )
    return _framable_by(response, openid_configuration, lms_origin)
