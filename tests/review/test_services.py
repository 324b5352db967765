"""Review services: idempotent flag replacement, lockdown flags, decisions, outcomes, scores."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from detection.results import Flag as DetFlag
from proctor_lti.core.errors import UserFacingError
from proctor_lti.core.models import AuditEntry
from proctor_lti.exams.models import Attempt, AttemptEvent
from proctor_lti.review import services
from proctor_lti.review.evidence import evidence_bytes
from proctor_lti.review.models import AttemptScore, Evidence, Flag
from tests.review.conftest import flag

pytestmark = pytest.mark.django_db


def det(type_, start, end, conf=0.9):  # type: ignore[no-untyped-def]
    return DetFlag(type_, start, end, conf, {"rule": f"{type_} rule", "threshold": {"s": 3},
                                             "models": [{"name": "yunet"}],
                                             "evidence_timestamps": [start + 1]})


def test_replacing_detection_flags_twice_gives_one_set(world):
    a = world.attempt_dave
    flags = [det("multiple_faces", 10, 40), det("looking_away", 100, 130)]
    services.flags_replace_from_detection(attempt=a, flags=flags, evidence=None)
    services.flags_replace_from_detection(attempt=a, flags=flags, evidence=None)
    assert list(a.flags.filter(source="detection").values_list("type", "start_s")) == [
        ("multiple_faces", 10.0), ("looking_away", 100.0)]


def test_replacement_keeps_a_reviewers_decision_on_the_matching_flag(world):
    a = world.attempt_dave
    services.flags_replace_from_detection(attempt=a, flags=[det("multiple_faces", 10, 40),
                                                            det("looking_away", 100, 130)])
    f = a.flags.get(type="multiple_faces")
    services.flag_decide(flag=f, actor=world.alice, decision="dismissed",
                         reason_code="detection_error")
    # A re-run shifts the span a little (more frames) and adds a new flag.
    services.flags_replace_from_detection(attempt=a, flags=[
        det("multiple_faces", 12, 44), det("looking_away", 100, 130), det("no_face", 500, 520)])
    kept = a.flags.get(type="multiple_faces")
    assert kept.decision == "dismissed" and kept.reason_code == "detection_error"
    assert kept.decided_by == world.alice and kept.start_s == 12
    assert a.flags.get(type="no_face").decision == "open"
    assert a.flags.get(type="looking_away").decision == "open"


def test_a_decision_does_not_jump_to_a_flag_of_another_type_or_time(world):
    a = world.attempt_dave
    services.flags_replace_from_detection(attempt=a, flags=[det("multiple_faces", 10, 40)])
    services.flag_decide(flag=a.flags.get(), actor=world.alice, decision="confirmed",
                         reason_code="unpermitted_person")
    services.flags_replace_from_detection(attempt=a, flags=[
        det("multiple_persons", 10, 40), det("multiple_faces", 300, 320)])
    assert set(a.flags.values_list("decision", flat=True)) == {"open"}


def test_evidence_bytes_are_stored_encrypted_and_read_back(world, settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": str(tmp_path)}}}
    # Django's setting_changed signal makes default_storage follow the new location.
    a = world.attempt_dave
    jpeg = b"\xff\xd8\xff\xe0 fake jpeg frame \xff\xd9"
    services.flags_replace_from_detection(attempt=a, flags=[det("multiple_faces", 10, 40)],
                                          evidence={11.0: jpeg, 900.0: b"unrelated"})
    ev = Evidence.objects.get(flag__attempt=a)
    assert ev.at_s == 11.0
    stored = (tmp_path / ev.storage_name).read_bytes()
    assert jpeg not in stored  # encrypted at rest
    assert evidence_bytes(evidence=ev) == jpeg
    services.flags_replace_from_detection(attempt=a, flags=[det("multiple_faces", 10, 40)],
                                          evidence={11.0: jpeg})
    assert Evidence.objects.filter(flag__attempt=a).count() == 1


def test_lockdown_events_become_flags_with_durations_and_bursts(world):
    a = world.attempt_dave
    start = a.started_at

    def ev(i, type_, at, **data):  # type: ignore[no-untyped-def]
        AttemptEvent.objects.create(attempt=a, client_event_id=f"c{i}", type=type_,
                                    occurred_at=start + timedelta(seconds=at), offset_s=at,
                                    data=data)

    ev(1, "tab_hidden", 100)
    ev(2, "tab_visible", 145)
    ev(3, "paste", 200)
    ev(4, "paste", 202)
    ev(5, "paste", 204)
    ev(6, "paste", 400)
    ev(7, "fullscreen_exit", 500, duration_s=12)
    ev(8, "heartbeat", 501)
    flags = services.flags_from_lockdown_events(attempt=a)
    got = [(f.type, f.start_s, f.end_s, f.explanation.get("count")) for f in flags]
    assert got == [("tab_hidden", 100, 145, None), ("paste", 200, 204, 3),
                   ("paste", 400, 400, 1), ("fullscreen_exit", 500, 512, None)]
    # Idempotent.
    services.flags_from_lockdown_events(attempt=a)
    assert a.flags.filter(source="lockdown").count() == 4


def test_dismissing_a_flag_lowers_the_score_and_is_audited(world):
    a = world.attempt_charlie
    services.score_recalculate(attempt=a)
    a.refresh_from_db()
    before = a.suspicion_score
    assert before > 0
    services.flag_decide(flag=world.flag_charlie, actor=world.alice, decision="dismissed",
                         reason_code="ordinary_behaviour")
    a.refresh_from_db()
    assert a.suspicion_score < before
    entry = AuditEntry.objects.get(action="review", detail__event="flag_decided")
    assert entry.actor == world.alice and entry.context_id == world.course_a.pk
    assert entry.detail["to"] == "dismissed"


def test_a_decision_needs_a_reason_from_the_list(world):
    with pytest.raises(UserFacingError):
        services.flag_decide(flag=world.flag_charlie, actor=world.alice, decision="dismissed",
                             reason_code="because")
    with pytest.raises(UserFacingError):
        services.flag_decide(flag=world.flag_charlie, actor=world.alice, decision="maybe",
                             reason_code="other")


def test_weight_changes_rescore_every_attempt_without_running_models(world, monkeypatch):
    import detection.pipeline

    def boom(*a, **k):  # type: ignore[no-untyped-def]
        raise AssertionError("a model ran")

    monkeypatch.setattr(detection.pipeline, "observe", boom)
    exam = world.exam_a
    flag(world.attempt_dave, "looking_away", 0, 400)
    assert services.scores_recalculate_for_exam(exam=exam) == 2
    world.attempt_dave.refresh_from_db()
    looking = world.attempt_dave.suspicion_score
    exam.behaviour_weights = {**exam.behaviour_weights, "head_movement": 5}
    exam.save()
    with CaptureQueriesContext(connection) as ctx:
        services.scores_recalculate_for_exam(exam=exam)
    world.attempt_dave.refresh_from_db()
    assert world.attempt_dave.suspicion_score > looking
    exam.behaviour_weights = {**exam.behaviour_weights, "head_movement": 0}
    exam.save()
    services.scores_recalculate_for_exam(exam=exam)
    world.attempt_dave.refresh_from_db()
    assert world.attempt_dave.suspicion_score == 0
    score = AttemptScore.objects.get(attempt=world.attempt_dave)
    assert score.weights["head_movement"] == 0
    assert len(ctx.captured_queries) < 15


def test_ranking_puts_the_most_suspicious_attempt_first(world):
    from proctor_lti.review.selectors import exam_overview

    flag(world.attempt_dave, "multiple_faces", 0, 900)
    services.scores_recalculate_for_exam(exam=world.exam_a)
    rows = exam_overview(exam=world.exam_a)["rows"]
    assert [r.name for r in rows[:2]] == ["Dave Student", "Charlie Student"]
    rows = exam_overview(exam=world.exam_a, params={"sort": "suspicion"})["rows"]
    assert [r.name for r in rows[:2]] == ["Charlie Student", "Dave Student"]


def test_setting_an_outcome_records_who_and_when_and_audits(world):
    review = services.attempt_outcome_set(attempt=world.attempt_charlie, actor=world.alice,
                                          outcome="follow_up")
    assert review.decided_by == world.alice and review.decided_at is not None
    review = services.attempt_outcome_set(attempt=world.attempt_charlie, actor=world.alice,
                                          outcome="incident")
    assert review.outcome == "incident"
    entries = AuditEntry.objects.filter(detail__event="outcome_set").order_by("at", "pk")
    assert [e.detail["to"] for e in entries] == ["follow_up", "incident"]
    with pytest.raises(UserFacingError):
        services.attempt_outcome_set(attempt=world.attempt_charlie, actor=world.alice,
                                     outcome="guilty")


def test_notes_are_added_to_the_incident_log_and_empty_ones_refused(world):
    services.review_note_add(attempt=world.attempt_charlie, actor=world.alice,
                             text="Second person visible at 1:00, sibling per email.")
    assert world.attempt_charlie.review_notes.count() == 1
    with pytest.raises(UserFacingError):
        services.review_note_add(attempt=world.attempt_charlie, actor=world.alice, text="  ")


def test_acs_is_refused_for_access_code_exams(world):
    with pytest.raises(UserFacingError) as err:
        services.attempt_acs_send(attempt=world.attempt_charlie, actor=world.alice,
                                  action="flag")
    assert err.value.status == 409


def test_dismissed_flags_do_not_count_in_a_fresh_score(world):
    a = world.attempt_dave
    f = flag(a, "multiple_faces", 0, 600, decision=Flag.Decision.DISMISSED)
    assert f.decision == "dismissed"
    assert services.score_recalculate(attempt=a).value == 0
    assert Attempt.objects.get(pk=a.pk).suspicion_score == 0


def test_an_outcome_moves_a_reviewable_attempt_to_reviewed(world):
    services.attempt_outcome_set(attempt=world.attempt_charlie, actor=world.alice,
                                 outcome="no_issue")
    world.attempt_charlie.refresh_from_db()
    assert world.attempt_charlie.status == Attempt.Status.REVIEWED


def test_acs_flag_goes_to_the_platform_for_proctoring_services_exams(world, monkeypatch):
    from proctor_lti.exams.models import Exam

    exam = world.exam_a
    exam.delivery = Exam.Delivery.PROCTORING_SERVICES
    exam.save()
    a = world.attempt_charlie
    a.lti_acs_url = "https://lms.example.edu/acs"
    a.save()
    sent = []
    # The platform is the edge of the world; lti.service_clients.acs_send has its own tests.
    monkeypatch.setattr("proctor_lti.lti.service_clients.acs_send",
                        lambda attempt, **kw: sent.append((attempt.pk, kw)) or {"status": "ok"})
    services.attempt_acs_send(attempt=a, actor=world.alice, action="terminate",
                              reason="Second person confirmed")
    assert sent == [(a.pk, {"action": "terminate", "reason_code": "reviewer_terminate",
                            "reason_msg": "Second person confirmed"})]
    assert AuditEntry.objects.filter(detail__event="acs_sent", detail__action="terminate",
                                     actor=world.alice).exists()
    with pytest.raises(UserFacingError):
        services.attempt_acs_send(attempt=a, actor=world.alice, action="pause")


def test_crossing_the_full_screen_allowance_is_noted_on_the_same_absence(world):
    a = world.attempt_dave
    for i, (type_, at, data) in enumerate([
            ("fullscreen_exit", 100, {"away_s_total": 0, "grace_s": 15}),
            ("fullscreen_exit", 116, {"away_s_total": 16, "grace_s": 15, "over_grace": True}),
            ("fullscreen_enter", 130, {})]):
        AttemptEvent.objects.create(attempt=a, client_event_id=f"f{i}", type=type_,
                                    occurred_at=a.started_at + timedelta(seconds=at),
                                    offset_s=at, data=data)
    flags = services.flags_from_lockdown_events(attempt=a)
    assert len(flags) == 1
    assert (flags[0].start_s, flags[0].end_s) == (100, 130)
    assert flags[0].explanation["over_grace"] is True
    assert flags[0].explanation["threshold"]["full_screen_allowance_s"] == 15


def test_leaving_the_proctoring_page_for_the_opened_exam_window_is_not_scored(world):
    # Access-code exams open in their own window: the proctoring page then loses focus for
    # the whole exam, by design. Only absences before the exam window was opened count.
    a = world.attempt_dave
    for i, (type_, at, data) in enumerate([
            ("window_blur", 30, {"exam_opened": False}), ("window_focus", 50, {"away_s": 20}),
            ("window_blur", 60, {"exam_opened": True}), ("window_focus", 1500, {"away_s": 1440}),
            ("tab_hidden", 70, {"exam_opened": True}), ("tab_visible", 1400, {})]):
        AttemptEvent.objects.create(attempt=a, client_event_id=f"w{i}", type=type_,
                                    occurred_at=a.started_at + timedelta(seconds=at),
                                    offset_s=at, data=data)
    flags = services.flags_from_lockdown_events(attempt=a)
    assert [(f.type, f.start_s, f.end_s) for f in flags] == [("window_blur", 30, 50)]


def test_terminating_through_acs_ends_the_proctored_session_too(world, monkeypatch):
    from proctor_lti.exams.models import Exam

    exam = world.exam_a
    exam.delivery = Exam.Delivery.PROCTORING_SERVICES
    exam.save()
    a = world.attempt_charlie
    Attempt.objects.filter(pk=a.pk).update(status=Attempt.Status.IN_PROGRESS,
                                           lti_acs_url="https://lms.example.edu/acs",
                                           ended_at=None)
    a.refresh_from_db()
    monkeypatch.setattr("proctor_lti.lti.service_clients.acs_send",
                        lambda attempt, **kw: {"status": "terminated"})
    services.attempt_acs_send(attempt=a, actor=world.alice, action="flag", reason="look")
    a.refresh_from_db()
    assert a.status == Attempt.Status.IN_PROGRESS  # a flag does not stop the exam
    services.attempt_acs_send(attempt=a, actor=world.alice, action="terminate", reason="seen")
    a.refresh_from_db()
    assert a.status == Attempt.Status.TERMINATED and a.ended_at is not None
