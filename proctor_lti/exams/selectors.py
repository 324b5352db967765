"""Reads for exams: permission-scoped lookups, effective settings, required checks."""

from __future__ import annotations

import copy
from typing import Any

from django.utils.translation import gettext as _

from proctor_lti.core.errors import UserFacingError
from proctor_lti.lti.models import Context, Membership

from .models import Accommodation, AgreementVersion, Attempt, Exam, StudentPreference

STAFF_ROLES = (Membership.Role.STAFF, Membership.Role.ADMIN)
# Order of the pre-checks page.
CHECK_ORDER = (
    "browser",
    "permissions",
    "microphone",
    "screen_share",
    "upload_speed",
    "camera",
    "photo_id",
    "room_scan",
)


def is_staff_in(*, context: Context, user: Any) -> bool:
    """True for the context's instructors/admins (the lti app's one course rule)."""
    from proctor_lti.lti.permissions import can_manage

    return can_manage(user, context)


def exam_for_staff(*, exam_id: int, user: Any) -> Exam:
    """The exam if `user` is staff in its course; 404 otherwise (never reveal other courses)."""
    exam = Exam.objects.select_related("context").filter(pk=exam_id).first()
    if exam is None or not is_staff_in(context=exam.context, user=user):
        raise UserFacingError(
            _("Exam not found, or you are not an instructor of its course."),
            status=404,
            code="not_found",
        )
    return exam


def attempt_for_student(*, attempt_id: int, user: Any) -> Attempt:
    """The student's own attempt; 404 for anyone else's."""
    attempt = (
        Attempt.objects.select_related("exam", "exam__context")
        .filter(pk=attempt_id, user_id=getattr(user, "pk", None))
        .first()
    )
    if attempt is None:
        raise UserFacingError(
            _("Attempt not found."),
            status=404,
            code="not_found",
            hint=_("Open the exam again from your course."),
        )
    return attempt


def exam_for_resource_link(
    *, context: Context | None, resource_link: Any, custom: dict[str, Any]
) -> Exam | None:
    """The exam placed at this resource link, or named by a deep-linking custom exam_id."""
    if resource_link is not None:
        exam = Exam.objects.filter(resource_link=resource_link).first()
        if exam is not None:
            return exam
    exam_id = str(custom.get("exam_id", "")).strip()
    if exam_id.isdigit() and context is not None:
        return Exam.objects.filter(pk=int(exam_id), context=context).first()
    return None


def accommodation_for(*, exam: Exam, user: Any) -> Accommodation | None:
    return Accommodation.objects.filter(exam=exam, user=user).first()


def effective_settings(*, exam: Exam, user: Any) -> dict[str, Any]:
    """Exam settings with the student's accommodation applied.

    Alternate settings override fields; exempted checks are switched off (a room-scan
    exemption turns the room scan off, a full-screen exemption turns full screen off).
    Returns the groups plus "exempt" (list) and "extra_time_minutes".
    """
    out: dict[str, Any] = {
        g: copy.deepcopy(getattr(exam, g))
        for g in ("recording", "verification", "lockdown", "tools")
    }
    acc = accommodation_for(exam=exam, user=user) if user is not None else None
    exempt: list[str] = []
    extra = 0
    if acc is not None:
        for group, values in acc.alternate_settings.items():
            out.setdefault(group, {}).update(values)
        exempt = list(acc.exempt_checks)
        extra = acc.extra_time_minutes
    for check in exempt:
        if check in ("camera", "microphone", "screen_share", "photo_id"):
            out["verification"][check] = False
        elif check == "room_scan":
            out["recording"]["room_scan"] = "off"
        elif check == "full_screen":
            out["lockdown"]["full_screen"] = "off"
        elif check == "one_screen":
            out["lockdown"]["one_screen"] = False
    out["exempt"] = exempt
    out["extra_time_minutes"] = extra
    duration = exam.duration_minutes
    out["duration_minutes"] = (duration + extra) if duration else None
    return out


def required_checks(eff: dict[str, Any]) -> list[str]:
    """The pre-checks this student must pass, in page order."""
    rec, ver = eff["recording"], eff["verification"]
    records = rec.get("webcam") or rec.get("microphone") or rec.get("screen")
    wanted = {
        "browser": True,
        "permissions": bool(records),
        "microphone": bool(ver.get("microphone") and rec.get("microphone")),
        "screen_share": bool(ver.get("screen_share") and rec.get("screen")),
        "upload_speed": bool(records) and "upload_speed" not in eff["exempt"],
        "camera": bool(ver.get("camera") and rec.get("webcam")),
        "photo_id": bool(ver.get("photo_id")),
        "room_scan": rec.get("room_scan", "off") != "off",
    }
    return [c for c in CHECK_ORDER if wanted[c]]


def checks_missing(*, attempt: Attempt) -> list[str]:
    """Required checks not yet passed."""
    eff = effective_settings(exam=attempt.exam, user=attempt.user)
    results = attempt.precheck_results or {}
    return [c for c in required_checks(eff) if not results.get(c, {}).get("passed")]


def agreement_current() -> AgreementVersion | None:
    return AgreementVersion.objects.filter(is_current=True).order_by("-version").first()


def high_visibility_for(user: Any) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return StudentPreference.objects.filter(user=user, high_visibility=True).exists()


def recorded_items(eff: dict[str, Any]) -> list[str]:
    """Plain-language list of what will be collected, for Before you Begin."""
    rec = eff["recording"]
    items = [
        _(
            "Events in this browser during the exam: leaving the exam tab or window, "
            "copy and paste, resizing, leaving full screen, with their times."
        )
    ]
    if rec.get("webcam"):
        items.append(_("Video from your webcam."))
    if rec.get("microphone"):
        items.append(_("Sound from your microphone."))
    if rec.get("screen"):
        items.append(_("A recording of your entire screen."))
    if rec.get("room_scan") == "start":
        items.append(_("A short video of your room and desk, before the exam."))
    elif rec.get("room_scan") == "start_and_random":
        items.append(
            _(
                "A short video of your room and desk, before the exam and at random "
                "moments during it."
            )
        )
    if eff["verification"].get("photo_id"):
        items.append(_("A picture of your photo ID."))
    return items


def restrictions(eff: dict[str, Any]) -> list[str]:
    """Plain-language lockdown rules for Before you Begin."""
    lock, tools = eff["lockdown"], eff["tools"]
    out = []
    grace = {"lenient": 30, "moderate": 15, "severe": 0}.get(lock.get("full_screen"))
    if grace is not None:
        out.append(
            _(
                "The exam runs in full screen. Time spent outside full screen is "
                "recorded; more than %(s)s seconds in total is reported to your "
                "instructor."
            )
            % {"s": grace}
            if grace
            else _(
                "The exam runs in full screen. Leaving full screen is reported to your "
                "instructor at once."
            )
        )
    if lock.get("one_screen"):
        out.append(_("Use only one screen: disconnect any extra monitor."))
    if lock.get("no_clipboard"):
        out.append(_("Copy, cut and paste are turned off."))
    if lock.get("no_right_click"):
        out.append(_("The right-click menu is turned off."))
    if lock.get("no_printing"):
        out.append(_("Printing is turned off."))
    reentry = lock.get("reentry")
    if reentry == "approval":
        out.append(_("Once you begin, coming back into the exam needs your instructor's approval."))
    elif reentry == "none":
        out.append(_("Once you begin, you cannot come back into the exam."))
    if tools.get("calculator") in ("basic", "scientific"):
        out.append(
            _("A %(kind)s calculator is available during the exam.")
            % {"kind": _("basic") if tools["calculator"] == "basic" else _("scientific")}
        )
    if tools.get("whiteboard"):
        out.append(_("A whiteboard is available during the exam."))
    return out
