"""Plain, JSON-serialisable result types (no numpy, no heavy imports)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class FrameObservation:
    """What one sampled video frame showed. ``t`` is seconds from the attempt start."""

    t: float
    faces: int
    persons: int | None
    """max(person detections, faces); None when the person detector did not run."""
    face_boxes: list[list[float]]
    face_scores: list[float]
    person_scores: list[float]
    yaw: float | None
    """Head yaw of the largest face in degrees (+ = subject's left); None without a face."""
    pitch: float | None
    brightness: float
    contrast: float
    obscured: bool
    full_pass: bool


@dataclass(frozen=True)
class AudioObservation:
    """One audio block (about 0.5 s) of 16 kHz audio."""

    t: float
    duration: float
    speech_prob: float
    """Mean Silero VAD probability over the block's 32 ms windows."""
    speech_frac: float
    """Fraction of the block's windows above the speech threshold."""
    rms_db: float
    """Level in dBFS (floored at -90)."""


@dataclass
class Observations:
    """Per-frame and per-audio-block observations of one segment (or several merged).

    ``thumbnails`` (JPEG bytes keyed by timestamp) are kept out of
    :meth:`to_dict`; store them separately (encrypted, like the media) and keep
    ``thumbnail_times`` with the JSON.
    """

    start_s: float
    end_s: float
    sample_fps: float
    frames: list[FrameObservation]
    audio: list[AudioObservation]
    models: dict[str, str]
    thumbnail_times: list[float] = field(default_factory=list)
    thumbnail_reasons: dict[str, str] = field(default_factory=dict)
    """Timestamp (as ``f"{t:.3f}"``) -> why the frame was kept: 'faces', 'persons',
    'looking_away' or 'dark'."""
    video_frames_decoded: int = 0
    thumbnails: dict[float, bytes] = field(default_factory=dict, repr=False, compare=False)

    @property
    def duration_s(self) -> float:
        """Covered time span in seconds."""
        return max(0.0, self.end_s - self.start_s)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form, without the thumbnail bytes."""
        return {
            "start_s": self.start_s,
            "end_s": self.end_s,
            "sample_fps": self.sample_fps,
            "frames": [asdict(f) for f in self.frames],
            "audio": [asdict(a) for a in self.audio],
            "models": dict(self.models),
            "thumbnail_times": list(self.thumbnail_times),
            "thumbnail_reasons": dict(self.thumbnail_reasons),
            "video_frames_decoded": self.video_frames_decoded,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Observations:
        """Inverse of :meth:`to_dict` (thumbnails are empty)."""
        return cls(
            start_s=float(data["start_s"]),
            end_s=float(data["end_s"]),
            sample_fps=float(data["sample_fps"]),
            frames=[FrameObservation(**f) for f in data["frames"]],
            audio=[AudioObservation(**a) for a in data["audio"]],
            models=dict(data.get("models", {})),
            thumbnail_times=[float(t) for t in data.get("thumbnail_times", [])],
            thumbnail_reasons=dict(data.get("thumbnail_reasons", {})),
            video_frames_decoded=int(data.get("video_frames_decoded", 0)),
        )

    @classmethod
    def merge(cls, parts: list[Observations]) -> Observations:
        """Consecutive segments as one attempt, ordered by time.

        Rules run on the merged observations see one timeline, so a condition
        that spans a segment boundary becomes a single flag.
        """
        if not parts:
            raise ValueError("nothing to merge")
        parts = sorted(parts, key=lambda o: o.start_s)
        models: dict[str, str] = {}
        reasons: dict[str, str] = {}
        thumbs: dict[float, bytes] = {}
        for p in parts:
            models.update(p.models)
            reasons.update(p.thumbnail_reasons)
            thumbs.update(p.thumbnails)
        return cls(
            start_s=min(p.start_s for p in parts),
            end_s=max(p.end_s for p in parts),
            sample_fps=parts[0].sample_fps,
            frames=sorted((f for p in parts for f in p.frames), key=lambda f: f.t),
            audio=sorted((a for p in parts for a in p.audio), key=lambda a: a.t),
            models=models,
            thumbnail_times=sorted(t for p in parts for t in p.thumbnail_times),
            thumbnail_reasons=reasons,
            video_frames_decoded=sum(p.video_frames_decoded for p in parts),
            thumbnails=thumbs,
        )


@dataclass(frozen=True)
class Flag:
    """A time span that a reviewer should look at, with the reason in plain words."""

    type: str
    start_s: float
    end_s: float
    confidence: float
    explanation: dict[str, Any]

    @property
    def duration_s(self) -> float:
        """Length of the flagged span."""
        return self.end_s - self.start_s

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Flag:
        """Inverse of :meth:`to_dict`."""
        return cls(
            str(data["type"]),
            float(data["start_s"]),
            float(data["end_s"]),
            float(data["confidence"]),
            dict(data["explanation"]),
        )


@dataclass(frozen=True)
class Report:
    """Result of :func:`detection.analyze`."""

    duration_s: float
    frames_analysed: int
    flags: list[Flag]
    config: dict[str, Any]
    models: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "duration_s": round(self.duration_s, 3),
            "frames_analysed": self.frames_analysed,
            "flags": [f.to_dict() for f in self.flags],
            "config": self.config,
            "models": self.models,
        }


@dataclass(frozen=True)
class CameraCheck:
    """Outcome of the student's camera test.

    ``reason_code`` is one of "ok", "too_dark", "no_face", "multiple_faces",
    "move_closer", "not_an_image"; ``message`` is a friendly sentence for the student.
    """

    ok: bool
    reason_code: str
    message: str
    faces: int
    brightness: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return asdict(self)


@dataclass(frozen=True)
class PhotoIdCheck:
    """Outcome of the photo-ID check: at least one face visible on the ID."""

    ok: bool
    reason_code: str
    message: str
    faces: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return asdict(self)
