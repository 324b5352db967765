"""Suspicion score: flag time weighted by the exam's behaviour profile. Pure functions.

Why this shape:
- The score is a function of stored flags and weights only, so a weight change re-scores
  every attempt in milliseconds without re-running a model.
- Each enabled metric contributes `weight * 20 * min(1, share / SATURATION)` points, where
  `share` is flagged minutes per minute of exam: a metric at weight 5 that fills a fifth of
  the exam alone reaches 100 %; at weight 3, a tenth of the exam gives 30 (yellow). The
  total is capped at 100 %. Contributions add up, so every score explains itself.
- Point-like lockdown events (a paste, a resize) count as at least MIN_EVENT_S seconds, so
  a burst of them is visible without any single one dominating.
- Dismissed flags never count. Confirmed and open flags do: the score ranks what a person
  should look at first; it never decides anything.
- The comparison with the rest of the class is a separate, labelled signal, never mixed in.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field

from proctor_lti.exams.vocabulary import BEHAVIOUR_METRICS, EVENT_METRIC, FLAG_METRIC

MAX_WEIGHT = 5
SATURATION = 0.2  # share of the exam at which a metric gives its full contribution
POINTS_PER_WEIGHT = 100 / MAX_WEIGHT  # one metric at full weight and saturation = 100
MIN_EVENT_S = 10.0
MIN_EXAM_S = 60.0

GREEN, YELLOW, RED = "green", "yellow", "red"
YELLOW_FROM = 25.0
RED_FROM = 60.0

# Peer comparison: only meaningful with enough peers; z >= PEER_Z is "much more than peers".
PEER_MIN_ATTEMPTS = 5
PEER_Z = 2.0


def metric_of(flag_type: str) -> str | None:
    """The behaviour metric a detection flag type or lockdown event type belongs to."""
    if flag_type in FLAG_METRIC:
        return FLAG_METRIC[flag_type]
    if flag_type in BEHAVIOUR_METRICS:  # a producer may flag a metric by its own name
        return flag_type
    return EVENT_METRIC.get(flag_type)


def band(score: float | None) -> str | None:
    """red / yellow / green for a 0-100 score (None when not scored yet)."""
    if score is None:
        return None
    if score >= RED_FROM:
        return RED
    if score >= YELLOW_FROM:
        return YELLOW
    return GREEN


def clean_weights(weights: Mapping[str, object] | None) -> dict[str, int]:
    """Weights clamped to 0..5 for known metrics; unknown keys and junk are ignored."""
    out: dict[str, int] = {}
    for metric in BEHAVIOUR_METRICS:
        raw = (weights or {}).get(metric, 0)
        try:
            value = int(raw)  # type: ignore[call-overload]
        except (TypeError, ValueError):
            value = 0
        out[metric] = max(0, min(MAX_WEIGHT, value))
    return out


@dataclass(frozen=True)
class Span:
    """One countable observation: a flag (or lockdown flag) reduced to what scoring needs."""

    type: str
    start_s: float
    end_s: float
    point_event: bool = False


@dataclass
class Part:
    metric: str
    label: str
    weight: int
    minutes: float
    share: float
    occurrences: int
    contribution: float


@dataclass
class Score:
    value: float
    band: str
    exam_minutes: float
    parts: list[Part] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"value": self.value, "band": self.band, "exam_minutes": self.exam_minutes,
                "parts": [asdict(p) for p in self.parts]}


def _union_seconds(spans: list[tuple[float, float]]) -> float:
    """Total covered time of possibly overlapping spans (two overlapping flags count once)."""
    total = 0.0
    cur_start = cur_end = None
    for start, end in sorted(spans):
        if cur_end is None or start > cur_end:
            if cur_end is not None:
                total += cur_end - cur_start  # type: ignore[operator]
            cur_start, cur_end = start, end
        else:
            cur_end = max(cur_end, end)
    if cur_end is not None:
        total += cur_end - cur_start  # type: ignore[operator]
    return total


def metric_seconds(spans: Iterable[Span]) -> dict[str, tuple[float, int]]:
    """metric -> (counted seconds, occurrences)."""
    by_metric: dict[str, list[tuple[float, float]]] = {}
    counts: dict[str, int] = {}
    for span in spans:
        metric = metric_of(span.type)
        if metric is None:
            continue
        end = max(span.end_s, span.start_s)
        if span.point_event:
            end = max(end, span.start_s + MIN_EVENT_S)
        by_metric.setdefault(metric, []).append((span.start_s, end))
        counts[metric] = counts.get(metric, 0) + 1
    return {m: (_union_seconds(s), counts[m]) for m, s in by_metric.items()}


def compute(spans: Iterable[Span], weights: Mapping[str, object] | None,
            exam_seconds: float) -> Score:
    """The score of one attempt from its counted spans, the weights and the exam length."""
    exam_s = max(MIN_EXAM_S, exam_seconds)
    w = clean_weights(weights)
    seconds = metric_seconds(spans)
    parts: list[Part] = []
    for metric, label in BEHAVIOUR_METRICS.items():
        secs, occurrences = seconds.get(metric, (0.0, 0))
        if not occurrences and not w[metric]:
            continue
        share = min(1.0, secs / exam_s)
        contribution = w[metric] * POINTS_PER_WEIGHT * min(1.0, share / SATURATION)
        parts.append(Part(metric=metric, label=label, weight=w[metric],
                          minutes=round(secs / 60, 2), share=round(share, 4),
                          occurrences=occurrences, contribution=round(contribution, 1)))
    parts.sort(key=lambda p: (-p.contribution, -p.minutes, p.metric))
    value = round(min(100.0, sum(p.contribution for p in parts)), 1)
    return Score(value=value, band=band(value) or GREEN, exam_minutes=round(exam_s / 60, 2),
                 parts=parts)


@dataclass
class PeerSignal:
    """A labelled comparison with the rest of the class. Not part of the score."""

    metric: str
    label: str
    value: float
    peer_mean: float
    peer_stdev: float
    z: float
    peers: int
    much_more: bool

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def peer_signal(metric: str, label: str, value: float, peers: list[float]) -> PeerSignal | None:
    """z-score of `value` against the other attempts' values (None with too few peers).

    `peers` excludes the attempt itself. A zero spread means no one differs: z is 0 unless
    the value differs, then it is +/- infinity clipped to +/- 9.9 for display.
    """
    if len(peers) < PEER_MIN_ATTEMPTS:
        return None
    mean = statistics.fmean(peers)
    stdev = statistics.pstdev(peers)
    if stdev == 0:
        z = 0.0 if math.isclose(value, mean) else math.copysign(9.9, value - mean)
    else:
        z = max(-9.9, min(9.9, (value - mean) / stdev))
    return PeerSignal(metric=metric, label=label, value=round(value, 4),
                      peer_mean=round(mean, 4), peer_stdev=round(stdev, 4), z=round(z, 2),
                      peers=len(peers), much_more=z >= PEER_Z)


def peer_z_scores(values: Mapping[int, float]) -> dict[int, float]:
    """Leave-one-out z-score of every value against all the others, in O(n).

    Empty when there are fewer than PEER_MIN_ATTEMPTS others. Same definition as
    peer_signal (population standard deviation of the others), clipped to +/- 9.9.
    """
    n = len(values)
    if n - 1 < PEER_MIN_ATTEMPTS:
        return {}
    total = math.fsum(values.values())
    total_sq = math.fsum(v * v for v in values.values())
    out: dict[int, float] = {}
    for key, v in values.items():
        mean = (total - v) / (n - 1)
        var = max(0.0, (total_sq - v * v) / (n - 1) - mean * mean)
        sd = math.sqrt(var)
        if sd < 1e-12:
            z = 0.0 if math.isclose(v, mean, abs_tol=1e-12) else math.copysign(9.9, v - mean)
        else:
            z = max(-9.9, min(9.9, (v - mean) / sd))
        out[key] = round(z, 2)
    return out
