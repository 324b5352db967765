"""Flag rules with persistence: a condition must hold for N seconds, never one frame.

Each rule turns the sampled frames (or audio blocks) into a sequence of
(t, state, strength) where state is True (condition holds), False, or None
(unknown: e.g. the person detector did not run on that frame). Episodes start at
a True sample, survive unknown samples and gaps of False shorter than
``gap_tolerance_s``, and become flags when they last at least the rule's
persistence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .config import DetectionConfig
from .results import AudioObservation, Flag, FrameObservation, Observations

FACE_MODEL_KEYS = ("yunet",)
PERSON_MODEL_KEYS = ("yunet", "yolox")
VAD_MODEL_KEYS = ("silero",)


@dataclass(frozen=True)
class Sample:
    """One point of a rule's timeline."""

    t: float
    state: bool | None
    strength: float = 1.0


@dataclass(frozen=True)
class Episode:
    """A run of True samples joined across short gaps."""

    start: float
    end: float
    samples: list[Sample]

    @property
    def duration(self) -> float:
        """Seconds from the first True sample to the end of the last one."""
        return self.end - self.start

    def coverage(self) -> float:
        """Fraction of known samples inside the episode that were True."""
        known = [s for s in self.samples if s.state is not None]
        return sum(1 for s in known if s.state) / len(known) if known else 0.0

    def strength(self) -> float:
        """Mean strength of the True samples."""
        true = [s.strength for s in self.samples if s.state]
        return sum(true) / len(true) if true else 0.0


def episodes(samples: list[Sample], step: float, gap_tolerance: float) -> list[Episode]:
    """Group True samples into episodes; ``step`` is the duration one sample stands for."""
    out: list[Episode] = []
    current: list[Sample] = []
    last_true: float | None = None
    for s in samples:
        if s.state:
            if current and last_true is not None:
                gap = s.t - last_true - step
                false_between = any(x.state is False for x in current if x.t > last_true)
                if false_between and gap > gap_tolerance + 1e-6:
                    out.append(_close(current, last_true, step))
                    current = []
            current.append(s)
            last_true = s.t
        elif current:
            current.append(s)
    if current and last_true is not None:
        out.append(_close(current, last_true, step))
    return out


def _close(samples: list[Sample], last_true: float, step: float) -> Episode:
    inside = [s for s in samples if s.t <= last_true]
    first = next(s.t for s in inside if s.state)
    return Episode(first, last_true + step, inside)


def _models(observations: Observations, keys: tuple[str, ...]) -> list[dict[str, str]]:
    return [
        {"name": name, "version": version}
        for name, version in sorted(observations.models.items())
        if any(k in name for k in keys)
    ]


def _evidence(
    observations: Observations, start: float, end: float, reasons: tuple[str, ...]
) -> list[float]:
    times = [
        t
        for t in observations.thumbnail_times
        if start - 1e-6 <= t <= end + 1e-6
        and observations.thumbnail_reasons.get(f"{t:.3f}") in reasons
    ]
    if len(times) <= 3:
        return times
    return [times[0], times[len(times) // 2], times[-1]]


@dataclass(frozen=True)
class _Rule:
    type: str
    text: str
    threshold: Callable[[DetectionConfig], dict[str, float]]
    frame_state: Callable[[FrameObservation, DetectionConfig], tuple[bool | None, float]]
    model_keys: tuple[str, ...]
    evidence: tuple[str, ...]


def _no_face(f: FrameObservation, c: DetectionConfig) -> tuple[bool | None, float]:
    if f.obscured:
        return None, 0.0  # camera_obscured speaks for these frames
    return f.faces == 0, 1.0


def _multiple_faces(f: FrameObservation, c: DetectionConfig) -> tuple[bool | None, float]:
    if f.faces >= 2:
        return True, sorted(f.face_scores, reverse=True)[1]
    return False, 0.0


def _multiple_persons(f: FrameObservation, c: DetectionConfig) -> tuple[bool | None, float]:
    if f.faces >= 2:
        return True, sorted(f.face_scores, reverse=True)[1]
    if f.persons is None:
        return None, 0.0
    if f.persons >= 2:
        scores = sorted(f.person_scores, reverse=True)
        return True, scores[1] if len(scores) >= 2 else 0.5
    return False, 0.0


def _looking_away(f: FrameObservation, c: DetectionConfig) -> tuple[bool | None, float]:
    if f.yaw is None or f.pitch is None or f.faces != 1:
        return None, 0.0
    excess = max(abs(f.yaw) / c.yaw_threshold_deg, abs(f.pitch) / c.pitch_threshold_deg)
    if excess > 1.0:
        return True, min(1.0, 0.5 + 0.5 * (excess - 1.0) * 2)
    return False, 0.0


def _obscured(f: FrameObservation, c: DetectionConfig) -> tuple[bool | None, float]:
    if f.obscured:
        dark = 1.0 - f.brightness / max(1.0, c.dark_threshold)
        return True, max(0.5, min(1.0, 0.5 + dark))
    return False, 0.0


FRAME_RULES = (
    _Rule(
        "no_face",
        "No face was visible to the camera for at least {persistence:g} s.",
        lambda c: {
            "min_duration_s": c.persistence("no_face"),
            "face_score_threshold": c.face_score_threshold,
        },
        _no_face,
        FACE_MODEL_KEYS,
        ("faces",),
    ),
    _Rule(
        "multiple_faces",
        "More than one face was visible for at least {persistence:g} s.",
        lambda c: {
            "min_duration_s": c.persistence("multiple_faces"),
            "face_score_threshold": c.face_score_threshold,
        },
        _multiple_faces,
        FACE_MODEL_KEYS,
        ("faces",),
    ),
    _Rule(
        "multiple_persons",
        "More than one person (faces or bodies) was visible for at least {persistence:g} s.",
        lambda c: {
            "min_duration_s": c.persistence("multiple_persons"),
            "person_score_threshold": c.person_score_threshold,
            "face_score_threshold": c.face_score_threshold,
        },
        _multiple_persons,
        PERSON_MODEL_KEYS,
        ("faces", "persons"),
    ),
    _Rule(
        "looking_away",
        "The head was turned away from the screen (yaw beyond {yaw:g} degrees or pitch beyond "
        "{pitch:g} degrees) for at least {persistence:g} s.",
        lambda c: {
            "min_duration_s": c.persistence("looking_away"),
            "yaw_deg": c.yaw_threshold_deg,
            "pitch_deg": c.pitch_threshold_deg,
        },
        _looking_away,
        FACE_MODEL_KEYS,
        ("looking_away",),
    ),
    _Rule(
        "camera_obscured",
        "The picture was too dark or uniform to see anything (camera covered or lights off) for at "
        "least {persistence:g} s.",
        lambda c: {
            "min_duration_s": c.persistence("camera_obscured"),
            "brightness_below": c.dark_threshold,
            "contrast_below": c.flat_std_threshold,
        },
        _obscured,
        (),
        ("dark",),
    ),
)


def _percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    if not s:
        return -90.0
    k = min(len(s) - 1, max(0, round(q * (len(s) - 1))))
    return s[k]


def _speech_flags(observations: Observations, cfg: DetectionConfig) -> list[Flag]:
    blocks: list[AudioObservation] = observations.audio
    if not blocks:
        return []
    # The room's baseline: a low percentile of the block levels over the whole
    # (merged) recording, i.e. the background when nobody speaks.
    baseline = _percentile([b.rms_db for b in blocks], 0.1)
    need = baseline + cfg.speech_level_margin_db
    samples = [
        Sample(b.t, b.speech_frac >= cfg.speech_window_frac and b.rms_db >= need, b.speech_prob)
        for b in blocks
    ]
    step = blocks[0].duration
    persistence = cfg.persistence("speech")
    flags = []
    for ep in episodes(samples, step, cfg.gap_tolerance_s):
        if ep.duration + 1e-6 < persistence:
            continue
        conf = round(ep.coverage() * ep.strength(), 3)
        levels = [b.rms_db for b in blocks if ep.start <= b.t < ep.end]
        flags.append(
            Flag(
                "speech",
                round(ep.start, 3),
                round(ep.end, 3),
                conf,
                {
                    "rule": (
                        f"Speech was heard for at least {persistence:g} s, at least "
                        f"{cfg.speech_level_margin_db:g} dB above the room's background level."
                    ),
                    "threshold": {
                        "min_duration_s": persistence,
                        "speech_probability": cfg.speech_threshold,
                        "speech_window_fraction": cfg.speech_window_frac,
                        "level_above_baseline_db": cfg.speech_level_margin_db,
                    },
                    "observed_duration_s": round(ep.duration, 3),
                    "observed": {
                        "room_baseline_dbfs": round(baseline, 1),
                        "median_level_dbfs": round(_percentile(levels, 0.5), 1),
                        "coverage": round(ep.coverage(), 3),
                    },
                    "models": _models(observations, VAD_MODEL_KEYS),
                    "confidence": conf,
                    "evidence_timestamps": [],
                },
            )
        )
    return flags


def flags_from_observations(
    observations: Observations, config: DetectionConfig | None = None
) -> list[Flag]:
    """Every flag of (possibly merged) observations, sorted by start time.

    Pure function of its inputs: running it twice gives the same flags, so the
    aggregation task can be re-run (e.g. after a config change) without models.
    """
    cfg = config or DetectionConfig()
    frames = observations.frames
    step = 1.0 / observations.sample_fps
    flags: list[Flag] = []
    limit = observations.end_s if observations.end_s > observations.start_s else float("inf")
    for rule in FRAME_RULES:
        samples = []
        for f in frames:
            state, strength = rule.frame_state(f, cfg)
            samples.append(Sample(f.t, state, strength))
        persistence = cfg.persistence(rule.type)
        for ep in episodes(samples, step, cfg.gap_tolerance_s):
            if ep.duration + 1e-6 < persistence:
                continue
            conf = round(ep.coverage() * ep.strength(), 3)
            end = min(ep.end, limit)
            true_n = sum(1 for s in ep.samples if s.state)
            known_n = sum(1 for s in ep.samples if s.state is not None)
            flags.append(
                Flag(
                    rule.type,
                    round(ep.start, 3),
                    round(end, 3),
                    conf,
                    {
                        "rule": rule.text.format(
                            persistence=persistence,
                            yaw=cfg.yaw_threshold_deg,
                            pitch=cfg.pitch_threshold_deg,
                        ),
                        "threshold": rule.threshold(cfg),
                        "observed_duration_s": round(end - ep.start, 3),
                        "observed": {
                            "frames_matching": true_n,
                            "frames_checked": known_n,
                            "sample_fps": observations.sample_fps,
                        },
                        "models": _models(observations, rule.model_keys),
                        "confidence": conf,
                        "evidence_timestamps": _evidence(
                            observations, ep.start, ep.end, rule.evidence
                        ),
                    },
                )
            )
    flags.extend(_speech_flags(observations, cfg))
    return sorted(flags, key=lambda f: (f.start_s, f.type))
