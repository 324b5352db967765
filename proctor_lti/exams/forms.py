"""Instructor forms; validation of values lives in settings_schema, these only collect input."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from . import settings_schema as schema
from .models import Exam
from .vocabulary import BEHAVIOUR_METRICS

LABELS: dict[str, Any] = {
    "recording.webcam": _("Webcam video"),
    "recording.microphone": _("Microphone audio"),
    "recording.screen": _("Screen"),
    "recording.room_scan": _("Room scan"),
    "verification.camera": _("Camera works"),
    "verification.microphone": _("Microphone works"),
    "verification.screen_share": _("Screen share works (entire screen)"),
    "verification.photo_id": _("Photo ID"),
    "verification.agreement": _("Exam agreement"),
    "lockdown.full_screen": _("Full screen"),
    "lockdown.one_screen": _("Only one screen"),
    "lockdown.no_clipboard": _("Disable copy, cut and paste"),
    "lockdown.no_right_click": _("Disable right click"),
    "lockdown.no_printing": _("Disable printing"),
    "lockdown.reentry": _("Re-entry"),
    "tools.calculator": _("Calculator"),
    "tools.whiteboard": _("Whiteboard"),
}
CHOICE_LABELS: dict[str, Any] = {
    "off": _("Off"),
    "start": _("At start"),
    "start_and_random": _("At start and at random moments"),
    "lenient": _("Lenient (reported after 30 s away in total)"),
    "moderate": _("Moderate (reported after 15 s away in total)"),
    "severe": _("Severe (reported at once)"),
    "allowed": _("Allowed"),
    "approval": _("With instructor approval"),
    "none": _("Not allowed"),
    "basic": _("Basic"),
    "scientific": _("Scientific"),
}
GROUP_TITLES: dict[str, Any] = {
    "recording": _("Recording"),
    "verification": _("Verification"),
    "lockdown": _("Lockdown"),
    "tools": _("In-exam tools"),
    "behaviour_weights": _("Behaviour profile (0 = off, 5 = strongest)"),
}


def field_name(group: str, field: str) -> str:
    return f"{group}__{field}"


class ExamSettingsForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=255)
    preset = forms.ChoiceField(
        label=_("Preset"),
        choices=list(schema.PRESET_LABELS.items()),
        help_text=_(
            "Choosing another preset replaces every group below "
            "with that preset's values when you save."
        ),
    )
    delivery = forms.ChoiceField(
        label=_("How the exam is delivered"), choices=Exam.Delivery.choices
    )
    exam_url = forms.URLField(
        label=_("Exam address (access-code gate)"),
        required=False,
        max_length=1000,
        assume_scheme="https",
    )
    access_code = forms.CharField(
        label=_("Access code (revealed only inside the proctored session)"),
        required=False,
        max_length=255,
    )
    duration_minutes = forms.IntegerField(
        label=_("Duration in minutes (optional)"), required=False, min_value=1, max_value=1440
    )
    retention_days = forms.IntegerField(
        label=_("Keep recordings for (days; shown to students)"),
        min_value=schema.MIN_RETENTION_DAYS,
        max_value=schema.MAX_RETENTION_DAYS,
    )

    def __init__(self, *args: Any, exam: Exam, **kwargs: Any) -> None:
        initial = {
            "title": exam.title,
            "preset": exam.preset,
            "delivery": exam.delivery,
            "exam_url": exam.exam_url,
            "access_code": exam.access_code,
            "duration_minutes": exam.duration_minutes,
            "retention_days": exam.retention_days,
        }
        self.exam = exam
        self.locked = set(schema.LOCKABLE_GROUPS) if exam.settings_locked_at else set()
        for group, spec in schema.SCHEMA.items():
            values = getattr(exam, group) or {}
            for field in spec:
                initial[field_name(group, field)] = values.get(field)
        for metric in BEHAVIOUR_METRICS:
            initial[field_name("behaviour_weights", metric)] = (exam.behaviour_weights or {}).get(
                metric, 0
            )
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        for group, spec in schema.SCHEMA.items():
            for field, kind in spec.items():
                label = LABELS[f"{group}.{field}"]
                disabled = group in self.locked
                if kind is bool:
                    f: forms.Field = forms.BooleanField(
                        label=label, required=False, disabled=disabled
                    )
                else:
                    f = forms.ChoiceField(
                        label=label,
                        disabled=disabled,
                        choices=[(v, CHOICE_LABELS[v]) for v in kind],
                    )
                self.fields[field_name(group, field)] = f
        for metric, label in BEHAVIOUR_METRICS.items():
            self.fields[field_name("behaviour_weights", metric)] = forms.IntegerField(
                label=label, min_value=0, max_value=5
            )
        if self.locked:
            self.fields["preset"].disabled = True

    def groups(self) -> list[dict[str, Any]]:
        """Fields grouped for the template, with whether the group is locked."""
        out = []
        for group in (*schema.SCHEMA, "behaviour_weights"):
            names = [n for n in self.fields if n.startswith(group + "__")]
            out.append(
                {
                    "name": group,
                    "title": GROUP_TITLES[group],
                    "locked": group in self.locked,
                    "fields": [self[n] for n in names],
                }
            )
        return out

    def settings_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            k: self.cleaned_data[k]
            for k in (
                "title",
                "delivery",
                "exam_url",
                "access_code",
                "duration_minutes",
                "retention_days",
            )
        }
        if not self.locked:
            data["preset"] = self.cleaned_data["preset"]
        for group in (*schema.SCHEMA, "behaviour_weights"):
            if group in self.locked:
                continue
            data[group] = {
                name.split("__", 1)[1]: value
                for name, value in self.cleaned_data.items()
                if name.startswith(group + "__")
            }
        if data.get("preset") and data["preset"] != self.exam.preset:
            # A newly chosen preset wins over the (old) group values shown in the form.
            for group in schema.SCHEMA:
                data.pop(group, None)
            data.pop("behaviour_weights", None)
            data.pop("retention_days", None)
        return data

    def add_settings_errors(self, errors: dict[str, str]) -> None:
        for key, message in errors.items():
            name = key.replace(".", "__")
            if name in self.fields:
                self.add_error(name, message)
            elif key in self.fields:
                self.add_error(key, message)
            else:
                self.add_error(None, message)


class AccommodationForm(forms.Form):
    student = forms.ChoiceField(label=_("Student"))
    exempt_checks = forms.MultipleChoiceField(
        label=_("Exempt from"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=list(schema.EXEMPTABLE_CHECKS.items()),
    )
    extra_time_minutes = forms.IntegerField(
        label=_("Extra time (minutes)"), min_value=0, max_value=1440, initial=0
    )
    alternate_full_screen = forms.ChoiceField(
        label=_("Alternate full-screen rule"),
        required=False,
        choices=[("", _("Same as the exam"))] + [(v, CHOICE_LABELS[v]) for v in schema.FULL_SCREEN],
    )
    reason = forms.CharField(
        label=_("Reason (kept in the audit log)"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
    )

    def __init__(self, *args: Any, students: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["student"].choices = students


class CreateExamForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=255)
    delivery = forms.ChoiceField(
        label=_("How the exam is delivered"), choices=Exam.Delivery.choices
    )
    preset = forms.ChoiceField(
        label=_("Preset"), choices=list(schema.PRESET_LABELS.items()), initial=schema.DEFAULT_PRESET
    )
