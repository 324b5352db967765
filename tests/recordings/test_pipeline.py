"""Segments close, get queued after commit, are analysed and aggregated into flags."""

from __future__ import annotations

import pytest
from django.utils import timezone

from proctor_lti.exams.models import Attempt
from proctor_lti.recordings import analysis, services
from proctor_lti.recordings.models import AttemptVault, Recording, Segment
from proctor_lti.recordings.sweep import sweep
from proctor_lti.review.models import Flag

from .conftest import _use_broker, put_chunk

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _isolated(media_root):  # type: ignore[no-untyped-def]
    yield


def _upload_segment(client, attempt, chunks, *, first_seq=0, segment=0, start=0.0,
                    final=True):  # type: ignore[no-untyped-def]
    for i, body in enumerate(chunks):
        response = put_chunk(client, attempt, first_seq + i, body, segment=segment,
                             start=start + i * 5, final=final and i == len(chunks) - 1)
        assert response.status_code == 201, response.content


def test_a_segment_marked_final_is_stored_and_queued_after_commit(alice_client, attempt,
                                                                  webm_chunks, memory_broker):
    put_chunk(alice_client, attempt, 0, webm_chunks[0], start=0.0)
    assert Segment.objects.get().status == Segment.Status.OPEN
    put_chunk(alice_client, attempt, 2, webm_chunks[2], final=True)
    assert Segment.objects.get().status == Segment.Status.OPEN  # seq 1 still missing
    put_chunk(alice_client, attempt, 1, webm_chunks[1])
    segment = Segment.objects.get()
    assert segment.status == Segment.Status.QUEUED and segment.queued_at
    assert (segment.first_seq, segment.final_seq) == (0, 2)


def test_the_next_segments_header_closes_the_previous_segment(alice_client, attempt,
                                                              webm_chunks, memory_broker):
    _upload_segment(alice_client, attempt, webm_chunks, final=False)
    assert Segment.objects.get(index=0).status == Segment.Status.OPEN
    put_chunk(alice_client, attempt, 3, webm_chunks[0], segment=1, start=16.0)
    assert Segment.objects.get(index=0).status == Segment.Status.QUEUED
    assert Segment.objects.get(index=1).start_s == 16.0


def test_an_upload_succeeds_while_the_broker_is_down_and_the_sweep_catches_up(
        alice_client, attempt, webm_chunks, caplog):  # type: ignore[no-untyped-def]
    from proctor_lti.celery import app

    down = _use_broker(app, "redis://127.0.0.1:1/0", {"max_retries": 0})
    next(down)
    try:
        _upload_segment(alice_client, attempt, webm_chunks)
    finally:
        next(down, None)
    assert Segment.objects.get().status == Segment.Status.STORED
    assert "the sweep will retry" in caplog.text
    up = _use_broker(app, "memory://", {})
    next(up)
    try:
        result = sweep(now=timezone.now(), stale_after=timezone.timedelta(minutes=15))
    finally:
        next(up, None)
    assert result["sent"] == 1 and Segment.objects.get().status == Segment.Status.QUEUED


def test_finalise_records_gaps_and_closes_open_segments(alice_client, attempt, webm_chunks,
                                                        memory_broker):
    put_chunk(alice_client, attempt, 0, webm_chunks[0])
    put_chunk(alice_client, attempt, 2, webm_chunks[2])
    Attempt.objects.filter(pk=attempt.pk).update(status=Attempt.Status.SUBMITTED,
                                                 ended_at=timezone.now())
    attempt.refresh_from_db()
    summary = services.attempt_finalise(attempt=attempt)
    assert summary["gaps"] == {"webcam": [[1, 1]]}
    assert Recording.objects.get().gaps == [[1, 1]]
    assert Segment.objects.get().status == Segment.Status.QUEUED
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.ANALYSING
    vault = AttemptVault.objects.get(attempt=attempt)
    assert vault.finalised_at and vault.retain_until > timezone.now() + timezone.timedelta(days=29)


def test_a_chunk_arriving_after_the_end_fills_its_recorded_gap(alice_client, attempt,
                                                                 webm_chunks, memory_broker):
    put_chunk(alice_client, attempt, 0, webm_chunks[0])
    put_chunk(alice_client, attempt, 2, webm_chunks[2])
    Attempt.objects.filter(pk=attempt.pk).update(status=Attempt.Status.SUBMITTED,
                                                 ended_at=timezone.now())
    attempt.refresh_from_db()
    services.attempt_finalise(attempt=attempt)
    assert Recording.objects.get().gaps == [[1, 1]]
    assert put_chunk(alice_client, attempt, 1, webm_chunks[1]).status_code == 201
    assert Recording.objects.get().gaps == []


def test_a_terminated_attempt_is_analysed_like_a_submitted_one(alice_client, attempt,
                                                               webm_chunks, memory_broker):
    # A reviewer (ACS terminate) or the platform ended it: it must still reach review.
    put_chunk(alice_client, attempt, 0, webm_chunks[0], final=True)
    Attempt.objects.filter(pk=attempt.pk).update(status=Attempt.Status.TERMINATED,
                                                 ended_at=timezone.now())
    attempt.refresh_from_db()
    services.attempt_finalise(attempt=attempt)
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.ANALYSING


def test_a_late_chunk_reopens_its_finalised_segment_for_a_complete_analysis(
        alice_client, attempt, webm_chunks, memory_broker):
    put_chunk(alice_client, attempt, 0, webm_chunks[0])
    put_chunk(alice_client, attempt, 2, webm_chunks[2], final=True)
    Attempt.objects.filter(pk=attempt.pk).update(status=Attempt.Status.SUBMITTED,
                                                 ended_at=timezone.now())
    attempt.refresh_from_db()
    services.attempt_finalise(attempt=attempt)
    Segment.objects.update(status=Segment.Status.DONE, observations={"x": 1})
    assert put_chunk(alice_client, attempt, 1, webm_chunks[1]).status_code == 201
    segment = Segment.objects.get()
    assert segment.status == Segment.Status.QUEUED and segment.observations is None


@pytest.mark.slow
def test_analysis_and_aggregation_give_one_set_of_flags_however_often_they_run(
        alice_client, attempt, webm_chunks, memory_broker, model_dir, settings):
    settings.MODEL_DIR = model_dir
    _upload_segment(alice_client, attempt, webm_chunks)
    Attempt.objects.filter(pk=attempt.pk).update(status=Attempt.Status.SUBMITTED,
                                                 ended_at=timezone.now())
    attempt.refresh_from_db()
    services.attempt_finalise(attempt=attempt)
    segment = Segment.objects.get()
    assert analysis.segment_analyse(segment_id=segment.pk) == "done"
    assert analysis.segment_analyse(segment_id=segment.pk) == "done"  # idempotent no-op
    segment.refresh_from_db()
    obs = segment.observations
    assert obs["frames"] and obs["start_s"] == 0.0 and obs["end_s"] > 10
    # An empty room: no face, so the analysis keeps encrypted evidence thumbnails.
    assert segment.evidence and all(e["name"].endswith(".enc") for e in segment.evidence)
    first = analysis.attempt_aggregate(attempt_id=attempt.pk)
    second = analysis.attempt_aggregate(attempt_id=attempt.pk)
    assert first == second >= 1
    flags = Flag.objects.filter(attempt=attempt, source=Flag.Source.DETECTION)
    assert flags.count() == first and {f.type for f in flags} >= {"no_face"}
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.REVIEWABLE


def test_undecodable_media_fails_only_its_own_segment(alice_client, attempt, webm_chunks,
                                                      memory_broker, model_dir, settings):
    settings.MODEL_DIR = model_dir
    # A header followed by garbage that still starts like a cluster.
    junk = b"\x1f\x43\xb6\x75" + bytes(range(256)) * 40
    put_chunk(alice_client, attempt, 0, webm_chunks[0][:300], final=False)
    put_chunk(alice_client, attempt, 1, junk, final=True)
    _upload_segment(alice_client, attempt, webm_chunks, first_seq=2, segment=1, start=20.0)
    bad, good = Segment.objects.order_by("index")
    assert analysis.segment_analyse(segment_id=bad.pk) == "failed"
    bad.refresh_from_db()
    assert bad.status == Segment.Status.FAILED and bad.error
    assert analysis.segment_analyse(segment_id=good.pk) == "done"


def test_an_analysis_overtaken_by_a_late_chunk_does_not_overwrite_the_segment(
        alice_client, attempt, webm_chunks, memory_broker, monkeypatch, model_dir, settings):
    settings.MODEL_DIR = model_dir
    put_chunk(alice_client, attempt, 0, webm_chunks[0], final=True)
    segment = Segment.objects.get()
    real_observe = __import__("detection.pipeline", fromlist=["observe"]).observe

    def observe_while_a_chunk_arrives(*args, **kwargs):  # type: ignore[no-untyped-def]
        result = real_observe(*args, **kwargs)
        # What the segment upsert does when a late chunk reopens the segment mid-analysis.
        Segment.objects.filter(pk=segment.pk).update(status=Segment.Status.STORED)
        return result

    monkeypatch.setattr("detection.pipeline.observe", observe_while_a_chunk_arrives)
    assert analysis.segment_analyse(segment_id=segment.pk) == "superseded"
    segment.refresh_from_db()
    assert segment.status == Segment.Status.STORED and segment.observations is None


def test_the_sweep_finalises_an_attempt_whose_finalisation_failed(
        alice_client, attempt, webm_chunks, memory_broker, monkeypatch,
        django_capture_on_commit_callbacks):
    from proctor_lti.exams.attempts import attempt_end

    put_chunk(alice_client, attempt, 0, webm_chunks[0], final=True)
    Attempt.objects.filter(pk=attempt.pk).update(status=Attempt.Status.IN_PROGRESS)
    attempt.refresh_from_db()

    def blip(**kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "attempt_finalise", blip)
    with django_capture_on_commit_callbacks(execute=True):
        attempt_end(attempt=attempt, reason="student ended")  # the failure must not raise
    monkeypatch.undo()
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.SUBMITTED
    assert not AttemptVault.objects.filter(attempt=attempt, finalised_at__isnull=False).exists()
    later = timezone.now() + timezone.timedelta(minutes=20)
    assert sweep(now=later, stale_after=timezone.timedelta(minutes=15))["finalised"] == 1
    attempt.refresh_from_db()
    assert attempt.status in (Attempt.Status.ANALYSING, Attempt.Status.REVIEWABLE)
