"""Writes for exams: creation, settings (with the lock), accommodations, re-entry approvals.

Attempt services (status machine, start/resume, checks, agreement, heartbeat, access code)
live in exams.attempts and are re-exported here so callers have one import path.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from proctor_lti.core.audit import audit_record
from proctor_lti.core.errors import UserFacingError
from proctor_lti.core.models import AuditEntry
from proctor_lti.lti.models import Context, ResourceLink

from . import settings_schema as schema
from .attempts import (  # noqa: F401  (re-exported: the public attempt services)
    access_code_reveal,
    agreement_accept,
    attempt_begin,
    attempt_end,
    attempt_heartbeat,
    attempt_start_or_resume,
    attempt_transition,
    precheck_frame_submit,
    precheck_record,
)
from .models import Accommodation, AgreementVersion, CanvasQuizAccess, Exam, ReentryApproval

EDITABLE_FIELDS = (
    "title",
    "delivery",
    "exam_url",
    "access_code",
    "lms_assignment_id",
    "duration_minutes",
    "window_closes_at",
    "students_see_own_flags",
)


def exam_create(
    *,
    context: Context,
    title: str,
    delivery: str = Exam.Delivery.ACCESS_CODE,
    resource_link: ResourceLink | None = None,
    preset: str = schema.DEFAULT_PRESET,
    actor: Any = None,
    exam_url: str = "",
    access_code: str = "",
) -> Exam:
    """Create an exam in a course with a preset's settings; audited as a settings change."""
    title = (title or "").strip()
    if not title:
        raise schema.SettingsError({"title": _("Give the exam a title.")})
    if delivery not in Exam.Delivery.values:
        raise schema.SettingsError({"delivery": _("Choose how the exam is delivered.")})
    if resource_link is not None and resource_link.context_id != context.pk:
        raise UserFacingError(_("That placement belongs to another course."), status=403)
    values = schema.preset_values(preset)
    exam = Exam.objects.create(
        context=context,
        resource_link=resource_link,
        title=title[:255],
        delivery=delivery,
        preset=preset,
        exam_url=exam_url,
        access_code=access_code,
        recording=values["recording"],
        verification=values["verification"],
        lockdown=values["lockdown"],
        tools=values["tools"],
        behaviour_weights=values["behaviour_weights"],
        retention_days=values["retention_days"],
    )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.SETTINGS_CHANGE,
        target=exam,
        context_id=context.pk,
        detail={"created": True, "preset": preset, "delivery": delivery},
    )
    return exam


GROUP_LABELS = {"recording": _lazy("Recording"), "verification": _lazy("Verification")}


def _locked_message(exam: Exam, group: str) -> str:
    when = timezone.localtime(exam.settings_locked_at).strftime("%Y-%m-%d %H:%M")
    return _(
        "%(group)s settings are locked since %(when)s because a student has started this "
        "exam: every attempt must be recorded and checked the same way. Behaviour weights "
        "and retention can still change."
    ) % {"group": GROUP_LABELS[group], "when": when}


def exam_update_settings(*, exam: Exam, actor: Any, data: dict[str, Any]) -> Exam:
    """Validate and apply settings. Keys: any of the groups, "preset", "retention_days" and
    EDITABLE_FIELDS. A preset fills every group first; explicit groups then override it.

    Raises SettingsError (field -> message) for invalid values or for a change to a locked
    group (recording, verification after the first student started). Audited with a diff;
    a behaviour-weight change asks review to recalculate suspicion scores.
    """
    original = exam
    with transaction.atomic():
        exam = Exam.objects.select_for_update().get(pk=exam.pk)
        new: dict[str, Any] = {g: getattr(exam, g) for g in schema.GROUPS}
        new["retention_days"] = exam.retention_days
        preset = data.get("preset") or exam.preset
        if data.get("preset") and data["preset"] != exam.preset:
            new.update(schema.preset_values(data["preset"]))
        errors: dict[str, str] = {}
        for group in schema.GROUPS:
            if group in data:
                try:
                    new[group] = schema.normalise_group(group, data[group], base=new[group])
                except schema.SettingsError as exc:
                    errors.update(exc.errors)
        if "retention_days" in data:
            try:
                new["retention_days"] = schema.normalise_retention(data["retention_days"])
            except schema.SettingsError as exc:
                errors.update(exc.errors)
        if errors:
            raise schema.SettingsError(errors)
        if exam.settings_locked_at:
            for group in schema.LOCKABLE_GROUPS:
                if new[group] != getattr(exam, group):
                    errors[group] = _locked_message(exam, group)
        if errors:
            raise schema.SettingsError(errors)
        schema.cross_check(new)
        fields = _plain_fields(exam, data)
        changes = {
            k: {"from": getattr(exam, k), "to": v}
            for k, v in {**new, **fields}.items()
            if getattr(exam, k) != v
        }
        if "access_code" in changes:  # never write a secret into the audit log
            changes["access_code"] = "changed"
        for key, value in {**new, **fields}.items():
            setattr(exam, key, value)
        exam.preset = preset
        exam.save()
        if changes:
            audit_record(
                actor=actor,
                action=AuditEntry.Action.SETTINGS_CHANGE,
                target=exam,
                context_id=exam.context_id,
                detail={"changes": _jsonable(changes)},
            )
        if "retention_days" in changes:
            audit_record(
                actor=actor,
                action=AuditEntry.Action.RETENTION,
                target=exam,
                context_id=exam.context_id,
                detail=_jsonable(changes["retention_days"]),
            )
        if "behaviour_weights" in changes:
            exam_id = exam.pk
            transaction.on_commit(lambda: _recalculate_scores(exam_id))
    original.refresh_from_db()
    return original


def _recalculate_scores(exam_id: int) -> None:
    # Lazy import: review depends on exams, never the other way round at import time.
    from proctor_lti.review.services import scores_recalculate_for_exam

    scores_recalculate_for_exam(exam=Exam.objects.get(pk=exam_id))


def _plain_fields(exam: Exam, data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key in EDITABLE_FIELDS:
        if key not in data:
            continue
        value = data[key]
        if key == "title":
            value = (value or "").strip()[:255]
            if not value:
                errors[key] = _("Give the exam a title.")
        elif key == "delivery" and value not in Exam.Delivery.values:
            errors[key] = _("Choose how the exam is delivered.")
        elif key == "exam_url" and value and not str(value).startswith(("https://", "http://")):
            errors[key] = _("The exam address must start with https://")
        elif key == "duration_minutes":
            value = int(value) if value not in (None, "") else None
            if value is not None and not 1 <= value <= 24 * 60:
                errors[key] = _("Duration must be from 1 to 1440 minutes.")
        elif key == "window_closes_at" and isinstance(value, str):
            value = parse_datetime(value) if value else None
        elif key == "students_see_own_flags":
            value = bool(value)
        out[key] = value
    if (("delivery" in out or "access_code" in out)
            and out.get("delivery", exam.delivery) == Exam.Delivery.ACCESS_CODE
            and not str(out.get("access_code", exam.access_code) or "").strip()
            and not CanvasQuizAccess.objects.filter(context_id=exam.context_id).exists()):
        # Without a code the gate has nothing to reveal: students would be stuck after the
        # pre-checks. With Canvas access for the course, the tool sets the code itself.
        errors["access_code"] = _(
            "An access-code exam needs its access code (the quiz password set in the LMS), "
            "or Canvas access for this course so that the tool sets and rotates it."
        )
    if errors:
        raise schema.SettingsError(errors)
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def exam_lock_settings(*, exam: Exam) -> None:
    """Freeze recording and verification (first student starting). Idempotent."""
    Exam.objects.filter(pk=exam.pk, settings_locked_at__isnull=True).update(
        settings_locked_at=timezone.now()
    )


def accommodation_set(
    *,
    exam: Exam,
    user: Any,
    actor: Any,
    exempt_checks: list[str],
    extra_time_minutes: int = 0,
    alternate_settings: dict[str, Any] | None = None,
    reason: str,
) -> Accommodation:
    """Create or replace one student's accommodation; who/when/why go to the audit log."""
    reason = (reason or "").strip()
    errors: dict[str, str] = {}
    if not reason:
        errors["reason"] = _("Say why (for example “disability services letter 2024-17”).")
    try:
        exempt = schema.normalise_exempt_checks(exempt_checks)
    except schema.SettingsError as exc:
        errors.update(exc.errors)
        exempt = []
    try:
        extra = int(extra_time_minutes or 0)
        if not 0 <= extra <= 24 * 60:
            raise ValueError
    except (TypeError, ValueError):
        errors["extra_time_minutes"] = _("Extra time must be from 0 to 1440 minutes.")
        extra = 0
    alternate: dict[str, Any] = {}
    for group, values in (alternate_settings or {}).items():
        if group not in schema.SCHEMA:
            errors[f"alternate_settings.{group}"] = _("Unknown settings group.")
            continue
        try:
            full = schema.normalise_group(group, values, base=getattr(exam, group))
            alternate[group] = {k: v for k, v in full.items() if k in values}
        except schema.SettingsError as exc:
            errors.update(exc.errors)
    if errors:
        raise schema.SettingsError(errors)
    with transaction.atomic():
        before = Accommodation.objects.filter(exam=exam, user=user).first()
        old = (
            {
                "exempt_checks": before.exempt_checks,
                "extra_time_minutes": before.extra_time_minutes,
                "alternate_settings": before.alternate_settings,
            }
            if before
            else None
        )
        acc, _created = Accommodation.objects.update_or_create(
            exam=exam,
            user=user,
            defaults={
                "exempt_checks": exempt,
                "extra_time_minutes": extra,
                "alternate_settings": alternate,
                "reason": reason,
                "granted_by": actor,
            },
        )
        audit_record(
            actor=actor,
            action=AuditEntry.Action.ACCOMMODATION,
            target=acc,
            context_id=exam.context_id,
            detail={
                "exam": exam.pk,
                "student": user.pk,
                "before": old,
                "after": {
                    "exempt_checks": exempt,
                    "extra_time_minutes": extra,
                    "alternate_settings": alternate,
                },
                "reason": reason,
            },
        )
    return acc


def accommodation_remove(*, accommodation: Accommodation, actor: Any, reason: str) -> None:
    """Delete an accommodation; the audit log keeps what it was and why it went."""
    reason = (reason or "").strip()[:2000]
    if not reason:
        # Granting needs a reason; taking one away from a student needs one just as much.
        raise UserFacingError(
            _("Say why the accommodation is removed (for example “letter withdrawn”)."),
            status=400, code="reason_required")
    audit_record(
        actor=actor,
        action=AuditEntry.Action.ACCOMMODATION,
        target=accommodation,
        context_id=accommodation.exam.context_id,
        detail={
            "removed": True,
            "exam": accommodation.exam_id,
            "student": accommodation.user_id,
            "reason": reason,
            "was": {
                "exempt_checks": accommodation.exempt_checks,
                "extra_time_minutes": accommodation.extra_time_minutes,
            },
        },
    )
    accommodation.delete()


def reentry_approve(*, exam: Exam, user: Any, actor: Any, reason: str = "") -> ReentryApproval:
    """Let one student enter the exam once more (re-entry set to approval or none)."""
    approval = ReentryApproval.objects.create(
        exam=exam, user=user, approved_by=actor, reason=reason
    )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.ACCOMMODATION,
        target=approval,
        context_id=exam.context_id,
        detail={"reentry_approved": True, "student": user.pk, "reason": reason},
    )
    return approval


def preference_set_high_visibility(*, user: Any, enabled: bool) -> None:
    """Remember the student's high-visibility choice on the server (also kept in localStorage)."""
    from .models import StudentPreference

    StudentPreference.objects.update_or_create(user=user, defaults={"high_visibility": enabled})


def agreement_publish(*, title: str, text: str, actor: Any = None) -> AgreementVersion:
    """A new current agreement version; older versions stay for the acceptances that cite them."""
    number = (AgreementVersion.objects.aggregate(n=Max("version"))["n"] or 0) + 1
    AgreementVersion.objects.filter(is_current=True).update(is_current=False)
    version = AgreementVersion.objects.create(
        version=number, title=title, text=text, is_current=True
    )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.SETTINGS_CHANGE,
        target=version,
        detail={"agreement_version": number},
    )
    return version
