from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from proctor_lti.core.errors import UserFacingError
from proctor_lti.core.models import AuditEntry
from proctor_lti.exams import selectors, services
from proctor_lti.exams import settings_schema as schema
from proctor_lti.exams.attempts import TransitionRefused
from proctor_lti.exams.models import (
    ALLOWED_TRANSITIONS,
    Accommodation,
    AgreementAcceptance,
    AgreementVersion,
    Attempt,
    AttemptEvent,
    AttemptSession,
    Exam,
)
from proctor_lti.lti.launch_data import ProctoringClaims
from tests.factories import AttemptFactory

S = Attempt.Status


def test_exam_create_fills_every_group_from_the_preset_and_audits(world) -> None:
    exam = services.exam_create(
        context=world.course_a, title="Final", preset="high_stakes", actor=world.alice
    )
    assert exam.lockdown == schema.PRESETS["high_stakes"]["lockdown"]
    assert exam.retention_days == 90
    entry = AuditEntry.objects.get(target=f"exams.exam:{exam.pk}")
    assert entry.actor == world.alice and entry.action == AuditEntry.Action.SETTINGS_CHANGE


def test_exam_create_refuses_a_blank_title(world) -> None:
    with pytest.raises(schema.SettingsError):
        services.exam_create(context=world.course_a, title="  ")


def test_settings_update_applies_a_preset_then_overrides_and_logs_a_diff(world) -> None:
    exam = services.exam_update_settings(
        exam=world.exam,
        actor=world.alice,
        data={"preset": "recommended", "lockdown": {"no_clipboard": True}, "retention_days": 21},
    )
    assert exam.preset == "recommended"
    assert exam.recording["screen"] is True
    assert exam.lockdown["no_clipboard"] is True
    assert exam.retention_days == 21
    entry = AuditEntry.objects.filter(
        action=AuditEntry.Action.SETTINGS_CHANGE, target=f"exams.exam:{exam.pk}"
    ).first()
    assert entry.detail["changes"]["retention_days"] == {"from": 14, "to": 21}
    assert AuditEntry.objects.filter(action=AuditEntry.Action.RETENTION).exists()


def test_the_access_code_never_enters_the_audit_log(world) -> None:
    services.exam_update_settings(
        exam=world.exam, actor=world.alice, data={"access_code": "NEW-SECRET-9"}
    )
    for entry in AuditEntry.objects.all():
        assert "NEW-SECRET-9" not in str(entry.detail)


def test_an_access_code_exam_cannot_be_saved_without_its_code(world) -> None:
    assert world.exam.delivery == Exam.Delivery.ACCESS_CODE
    with pytest.raises(schema.SettingsError) as err:
        services.exam_update_settings(exam=world.exam, actor=world.alice,
                                      data={"access_code": "  "})
    assert "access code" in err.value.errors["access_code"]
    world.exam.refresh_from_db()
    assert world.exam.access_code == "SECRET-CODE-7731"  # nothing was lost


def test_canvas_access_lets_the_tool_set_the_code_itself(world) -> None:
    from proctor_lti.exams.models import CanvasQuizAccess

    CanvasQuizAccess.objects.create(context=world.course_a, api_token="t")
    services.exam_update_settings(exam=world.exam, actor=world.alice, data={"access_code": ""})
    world.exam.refresh_from_db()
    assert world.exam.access_code == ""


def test_locked_recording_and_verification_are_refused_with_the_reason(world) -> None:
    attempt = services.attempt_start_or_resume(exam=world.exam, user=world.bob)
    services.attempt_transition(attempt=attempt, to=S.PRECHECKS)
    world.exam.refresh_from_db()
    assert world.exam.settings_locked_at is not None
    with pytest.raises(schema.SettingsError) as err:
        services.exam_update_settings(
            exam=world.exam, actor=world.alice, data={"recording": {"screen": True}}
        )
    assert "locked" in err.value.errors["recording"]
    with pytest.raises(schema.SettingsError):
        services.exam_update_settings(
            exam=world.exam, actor=world.alice, data={"preset": "high_stakes"}
        )


def test_behaviour_weights_stay_editable_after_the_lock_and_trigger_rescoring(
    world, django_capture_on_commit_callbacks
) -> None:
    world.exam.settings_locked_at = timezone.now()
    world.exam.save()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        exam = services.exam_update_settings(
            exam=world.exam, actor=world.alice, data={"behaviour_weights": {"speaking": 5}}
        )
    assert exam.behaviour_weights["speaking"] == 5
    assert len(callbacks) == 1  # review's scores_recalculate_for_exam ran


def test_an_unchanged_locked_group_is_accepted(world) -> None:
    world.exam.settings_locked_at = timezone.now()
    world.exam.save()
    services.exam_update_settings(
        exam=world.exam,
        actor=world.alice,
        data={"recording": dict(world.exam.recording), "title": "T2"},
    )
    world.exam.refresh_from_db()
    assert world.exam.title == "T2"


def test_accommodation_records_who_when_and_why(world) -> None:
    acc = services.accommodation_set(
        exam=world.exam,
        user=world.bob,
        actor=world.alice,
        exempt_checks=["camera"],
        extra_time_minutes=30,
        alternate_settings={"lockdown": {"full_screen": "off"}},
        reason="Disability services letter 17",
    )
    assert acc.granted_by == world.alice
    entry = AuditEntry.objects.get(action=AuditEntry.Action.ACCOMMODATION)
    assert entry.actor == world.alice
    assert entry.detail["reason"] == "Disability services letter 17"
    assert entry.detail["after"]["exempt_checks"] == ["camera"]
    services.accommodation_set(
        exam=world.exam,
        user=world.bob,
        actor=world.alice,
        exempt_checks=[],
        extra_time_minutes=0,
        reason="Letter withdrawn",
    )
    latest = AuditEntry.objects.filter(action=AuditEntry.Action.ACCOMMODATION).first()
    assert latest.detail["before"]["exempt_checks"] == ["camera"]


def test_accommodation_without_a_reason_is_refused(world) -> None:
    with pytest.raises(schema.SettingsError) as err:
        services.accommodation_set(
            exam=world.exam, user=world.bob, actor=world.alice, exempt_checks=["camera"], reason=" "
        )
    assert "reason" in err.value.errors


def test_removing_an_accommodation_needs_a_reason_and_keeps_it(world) -> None:
    acc = services.accommodation_set(exam=world.exam, user=world.bob, actor=world.alice,
                                     exempt_checks=["camera"], reason="Letter 17")
    with pytest.raises(UserFacingError) as err:
        services.accommodation_remove(accommodation=acc, actor=world.alice, reason="  ")
    assert err.value.code == "reason_required"
    assert Accommodation.objects.filter(pk=acc.pk).exists()  # nothing removed
    services.accommodation_remove(accommodation=acc, actor=world.alice, reason="Withdrawn")
    assert not Accommodation.objects.filter(pk=acc.pk).exists()
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.ACCOMMODATION).first()
    assert entry.detail["removed"] and entry.detail["reason"] == "Withdrawn"


def test_exempt_checks_are_skipped_in_the_effective_settings(world) -> None:
    services.exam_update_settings(
        exam=world.exam, actor=world.alice, data={"preset": "high_stakes"}
    )
    exam = Exam.objects.get(pk=world.exam.pk)
    before = selectors.required_checks(selectors.effective_settings(exam=exam, user=world.bob))
    assert {"camera", "photo_id", "room_scan", "screen_share"} <= set(before)
    services.accommodation_set(
        exam=exam,
        user=world.bob,
        actor=world.alice,
        exempt_checks=["photo_id", "room_scan", "full_screen"],
        extra_time_minutes=15,
        reason="letter",
    )
    eff = selectors.effective_settings(exam=exam, user=world.bob)
    after = selectors.required_checks(eff)
    assert "photo_id" not in after and "room_scan" not in after and "camera" in after
    assert eff["lockdown"]["full_screen"] == "off"
    assert eff["extra_time_minutes"] == 15
    # Another student keeps the exam's settings.
    assert (
        selectors.required_checks(selectors.effective_settings(exam=exam, user=world.dana))
        == before
    )


ALL = list(S.values)


@pytest.mark.parametrize("current,to", list(itertools.product(ALL, ALL)))
def test_every_status_transition_is_allowed_only_by_the_table(db, current, to) -> None:
    # A bare attempt (no course world): 121 cases must stay fast.
    attempt = AttemptFactory(status=current)
    actor = attempt.user
    if to in ALLOWED_TRANSITIONS[current]:
        services.attempt_transition(attempt=attempt, to=to, actor=actor, reason="test")
        attempt.refresh_from_db()
        assert attempt.status == to
        event = AttemptEvent.objects.get(attempt=attempt, type="status_change")
        assert event.data == {"from": current, "to": to, "actor": actor.pk, "reason": "test"}
    else:
        with pytest.raises(TransitionRefused):
            services.attempt_transition(attempt=attempt, to=to)
        attempt.refresh_from_db()
        assert attempt.status == current


def test_the_happy_path_walks_the_whole_machine(world) -> None:
    attempt = AttemptFactory(exam=world.exam, user=world.bob)
    for to in (
        S.PRECHECKS,
        S.READY,
        S.IN_PROGRESS,
        S.SUBMITTED,
        S.ANALYSING,
        S.REVIEWABLE,
        S.REVIEWED,
    ):
        services.attempt_transition(attempt=attempt, to=to)
    attempt.refresh_from_db()
    assert attempt.started_at and attempt.ended_at and attempt.status == S.REVIEWED


def test_attempt_numbers_count_per_student(world) -> None:
    first = services.attempt_start_or_resume(exam=world.exam, user=world.bob)
    assert services.attempt_start_or_resume(exam=world.exam, user=world.bob).pk == first.pk
    for to in (S.READY, S.IN_PROGRESS, S.SUBMITTED):
        services.attempt_transition(attempt=first, to=to)
    second = services.attempt_start_or_resume(exam=world.exam, user=world.bob)
    other = services.attempt_start_or_resume(exam=world.exam, user=world.dana)
    assert (first.number, second.number, other.number) == (1, 2, 1)


def _started(world, rule: str) -> Attempt:
    services.exam_update_settings(
        exam=world.exam, actor=world.alice, data={"lockdown": {"reentry": rule}}
    )
    from datetime import timedelta

    from django.utils import timezone

    attempt = services.attempt_start_or_resume(exam=world.exam, user=world.bob)
    services.attempt_transition(attempt=attempt, to=S.READY)
    services.attempt_transition(attempt=attempt, to=S.IN_PROGRESS)
    # Recorded for a while, then left (the last heartbeat is minutes old).
    services.attempt_heartbeat(attempt=attempt)
    AttemptSession.objects.filter(attempt=attempt).update(
        last_heartbeat_at=timezone.now() - timedelta(minutes=10))
    return attempt


def test_coming_back_before_recording_ever_started_is_not_a_re_entry(world) -> None:
    services.exam_update_settings(
        exam=world.exam, actor=world.alice, data={"lockdown": {"reentry": "none"}})
    attempt = services.attempt_start_or_resume(exam=world.exam, user=world.bob)
    services.attempt_transition(attempt=attempt, to=S.READY)
    services.attempt_transition(attempt=attempt, to=S.IN_PROGRESS)  # agreement accepted
    # Screen sharing failed, the student reloads: no heartbeat was ever sent.
    assert services.attempt_start_or_resume(exam=world.exam, user=world.bob).pk == attempt.pk


def test_reentry_allowed_resumes_the_started_attempt(world) -> None:
    attempt = _started(world, "allowed")
    again = services.attempt_start_or_resume(exam=world.exam, user=world.bob)
    assert again.pk == attempt.pk
    assert AttemptSession.objects.get(attempt=attempt).entries == 2


def test_reentry_with_approval_needs_one_unused_approval_each_time(world) -> None:
    _started(world, "approval")
    with pytest.raises(UserFacingError) as err:
        services.attempt_start_or_resume(exam=world.exam, user=world.bob)
    assert err.value.code == "reentry_needs_approval" and err.value.status == 403
    services.reentry_approve(exam=world.exam, user=world.bob, actor=world.alice, reason="crash")
    services.attempt_start_or_resume(exam=world.exam, user=world.bob)
    with pytest.raises(UserFacingError):
        services.attempt_start_or_resume(exam=world.exam, user=world.bob)


def test_a_reload_of_a_running_session_is_not_a_re_entry(world) -> None:
    # F5 in the LMS re-launches the tool: with a heartbeat seconds ago that is the same
    # sitting, not a return after leaving, even under the strictest rule.
    from datetime import timedelta

    from django.utils import timezone

    attempt = _started(world, "none")
    services.attempt_heartbeat(attempt=attempt)
    again = services.attempt_start_or_resume(exam=world.exam, user=world.bob)
    assert again.pk == attempt.pk
    AttemptSession.objects.filter(attempt=attempt).update(
        last_heartbeat_at=timezone.now() - timedelta(minutes=5))
    with pytest.raises(UserFacingError) as err:
        services.attempt_start_or_resume(exam=world.exam, user=world.bob)
    assert err.value.code == "reentry_refused"


def test_reentry_none_refuses_unless_the_instructor_makes_an_exception(world) -> None:
    _started(world, "none")
    with pytest.raises(UserFacingError) as err:
        services.attempt_start_or_resume(exam=world.exam, user=world.bob)
    assert err.value.code == "reentry_refused"
    services.reentry_approve(exam=world.exam, user=world.bob, actor=world.alice)
    services.attempt_start_or_resume(exam=world.exam, user=world.bob)


def test_a_student_who_has_not_started_is_not_re_entering(world) -> None:
    services.exam_update_settings(
        exam=world.exam, actor=world.alice, data={"lockdown": {"reentry": "none"}}
    )
    first = services.attempt_start_or_resume(exam=world.exam, user=world.bob)
    services.attempt_transition(attempt=first, to=S.PRECHECKS)
    assert services.attempt_start_or_resume(exam=world.exam, user=world.bob).pk == first.pk


def test_proctoring_attempts_follow_the_platform_attempt_number(world) -> None:
    claims = ProctoringClaims(
        start_assessment_url="https://lms.example/start", session_data="opaque-1", attempt_number=1
    )
    attempt = services.attempt_start_or_resume(exam=world.exam, user=world.bob, proctoring=claims)
    assert (attempt.lti_session_data, attempt.lti_attempt_number) == ("opaque-1", 1)
    again = services.attempt_start_or_resume(
        exam=world.exam,
        user=world.bob,
        proctoring=ProctoringClaims(session_data="opaque-2", attempt_number=1),
    )
    assert again.pk == attempt.pk and again.lti_session_data == "opaque-2"
    second = services.attempt_start_or_resume(
        exam=world.exam,
        user=world.bob,
        proctoring=ProctoringClaims(session_data="s", attempt_number=2),
    )
    assert second.number == 2


def test_checks_move_the_attempt_to_ready_only_when_all_required_pass(world) -> None:
    attempt = services.attempt_start_or_resume(exam=world.exam, user=world.bob)
    assert selectors.checks_missing(attempt=attempt) == [
        "browser",
        "permissions",
        "upload_speed",
        "camera",
    ]
    services.precheck_record(attempt=attempt, check="browser", passed=True)
    assert attempt.status == S.PRECHECKS
    services.precheck_record(attempt=attempt, check="permissions", passed=True)
    services.precheck_record(attempt=attempt, check="upload_speed", passed=False)
    services.precheck_record(attempt=attempt, check="upload_speed", passed=True)
    assert attempt.precheck_results["upload_speed"]["tries"] == 2
    assert attempt.status == S.PRECHECKS
    services.precheck_record(attempt=attempt, check="camera", passed=True)
    attempt.refresh_from_db()
    assert attempt.status == S.READY


def test_agreement_acceptance_stores_who_which_version_when_ip_and_browser(world) -> None:
    services.exam_update_settings(
        exam=world.exam,
        actor=world.alice,
        data={"recording": {"webcam": False}, "verification": {"camera": False}},
    )
    attempt = services.attempt_start_or_resume(exam=world.exam, user=world.bob)
    for check in ("browser",):
        services.precheck_record(attempt=attempt, check=check, passed=True)
    acceptance = services.agreement_accept(
        attempt=attempt, version=1, ip="203.0.113.9", user_agent="Firefox/140"
    )
    attempt.refresh_from_db()
    assert attempt.status == S.IN_PROGRESS and attempt.started_at
    stored = AgreementAcceptance.objects.get(attempt=attempt)
    assert (stored.version.version, stored.ip_address, stored.user_agent) == (
        1,
        "203.0.113.9",
        "Firefox/140",
    )
    assert acceptance.accepted_at


def test_accepting_an_old_agreement_version_is_refused(world) -> None:
    attempt = services.attempt_start_or_resume(exam=world.exam, user=world.bob)
    services.agreement_publish(title="Agreement", text="New rules")
    with pytest.raises(UserFacingError) as err:
        services.agreement_accept(attempt=attempt, version=1, ip=None, user_agent="")
    assert err.value.code == "agreement_changed"
    assert AgreementVersion.objects.filter(is_current=True).get().version == 2


def test_beginning_with_missing_checks_is_refused(world) -> None:
    attempt = services.attempt_start_or_resume(exam=world.exam, user=world.bob)
    with pytest.raises(UserFacingError) as err:
        services.attempt_begin(attempt=attempt)
    assert err.value.code == "checks_missing"


def _in_progress(world) -> Attempt:
    attempt = services.attempt_start_or_resume(exam=world.exam, user=world.bob)
    services.attempt_transition(attempt=attempt, to=S.READY)
    services.attempt_transition(attempt=attempt, to=S.IN_PROGRESS)
    return attempt


def test_the_access_code_needs_an_in_progress_attempt_and_a_fresh_heartbeat(world) -> None:
    attempt = services.attempt_start_or_resume(exam=world.exam, user=world.bob)
    with pytest.raises(UserFacingError) as err:
        services.access_code_reveal(attempt=attempt, user=world.bob)
    assert err.value.code == "session_not_active"
    attempt = _in_progress(world)
    with pytest.raises(UserFacingError) as err:
        services.access_code_reveal(attempt=attempt, user=world.bob)
    assert err.value.code == "no_recent_heartbeat"
    services.attempt_heartbeat(attempt=attempt)
    assert services.access_code_reveal(attempt=attempt, user=world.bob) == "SECRET-CODE-7731"
    with pytest.raises(UserFacingError):
        services.access_code_reveal(attempt=attempt, user=world.dana)
    AttemptSession.objects.filter(attempt=attempt).update(
        last_heartbeat_at=timezone.now() - timedelta(minutes=5)
    )
    with pytest.raises(UserFacingError):
        services.access_code_reveal(attempt=attempt, user=world.bob)


def test_ending_submits_once_and_is_idempotent(world) -> None:
    attempt = _in_progress(world)
    services.attempt_end(attempt=attempt)
    services.attempt_end(attempt=attempt)
    attempt.refresh_from_db()
    assert attempt.status == S.SUBMITTED and attempt.ended_at


def test_a_heartbeat_never_changes_the_status(world) -> None:
    attempt = _in_progress(world)
    services.attempt_heartbeat(attempt=attempt)
    attempt.refresh_from_db()
    assert attempt.status == S.IN_PROGRESS


def test_attempts_whose_page_went_silent_are_ended_for_analysis(world, settings) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from proctor_lti.exams.attempts import attempts_end_abandoned

    settings.EXAM_ABANDONED_MINUTES = 120
    gone = _started(world, "allowed")  # last heartbeat 10 minutes ago
    assert attempts_end_abandoned() == 0  # not yet: it may come back
    later = timezone.now() + timedelta(minutes=125)
    assert attempts_end_abandoned(now=later) == 1
    gone.refresh_from_db()
    assert gone.status in (S.SUBMITTED, S.ANALYSING) and gone.ended_at is not None
    assert attempts_end_abandoned(now=later) == 0  # once
