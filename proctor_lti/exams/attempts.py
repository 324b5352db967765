"""Attempt services: the status machine, start/resume with re-entry rules, pre-checks, the
agreement, heartbeat, the end of the session and the access-code reveal.

`attempt_transition` is the only function that writes Attempt.status; the allowed moves are
the ALLOWED_TRANSITIONS table beside the Status enum in exams.models.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from proctor_lti.core.errors import UserFacingError
from proctor_lti.lti.launch_data import ProctoringClaims

from . import selectors
from .models import (
    ALLOWED_TRANSITIONS,
    ENDED_STATUSES,
    AgreementAcceptance,
    AgreementVersion,
    Attempt,
    AttemptEvent,
    AttemptSession,
    Exam,
    PrecheckFrame,
    ReentryApproval,
)

logger = logging.getLogger(__name__)
S = Attempt.Status

# The access code is shown only while the session page is demonstrably alive and recording.
HEARTBEAT_FRESH_S = int(settings.EXAM_HEARTBEAT_FRESH_SECONDS)
# Client-reported checks; camera and photo ID are judged on the server only.
CLIENT_CHECKS = frozenset(
    {"browser", "permissions", "microphone", "screen_share", "upload_speed", "room_scan"}
)
SERVER_CHECKS = frozenset({"camera", "photo_id"})
# After this many failed camera/ID frames the student may continue; the reviewer sees it.
FRAME_FAILURES_BEFORE_CONTINUE = 3
MAX_FRAME_BYTES = 2 * 1024 * 1024


class TransitionRefused(UserFacingError):
    status = 409
    code = "transition_refused"


def attempt_transition(
    *, attempt: Attempt, to: str, actor: Any = None, reason: str = ""
) -> Attempt:
    """Move an attempt to status `to` if ALLOWED_TRANSITIONS permits it, else TransitionRefused.

    Locks the row, stamps started_at / ended_at, freezes the exam's recording and
    verification settings when the first student starts the checks, and logs the change as
    an AttemptEvent of type "status_change" (not scored) for the review timeline.
    """
    if to not in S.values:
        raise TransitionRefused(_("Unknown attempt status “%(to)s”.") % {"to": to})
    with transaction.atomic():
        locked = Attempt.objects.select_for_update().get(pk=attempt.pk)
        current = locked.status
        if to not in ALLOWED_TRANSITIONS.get(current, frozenset()):
            raise TransitionRefused(
                _("This attempt cannot go from “%(from)s” to “%(to)s”.")
                % {"from": current, "to": to}
            )
        now = timezone.now()
        locked.status = to
        locked.status_changed_at = now
        if to == S.IN_PROGRESS and locked.started_at is None:
            locked.started_at = now
        if to in (S.SUBMITTED, S.TERMINATED) and locked.ended_at is None:
            locked.ended_at = now
        locked.save(
            update_fields=["status", "status_changed_at", "started_at", "ended_at", "updated_at"]
        )
        if to in (S.PRECHECKS, S.READY, S.IN_PROGRESS):
            Exam.objects.filter(pk=locked.exam_id, settings_locked_at__isnull=True).update(
                settings_locked_at=now
            )
        AttemptEvent.objects.create(
            attempt=locked,
            client_event_id=f"status-{current}-{to}-{now.timestamp():.6f}",
            type="status_change",
            occurred_at=now,
            offset_s=(now - locked.started_at).total_seconds() if locked.started_at else None,
            data={"from": current, "to": to, "actor": getattr(actor, "pk", None), "reason": reason},
        )
    for field in ("status", "status_changed_at", "started_at", "ended_at"):
        setattr(attempt, field, getattr(locked, field))
    return attempt


def _consume_reentry(exam: Exam, user: Any) -> None:
    """Apply the exam's re-entry rule to a student coming back; raise if not permitted."""
    rule = selectors.effective_settings(exam=exam, user=user)["lockdown"]["reentry"]
    if rule == "allowed":
        return
    approval = (
        ReentryApproval.objects.select_for_update()
        .filter(exam=exam, user=user, used_at__isnull=True)
        .order_by("created_at")
        .first()
    )
    if approval is not None:
        approval.used_at = timezone.now()
        approval.save(update_fields=["used_at", "updated_at"])
        return
    if rule == "approval":
        raise UserFacingError(
            _("You have already started this exam. Re-entering needs your instructor's approval."),
            hint=_("Ask your instructor to approve your re-entry, then open the exam again."),
            code="reentry_needs_approval",
            status=403,
        )
    raise UserFacingError(
        _("You have already started this exam and it does not allow re-entry."),
        hint=_("If something went wrong, contact your instructor."),
        code="reentry_refused",
        status=403,
    )


def _session_is_live(attempt: Attempt) -> bool:
    """The session page sent a heartbeat within HEARTBEAT_FRESH_S: a launch now is a reload
    or a relaunch of the running exam (F5 in the LMS, a closed tab reopened at once), not a
    re-entry after leaving it."""
    if attempt.status != S.IN_PROGRESS:
        return False
    session = AttemptSession.objects.filter(attempt=attempt).first()
    if session is None or session.last_heartbeat_at is None:
        # Agreement accepted but recording never started (e.g. screen sharing failed, then
        # a reload): nothing of the exam has happened yet, so coming back is no re-entry.
        return True
    return _heartbeat_is_fresh(session)


def _heartbeat_is_fresh(session: AttemptSession | None) -> bool:
    """The session page sent a heartbeat in the last HEARTBEAT_FRESH_S seconds."""
    fresh_after = timezone.now() - timedelta(seconds=HEARTBEAT_FRESH_S)
    return bool(session and session.last_heartbeat_at and session.last_heartbeat_at >= fresh_after)


def attempt_start_or_resume(
    *, exam: Exam, user: Any, proctoring: ProctoringClaims | None = None
) -> Attempt:
    """The student's attempt for this launch: resumed when live, else a new numbered attempt.

    With LTI Proctoring Services the platform's attempt_number names the attempt (and its
    session_data is refreshed: it must be echoed exactly). Coming back into an attempt that
    already started, or starting another after one ended, is a re-entry: allowed, needs an
    unused instructor approval, or is refused, per lockdown.reentry.
    """
    with transaction.atomic():
        mine = Attempt.objects.select_for_update().filter(exam=exam, user=user)
        if proctoring is not None and proctoring.attempt_number is not None:
            attempt = mine.filter(lti_attempt_number=proctoring.attempt_number).first()
            if attempt is not None and attempt.status in ENDED_STATUSES:
                raise UserFacingError(
                    _("This attempt has already ended."),
                    hint=_("Start a new attempt from your course if your instructor allows it."),
                    code="attempt_ended",
                    status=409,
                )
            if attempt is not None and attempt.started_at and not _session_is_live(attempt):
                _consume_reentry(exam, user)
        else:
            attempt = mine.order_by("-number").first()
            if attempt is not None and (
                attempt.status in ENDED_STATUSES
                or (attempt.started_at and not _session_is_live(attempt))
            ):
                _consume_reentry(exam, user)
            if attempt is not None and attempt.status in ENDED_STATUSES:
                attempt = None
        if attempt is None:
            number = (mine.aggregate(n=Max("number"))["n"] or 0) + 1
            attempt = Attempt.objects.create(exam=exam, user=user, number=number)
        if proctoring is not None:
            attempt.lti_session_data = proctoring.session_data
            attempt.lti_attempt_number = proctoring.attempt_number
            attempt.lti_start_assessment_url = proctoring.start_assessment_url
            attempt.lti_acs_url = proctoring.acs_url
            attempt.lti_return_url = proctoring.return_url
            attempt.save()
        session, _created = AttemptSession.objects.get_or_create(attempt=attempt)
        session.entries += 1
        session.save(update_fields=["entries"])
    return attempt


def precheck_record(
    *, attempt: Attempt, check: str, passed: bool, detail: dict[str, Any] | None = None
) -> Attempt:
    """Store one pre-check outcome; moves created -> prechecks, and -> ready when all pass."""
    if check not in CLIENT_CHECKS | SERVER_CHECKS:
        raise UserFacingError(_("Unknown check “%(check)s”.") % {"check": check})
    with transaction.atomic():
        # Holding the row lock for the whole step: parallel check requests serialise here.
        locked = Attempt.objects.select_for_update().get(pk=attempt.pk)
        if locked.status not in (S.CREATED, S.PRECHECKS, S.READY, S.INTERRUPTED):
            raise TransitionRefused(_("Checks are over for this attempt."))
        results = dict(locked.precheck_results)
        previous = results.get(check, {})
        results[check] = {
            "passed": bool(passed),
            "detail": detail or {},
            "at": timezone.now().isoformat(),
            "tries": int(previous.get("tries", 0)) + 1,
        }
        locked.precheck_results = results
        locked.save(update_fields=["precheck_results", "updated_at"])
        if locked.status in (S.CREATED, S.INTERRUPTED):
            attempt_transition(attempt=locked, to=S.PRECHECKS, reason="checks started")
        attempt_ready_if_checked(attempt=locked)
    for field in ("precheck_results", "status", "status_changed_at", "started_at"):
        setattr(attempt, field, getattr(locked, field))
    return attempt


def attempt_ready_if_checked(*, attempt: Attempt) -> bool:
    """Move to ready when every required check has passed (or was exempted)."""
    missing = selectors.checks_missing(attempt=attempt)
    if missing:
        return False
    if attempt.status in (S.CREATED, S.PRECHECKS, S.INTERRUPTED):
        attempt_transition(attempt=attempt, to=S.READY, reason="all checks passed")
    return True


def precheck_frame_submit(*, attempt: Attempt, kind: str, image_bytes: bytes) -> PrecheckFrame:
    """Queue a camera-test or photo-ID still for the face check on the ml workers."""
    if kind not in PrecheckFrame.Kind.values:
        raise UserFacingError(_("Unknown picture kind."))
    if not image_bytes or len(image_bytes) > MAX_FRAME_BYTES:
        raise UserFacingError(
            _("The picture is empty or too large (2 MB at most)."),
            status=413 if image_bytes else 400,
        )
    if attempt.status not in (S.CREATED, S.PRECHECKS, S.READY, S.INTERRUPTED):
        raise TransitionRefused(_("Checks are over for this attempt."))
    frame = PrecheckFrame.objects.create(attempt=attempt, kind=kind, image=image_bytes)
    from .tasks import ml_check_camera_frame

    transaction.on_commit(lambda: ml_check_camera_frame.delay(frame.pk))
    return frame


def precheck_frame_check(*, frame_id: int) -> PrecheckFrame | None:
    """Run the face check on a queued still, record the check, erase the image."""
    from detection.analyzer import get_models
    from detection.pipeline import check_camera_frame, check_photo_id

    frame = PrecheckFrame.objects.select_related("attempt").filter(pk=frame_id).first()
    if frame is None or frame.state != PrecheckFrame.State.PENDING:
        return frame  # gone or already checked (redelivered task)
    from detection.registry import ModelError

    check = check_camera_frame if frame.kind == PrecheckFrame.Kind.CAMERA else check_photo_id
    try:
        outcome = check(bytes(frame.image), models=get_models(settings.MODEL_DIR)).to_dict()
    except ModelError:
        # The detector is not installed or its files are damaged: the student must not be
        # stuck. The check is marked unavailable and may be continued past; reviewers see it.
        logger.exception("face check unavailable for frame %s", frame.pk)
        frame.state = PrecheckFrame.State.FAILED
        frame.result = {"ok": False, "reason_code": "unavailable", "faces": 0}
        frame.image = None
        frame.save(update_fields=["result", "state", "image", "updated_at"])
        return frame
    frame.result = outcome
    frame.state = PrecheckFrame.State.DONE
    frame.image = None  # the still is no longer needed: keep only the verdict
    frame.save(update_fields=["result", "state", "image", "updated_at"])
    try:
        precheck_record(
            attempt=frame.attempt,
            check=frame.kind,
            passed=outcome["ok"],
            detail={"reason": outcome["reason_code"], "faces": outcome["faces"]},
        )
    except TransitionRefused:
        logger.info("frame %s checked after the checks ended", frame.pk)
    return frame


def precheck_continue_anyway(*, attempt: Attempt, check: str) -> Attempt:
    """After repeated failures of a face check, let the student go on; flagged for review.

    Face detection fails more often in poor light and on darker skin; a student must never
    be locked out of an exam by one model. The record says the check was waived.
    """
    if check not in SERVER_CHECKS:
        raise UserFacingError(_("Only the camera and ID checks can be continued past."))
    failures = PrecheckFrame.objects.filter(
        attempt=attempt, kind=check, state=PrecheckFrame.State.DONE, result__ok=False
    ).count()
    unavailable = PrecheckFrame.objects.filter(
        attempt=attempt, kind=check, state=PrecheckFrame.State.FAILED
    ).exists()
    if failures < FRAME_FAILURES_BEFORE_CONTINUE and not unavailable:
        raise UserFacingError(_("Try the check again first."), status=409)
    return precheck_record(
        attempt=attempt,
        check=check,
        passed=True,
        detail={"waived_after_failures": failures, "check_unavailable": unavailable},
    )


def attempt_begin(*, attempt: Attempt) -> Attempt:
    """Start the exam (ready -> in_progress), refusing while a required check is missing."""
    missing = selectors.checks_missing(attempt=attempt)
    if missing:
        raise UserFacingError(
            _("Finish the pre-checks first: %(names)s.") % {"names": ", ".join(missing)},
            status=409,
            code="checks_missing",
        )
    if attempt.status in (S.CREATED, S.PRECHECKS):
        attempt_transition(attempt=attempt, to=S.READY, reason="no checks required")
    if attempt.status in (S.READY, S.INTERRUPTED):
        attempt_transition(attempt=attempt, to=S.IN_PROGRESS, reason="student began")
    elif attempt.status != S.IN_PROGRESS:
        raise TransitionRefused(_("This attempt has ended."))
    return attempt


def agreement_accept(
    *, attempt: Attempt, version: AgreementVersion | int, ip: str | None, user_agent: str
) -> AgreementAcceptance:
    """Record "I accept, begin exam now" (who, which version, when, IP, browser) and begin."""
    if isinstance(version, int):
        found = AgreementVersion.objects.filter(version=version).first()
        if found is None:
            raise UserFacingError(_("That agreement version does not exist."))
        version = found
    current = selectors.agreement_current()
    if current is None or version.pk != current.pk:
        raise UserFacingError(
            _("The agreement has changed. Read the current version and accept it again."),
            status=409,
            code="agreement_changed",
        )
    with transaction.atomic():
        acceptance, _created = AgreementAcceptance.objects.get_or_create(
            attempt=attempt,
            defaults={
                "version": version,
                "ip_address": ip or None,
                "user_agent": (user_agent or "")[:1000],
            },
        )
        attempt_begin(attempt=attempt)
    return acceptance


def attempt_heartbeat(*, attempt: Attempt) -> None:
    """The session page is alive; a heartbeat never changes the attempt's status."""
    AttemptSession.objects.update_or_create(
        attempt=attempt, defaults={"last_heartbeat_at": timezone.now()}
    )


def attempt_end(*, attempt: Attempt, actor: Any = None, reason: str = "",
                terminated: bool = False) -> Attempt:
    """End the proctored session (live -> submitted, or terminated when a reviewer or the
    platform stops it) and finalise the recordings. The student's page learns it at its
    next heartbeat and stops recording. Idempotent: an ended attempt is returned unchanged."""
    if attempt.status in ENDED_STATUSES:
        return attempt
    attempt_transition(attempt=attempt, to=S.TERMINATED if terminated else S.SUBMITTED,
                       actor=actor, reason=reason or ("terminated" if terminated else "ended"))
    attempt_id = attempt.pk

    def finalise() -> None:
        from proctor_lti.recordings.services import attempt_finalise

        try:
            attempt_finalise(attempt=Attempt.objects.get(pk=attempt_id))
        except Exception:
            # The attempt has ended either way; the beat sweep finalises it again.
            logger.exception("finalising attempt %s failed; the sweep will retry", attempt_id)

    transaction.on_commit(finalise)
    return attempt


def attempts_end_abandoned(*, now: Any = None) -> int:
    """End in-progress attempts whose page has been silent for EXAM_ABANDONED_MINUTES.

    A student who closes the laptop without "End exam" (or whose laptop dies and who never
    comes back) would otherwise leave the attempt in progress for ever: never analysed,
    never reviewable. What the browser still holds can be sent during the upload grace.
    """
    now = now or timezone.now()
    minutes = int(settings.EXAM_ABANDONED_MINUTES)
    silent_since = now - timedelta(minutes=minutes)
    candidates = Attempt.objects.filter(status=S.IN_PROGRESS, started_at__lt=silent_since)
    ended = 0
    for attempt in candidates.select_related("session"):
        session = getattr(attempt, "session", None)
        last = (session.last_heartbeat_at if session else None) or attempt.started_at
        if last >= silent_since:
            continue
        try:
            with transaction.atomic():
                attempt_end(attempt=attempt,
                            reason=f"ended automatically: no sign of the exam page for "
                                   f"{minutes} minutes")
            ended += 1
        except TransitionRefused:
            continue  # ended meanwhile by the student or the platform
    if ended:
        logger.info("ended %s abandoned attempt(s)", ended)
    return ended


def access_code_reveal(*, attempt: Attempt, user: Any) -> str:
    """The exam's access code, only for the attempt's own student inside a live, recording
    session (status in_progress and a heartbeat in the last HEARTBEAT_FRESH_S seconds)."""
    if attempt.user_id != getattr(user, "pk", None):
        raise UserFacingError(_("This is not your attempt."), status=403, code="forbidden")
    if attempt.exam.delivery != Exam.Delivery.ACCESS_CODE or not attempt.exam.access_code:
        raise UserFacingError(_("This exam has no access code."), status=404, code="no_code")
    if attempt.status != S.IN_PROGRESS:
        raise UserFacingError(
            _("The access code is shown only during your proctored session."),
            status=403,
            code="session_not_active",
        )
    if not _heartbeat_is_fresh(AttemptSession.objects.filter(attempt=attempt).first()):
        raise UserFacingError(
            _(
                "Your recording has not reached the server recently. Wait a "
                "moment; the code appears when it does."
            ),
            status=403,
            code="no_recent_heartbeat",
        )
    return attempt.exam.access_code
