"""Every threshold of the detection pipeline, in one frozen dataclass.

The Django side stores ``DetectionConfig.to_dict()`` with each report so that a
flag can always be traced to the thresholds that produced it. Nothing here reads
the environment: callers pass a config in.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


def _default_persistence() -> dict[str, float]:
    # Seconds a condition must hold before it becomes a flag. Never one frame:
    # a student who glances down or sneezes must not be flagged.
    return {
        "no_face": 5.0,
        "multiple_faces": 1.5,
        "multiple_persons": 1.5,
        "looking_away": 5.0,
        "camera_obscured": 3.0,
        "speech": 3.0,
    }


@dataclass(frozen=True)
class DetectionConfig:
    """Thresholds and knobs of :func:`detection.observe` and the flag rules."""

    # --- sampling -------------------------------------------------------
    sample_fps: float = 2.0
    """Video frames analysed per second of recording."""

    # --- faces (YuNet) --------------------------------------------------
    face_model: str = "yunet_n_dynamic.onnx"
    face_score_threshold: float = 0.7
    """YuNet score (sqrt(cls*obj)) above which a detection is a face."""
    face_strong_score: float = 0.85
    """Faces scoring below this are kept only when they lie inside a detected person
    (YOLOX): this removes false faces on pets, toys and prints (scores 0.80-0.82 on
    the eval set) while true faces score 0.86-0.96 or sit on a person."""
    face_support_frac: float = 0.5
    """Fraction of a face box that must lie inside a person box to count as supported."""
    fast_face_width: int = 128
    """Input width of the cheap first pass on video frames (height keeps aspect)."""
    full_face_width: int = 640
    """Input width of the accurate pass (images; video frames the cheap pass finds ambiguous)."""
    confirm_face_width: int = 320
    """When the cheap pass sees no face at all, a pass at this width (0: skip) confirms
    it before the full pass; a face it would miss is under ~20 px on a 640 px frame."""
    still_scene_recheck_s: float = 4.0
    """After the confirmation pass found nobody, later frames that still show the same picture
    (see ``still_scene_max_diff``) reuse that answer for up to this many seconds (0: confirm
    every frame). An empty room then costs one confirmation every few seconds, not two a
    second; anyone coming into view changes the picture and is looked at at once."""
    still_scene_max_diff: float = 6.0
    """Largest change of mean luma (0-255) in any block of a 16x12 grid over the frame, after
    removing the change common to all blocks (exposure, lights), for the picture to count as
    the same. Camera noise moves block means by about 1; a face 20 px wide on a 640 px frame
    moves its block by 10 or more."""
    fast_face_threshold: float = 0.6
    fast_accept_score: float = 0.8
    """A cheap-pass face this confident, alone in the frame, skips the accurate pass."""
    min_face_px: float = 14.0
    """Faces narrower than this (in original pixels) are ignored: too small to judge."""
    min_face_frac: float = 0.02
    """... or narrower than this fraction of the image's shorter side (pets, toys, prints)."""
    nms_iou: float = 0.3

    # --- persons (YOLOX-nano, COCO class 0) -----------------------------
    person_score_threshold: float = 0.5
    person_nms_iou: float = 0.45
    person_min_height_frac: float = 0.15
    """Person boxes shorter than this fraction of the image height are ignored (posters,
    far background)."""
    person_every_s: float = 10.0
    """On video, YOLOX also runs at least this often when the cheap pass sees exactly one
    confident face (it always runs when the face count is anything else, and on every
    frame after it has seen two or more persons). A second person whose face is never
    visible is therefore found within this many seconds. The slots are counted in the
    attempt's time (``time_offset_s`` + frame time), so 6 s segments observed one by one
    check as often as the whole recording would."""

    # --- head pose ------------------------------------------------------
    yaw_threshold_deg: float = 35.0
    pitch_threshold_deg: float = 30.0

    # --- light / camera -------------------------------------------------
    dark_threshold: float = 15.0
    """Mean luma (0-255) below which a video frame counts as dark / obscured. Low on
    purpose: a dim room (35 % brightness, mean luma 20-40) still shows the face and
    must not be flagged; a covered lens or lights off gives 0-10."""
    camera_min_brightness: float = 40.0
    """The camera test asks the student for more light below this mean luma."""
    flat_std_threshold: float = 3.0
    """Luma standard deviation below which the frame is uniform (lens covered)."""

    # --- audio ----------------------------------------------------------
    speech_threshold: float = 0.5
    """Silero VAD probability above which a 32 ms window is speech."""
    speech_window_frac: float = 0.3
    """Fraction of speech windows needed for a 0.5 s audio block to count as speech."""
    speech_level_margin_db: float = 6.0
    """Speech must also be this much louder than the room's baseline level."""
    audio_block_s: float = 0.5
    vad_gate_dbfs: float = -55.0
    """Audio blocks quieter than this are not given to the VAD (speech probability 0):
    they cannot be speech worth flagging, and skipping them keeps silence cheap."""
    vad_sample_rate: int = 8000
    """Rate Silero VAD runs at: 8000 (the 16 kHz audio low-passed and decimated; about a
    third cheaper, speech fractions within 0.05 of 16000 on the real speech clips) or
    16000. Audio levels are always measured on the 16 kHz audio."""

    # --- rules ----------------------------------------------------------
    persistence_s: dict[str, float] = field(default_factory=_default_persistence)
    gap_tolerance_s: float = 1.0
    """Gaps up to this long inside an episode do not split it (one missed frame)."""

    # --- evidence -------------------------------------------------------
    max_thumbnails: int = 60
    thumbnail_interval_s: float = 5.0
    thumbnail_width: int = 160
    thumbnail_quality: int = 70

    def persistence(self, rule: str) -> float:
        """Seconds the condition of ``rule`` must hold before it is flagged."""
        return self.persistence_s.get(rule, 3.0)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy of every field."""
        out = dataclasses.asdict(self)
        out["persistence_s"] = dict(self.persistence_s)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DetectionConfig:
        """Inverse of :meth:`to_dict`; unknown keys are rejected, missing ones take defaults."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown DetectionConfig fields: {sorted(unknown)}")
        kwargs = dict(data)
        if "persistence_s" in kwargs:
            merged = _default_persistence()
            merged.update({str(k): float(v) for k, v in kwargs["persistence_s"].items()})
            kwargs["persistence_s"] = merged
        return cls(**kwargs)
