"""Django admin for review data and operator actions on attempts.

Operators re-run analysis, purge an attempt's media now (with a recorded reason) and extend
retention from "Attempts (media and analysis)". Keys never appear here.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from proctor_lti.core.admin_mixins import KeptRecordAdmin
from proctor_lti.core.errors import UserFacingError

from . import operations, services
from .models import AttemptOperations, AttemptReview, AttemptScore, Evidence, Flag, ReviewNote


class EvidenceInline(admin.TabularInline):
    model = Evidence
    fields = ("at_s", "storage_name", "mime_type")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Flag)
class FlagAdmin(KeptRecordAdmin, admin.ModelAdmin):
    list_display = ("id", "attempt", "type", "source", "start_s", "end_s", "confidence",
                    "decision", "reason_code", "decided_by")
    list_filter = ("source", "type", "decision")
    search_fields = ("attempt__exam__title", "attempt__user__username", "type")
    list_select_related = ("attempt__exam", "attempt__user", "decided_by")
    readonly_fields = ("attempt", "source", "type", "start_s", "end_s", "confidence",
                       "explanation", "decision", "reason_code", "decided_by", "decided_at")
    # Flags come from detection and lockdown events; decisions from the review page.
    inlines = [EvidenceInline]


@admin.register(AttemptReview)
class AttemptReviewAdmin(KeptRecordAdmin, admin.ModelAdmin):
    list_display = ("attempt", "outcome", "decided_by", "decided_at")
    list_filter = ("outcome",)
    readonly_fields = ("attempt", "outcome", "decided_by", "decided_at")


@admin.register(ReviewNote)
class ReviewNoteAdmin(KeptRecordAdmin, admin.ModelAdmin):
    list_display = ("attempt", "author", "created_at")
    readonly_fields = ("attempt", "author", "text", "created_at")


@admin.register(AttemptScore)
class AttemptScoreAdmin(KeptRecordAdmin, admin.ModelAdmin):
    list_display = ("attempt", "value", "band", "computed_at")
    list_filter = ("band",)
    readonly_fields = ("attempt", "value", "band", "parts", "exam_minutes", "weights",
                       "computed_at")


class PurgeForm(forms.Form):
    reason = forms.CharField(max_length=255, label="Reason (recorded in the deletion log)")


class RetentionForm(forms.Form):
    until = forms.DateField(label="Keep media until (date)",
                            widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(max_length=255, label="Reason (recorded in the audit log)")


@admin.register(AttemptOperations)
class AttemptOperationsAdmin(admin.ModelAdmin):
    list_display = ("id", "exam", "user", "number", "status", "suspicion_score", "started_at",
                    "retain_until", "media_purged")
    list_filter = ("status", "exam__context__platform")
    search_fields = ("exam__title", "user__username", "user__lti_identity__name")
    list_select_related = ("exam", "user", "vault")
    actions = ["rerun_analysis", "rederive_flags", "recalculate_score", "purge_media",
               "extend_retention"]
    fields = ("exam", "user", "number", "status", "started_at", "ended_at", "suspicion_score")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Retain until")
    def retain_until(self, obj: AttemptOperations) -> Any:
        vault = getattr(obj, "vault", None)
        return vault.retain_until if vault else None

    @admin.display(description="Media purged", boolean=True)
    def media_purged(self, obj: AttemptOperations) -> bool:
        vault = getattr(obj, "vault", None)
        return bool(vault and vault.purged_at)

    def _each(self, request: HttpRequest, queryset: QuerySet, fn: Any, done: str) -> None:
        ok = 0
        for attempt in queryset.select_related("exam"):
            try:
                fn(attempt)
                ok += 1
            except UserFacingError as exc:
                self.message_user(request, f"Attempt {attempt.pk}: {exc.message}",
                                  messages.ERROR)
        if ok:
            self.message_user(request, done.format(n=ok), messages.SUCCESS)

    @admin.action(description="Re-run analysis (detection models) for selected attempts")
    def rerun_analysis(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, lambda a: operations.attempt_analysis_rerun(
            attempt=a, actor=request.user), "Analysis queued again for {n} attempt(s).")

    @admin.action(description="Re-derive flags from stored observations (no model run)")
    def rederive_flags(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, lambda a: operations.attempt_flags_rederive(
            attempt=a, actor=request.user), "Flag aggregation queued for {n} attempt(s).")

    @admin.action(description="Recalculate suspicion scores")
    def recalculate_score(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, lambda a: services.score_recalculate(attempt=a),
                   "Recalculated {n} score(s).")

    @admin.action(description="Purge media now (asks for a reason)")
    def purge_media(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        from proctor_lti.recordings.retention import attempt_media_purge

        form = PurgeForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            self._each(request, queryset, lambda a: attempt_media_purge(
                attempt=a, actor=request.user, reason=reason),
                "Purged the media of {n} attempt(s).")
            return None
        return self._confirm(request, queryset, form, "purge_media",
                             "Purge media now",
                             "Recordings and evidence images of these attempts will be deleted "
                             "for good. Flags, decisions and notes stay.")

    @admin.action(description="Extend media retention (asks for a date and a reason)")
    def extend_retention(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        from proctor_lti.recordings.retention import retention_extend

        form = RetentionForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            until = timezone.make_aware(datetime.combine(form.cleaned_data["until"], time.max))
            reason = form.cleaned_data["reason"]
            self._each(request, queryset, lambda a: retention_extend(
                attempt=a, until=until, actor=request.user, reason=reason),
                "Retention extended for {n} attempt(s).")
            return None
        return self._confirm(request, queryset, form, "extend_retention",
                             "Extend media retention",
                             "Media of these attempts will be kept until the date you give.")

    def _confirm(self, request: HttpRequest, queryset: QuerySet, form: forms.Form,
                 action: str, title: str, warning: str) -> TemplateResponse:
        return TemplateResponse(request, "admin/review/attempt_action_confirm.html", {
            **self.admin_site.each_context(request), "title": title, "warning": warning,
            "form": form, "queryset": queryset, "action": action,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME})
