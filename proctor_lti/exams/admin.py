"""Admin for exams: agreement versions (institution-editable), exams, accommodations."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest

from proctor_lti.core.admin_mixins import KeptRecordAdmin

from . import services
from .models import (
    Accommodation,
    AgreementAcceptance,
    AgreementVersion,
    Attempt,
    CanvasQuizAccess,
    Exam,
)
from .settings_schema import SettingsError


@admin.register(AgreementVersion)
class AgreementVersionAdmin(admin.ModelAdmin):
    list_display = ("version", "title", "is_current", "created_at")
    fields = ("title", "text")
    ordering = ("-version",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # A published version is what students accepted: it is never edited in place.
        return ("title", "text") if obj is not None else ()

    def save_model(
        self, request: HttpRequest, obj: AgreementVersion, form: Any, change: bool
    ) -> None:
        if change:
            return
        published = services.agreement_publish(title=obj.title, text=obj.text, actor=request.user)
        obj.pk, obj.version, obj.is_current = published.pk, published.version, True

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AccommodationInline(admin.TabularInline):
    model = Accommodation
    extra = 0
    readonly_fields = (
        "user",
        "exempt_checks",
        "extra_time_minutes",
        "alternate_settings",
        "reason",
        "granted_by",
        "updated_at",
    )
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # through the instructor page, so the audit log records who and why


class ExamAdminForm(forms.ModelForm):
    """Runs the same validation as the instructor's settings page before saving, so a bad
    value is a message on the form, never a 500 (the service refuses what the page would)."""

    class Meta:
        model = Exam
        fields = "__all__"  # noqa: DJ007 (the ModelAdmin chooses what is shown)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.instance.pk or self.errors:
            return data
        changed = {k: data.get(k) for k in self.changed_data
                   if k in services.EDITABLE_FIELDS or k == "retention_days"}
        try:
            with transaction.atomic():  # a dry run: validate, then roll everything back
                services.exam_update_settings(exam=Exam.objects.get(pk=self.instance.pk),
                                              actor=None, data=changed)
                transaction.set_rollback(True)
        except SettingsError as exc:
            for field, message in exc.errors.items():
                self.add_error(field if field in self.fields else None, message)
        return data


@admin.register(Exam)
class ExamAdmin(admin.ModelAdmin):
    form = ExamAdminForm
    list_display = (
        "title",
        "context",
        "delivery",
        "preset",
        "retention_days",
        "settings_locked_at",
    )
    list_filter = ("delivery", "preset")
    search_fields = ("title", "context__title")
    readonly_fields = (
        # Where the exam lives is set by its LTI launch, not by hand.
        "context",
        "resource_link",
        "settings_locked_at",
        "recording",
        "verification",
        "lockdown",
        "tools",
        "behaviour_weights",
        "preset",
        "access_code_set_at",
    )
    exclude = ("access_code",)
    inlines = [AccommodationInline]

    def save_model(self, request: HttpRequest, obj: Exam, form: Any, change: bool) -> None:
        if change:
            data = {
                k: form.cleaned_data[k]
                for k in form.changed_data
                if k in services.EDITABLE_FIELDS or k == "retention_days"
            }
            fresh = Exam.objects.get(pk=obj.pk)
            services.exam_update_settings(exam=fresh, actor=request.user, data=data)
        else:
            super().save_model(request, obj, form, change)


@admin.register(Attempt)
class AttemptAdmin(KeptRecordAdmin, admin.ModelAdmin):
    list_display = ("exam", "user", "number", "status", "started_at", "ended_at")
    list_filter = ("status",)
    search_fields = ("exam__title", "user__username")
    readonly_fields = [
        f.name for f in Attempt._meta.fields if f.name not in ("id", "upload_secret")
    ]
    exclude = ("upload_secret",)


@admin.register(AgreementAcceptance)
class AgreementAcceptanceAdmin(KeptRecordAdmin, admin.ModelAdmin):
    list_display = ("attempt", "version", "accepted_at", "ip_address")
    readonly_fields = ("attempt", "version", "accepted_at", "ip_address", "user_agent")


class CanvasQuizAccessForm(forms.ModelForm):
    # Write-only: the stored token is never sent back to the browser.
    api_token = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text="A Canvas API token of a teacher of this course. Leave empty to keep the "
        "current token.",
    )

    class Meta:
        model = CanvasQuizAccess
        fields = ("context", "api_token")

    def clean_api_token(self) -> str:
        token = self.cleaned_data.get("api_token", "")
        if not token and self.instance.pk:
            return self.instance.api_token
        if not token:
            raise forms.ValidationError("Enter the token.")
        return token


@admin.register(CanvasQuizAccess)
class CanvasQuizAccessAdmin(admin.ModelAdmin):
    form = CanvasQuizAccessForm
    list_display = ("context", "last_error", "updated_at")
    readonly_fields = ("last_error",)
