"""Score services: read stored flags, apply review.scoring, cache the result. No model runs."""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction

from proctor_lti.exams.models import Attempt, Exam

from . import scoring
from .models import AttemptScore, Flag


def attempt_exam_seconds(attempt: Attempt, last_flag_end: float = 0.0) -> float:
    """How long the attempt lasted: start to end, else the exam's duration, else the flags."""
    if attempt.started_at and attempt.ended_at and attempt.ended_at > attempt.started_at:
        return (attempt.ended_at - attempt.started_at).total_seconds()
    if attempt.exam.duration_minutes:
        return attempt.exam.duration_minutes * 60.0
    return max(last_flag_end, scoring.MIN_EXAM_S)


def _spans(rows: list[tuple[str, str, float, float]]) -> list[scoring.Span]:
    return [scoring.Span(type=t, start_s=s, end_s=e, point_event=src == Flag.Source.LOCKDOWN)
            for src, t, s, e in rows]


def _save(attempts: list[Attempt], results: dict[int, scoring.Score],
          weights: dict[str, int]) -> None:
    with transaction.atomic():
        existing = {s.attempt_id: s for s in AttemptScore.objects.filter(
            attempt_id__in=[a.pk for a in attempts])}
        create: list[AttemptScore] = []
        update: list[AttemptScore] = []
        for attempt in attempts:
            result = results[attempt.pk]
            row = existing.get(attempt.pk) or AttemptScore(attempt=attempt)
            row.value, row.band = result.value, result.band
            row.parts = result.to_dict()["parts"]
            row.exam_minutes, row.weights = result.exam_minutes, weights
            (update if row.pk else create).append(row)
            attempt.suspicion_score = result.value
        AttemptScore.objects.bulk_create(create)
        AttemptScore.objects.bulk_update(update, ["value", "band", "parts", "exam_minutes",
                                                  "weights", "computed_at"])
        Attempt.objects.bulk_update(attempts, ["suspicion_score"])


def score_recalculate(*, attempt: Attempt) -> scoring.Score:
    """Recompute and cache one attempt's suspicion score from its stored flags."""
    rows = list(attempt.flags.exclude(decision=Flag.Decision.DISMISSED)
                .values_list("source", "type", "start_s", "end_s"))
    exam = attempt.exam
    last = max((r[3] for r in rows), default=0.0)
    result = scoring.compute(_spans(rows), exam.behaviour_weights,
                             attempt_exam_seconds(attempt, last))
    _save([attempt], {attempt.pk: result}, scoring.clean_weights(exam.behaviour_weights))
    return result


def scores_recalculate_for_exam(*, exam: Exam) -> int:
    """Re-score every started attempt of the exam (after a weight change). Returns the count.

    Two queries for the whole exam plus the writes; models never run again.
    """
    attempts = list(exam.attempts.exclude(started_at__isnull=True, status__in=[
        Attempt.Status.CREATED, Attempt.Status.PRECHECKS, Attempt.Status.READY]))
    by_attempt: dict[int, list[tuple[str, str, float, float]]] = defaultdict(list)
    for attempt_id, *row in (Flag.objects.filter(attempt__exam=exam)
                             .exclude(decision=Flag.Decision.DISMISSED)
                             .values_list("attempt_id", "source", "type", "start_s", "end_s")):
        by_attempt[attempt_id].append((row[0], row[1], row[2], row[3]))
    weights = scoring.clean_weights(exam.behaviour_weights)
    results = {}
    for attempt in attempts:
        attempt.exam = exam
        rows = by_attempt.get(attempt.pk, [])
        last = max((r[3] for r in rows), default=0.0)
        results[attempt.pk] = scoring.compute(_spans(rows), weights,
                                              attempt_exam_seconds(attempt, last))
    _save(attempts, results, weights)
    return len(attempts)
