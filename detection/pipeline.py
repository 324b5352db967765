"""observe -> flags: the segment pipeline the Celery workers run."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .analyzer import (
    CheapPass,
    Models,
    StillScene,
    analyze_image,
    analyze_video_frame,
    cheap_passes,
    get_models,
)
from .config import DetectionConfig
from .imageops import F32, U8, decode_image, encode_jpeg
from .media import SampledFrame, decode
from .results import (
    AudioObservation,
    CameraCheck,
    FrameObservation,
    Observations,
    PhotoIdCheck,
    Report,
)
from .vad import WINDOW

AUDIO_CHUNK_WINDOWS = 3744  # ~120 s of 16 kHz audio per VAD batch (a multiple of 16 windows)
WARMUP_WINDOWS = 16
FRAME_BATCH = 16  # sampled frames whose cheap face pass runs as one YuNet batch (8 s at 2/s)


def _models_for(config: DetectionConfig, models: Models | None) -> Models:
    return models if models is not None else get_models(None, config.face_model)


class _AudioAnalyser:
    """Buffers 16 kHz audio and turns it into per-block VAD + level observations."""

    def __init__(self, models: Models, config: DetectionConfig, offset: float) -> None:
        self.models = models
        self.config = config
        self.offset = offset
        self.block_windows = max(1, round(config.audio_block_s * 16000 / WINDOW))
        self.buffer: list[F32] = []
        self.buffered = 0
        self.start: float | None = None
        self.consumed = 0  # samples already turned into blocks
        self.history = np.zeros(0, dtype=np.float32)
        self.out: list[AudioObservation] = []

    def feed(self, t: float, samples: F32) -> None:
        if self.start is None:
            self.start = t
        self.buffer.append(samples)
        self.buffered += samples.size
        if self.buffered >= AUDIO_CHUNK_WINDOWS * WINDOW:
            self._process(final=False)

    def _process(self, final: bool) -> None:
        if not self.buffer:
            return
        audio = np.concatenate(self.buffer)
        per_block = self.block_windows * WINDOW
        n_blocks = audio.size // per_block
        if final and audio.size - n_blocks * per_block >= per_block // 2:
            n_blocks += 1
            audio = np.concatenate([audio, np.zeros(n_blocks * per_block - audio.size, np.float32)])
        if n_blocks == 0:
            return
        use = audio[: n_blocks * per_block]
        rest = audio[n_blocks * per_block :]
        self.buffer = [rest] if rest.size else []
        self.buffered = rest.size
        cfg = self.config
        blocks = use.reshape(n_blocks, per_block)
        rms = np.sqrt(np.mean(blocks.astype(np.float64) ** 2, axis=1))
        db = np.maximum(-90.0, 20 * np.log10(np.maximum(rms, 1e-12)))
        active = np.concatenate(
            [
                np.zeros(self.history.size // WINDOW, dtype=bool),
                np.repeat(db >= cfg.vad_gate_dbfs, self.block_windows),
            ]
        )
        probs = self.models.vad.probabilities(
            np.concatenate([self.history, use]), active, model_rate=cfg.vad_sample_rate
        )
        probs = probs[self.history.size // WINDOW :]
        self.history = use[-WARMUP_WINDOWS * WINDOW :]
        base = (self.start or 0.0) + self.offset + self.consumed / 16000
        p = probs[: n_blocks * self.block_windows].reshape(n_blocks, self.block_windows)
        dur = per_block / 16000
        for i in range(n_blocks):
            self.out.append(
                AudioObservation(
                    t=round(base + i * dur, 3),
                    duration=round(dur, 3),
                    speech_prob=round(float(p[i].mean()), 4),
                    speech_frac=round(float((p[i] >= cfg.speech_threshold).mean()), 4),
                    rms_db=round(float(db[i]), 2),
                )
            )
        self.consumed += n_blocks * per_block

    def finish(self) -> list[AudioObservation]:
        self._process(final=True)
        return self.out


def observe(
    path: str | Path,
    config: DetectionConfig | None = None,
    *,
    time_offset_s: float = 0.0,
    models: Models | None = None,
    progress: Callable[[float], None] | None = None,
    strict: bool = True,
) -> Observations:
    """Decode one recording (or segment) and describe each sampled frame and audio block.

    ``time_offset_s`` is added to every timestamp (the segment's start within the
    attempt) so segments can be merged with :meth:`Observations.merge`. The
    cheap face pass runs on every sampled frame; the accurate pass and YOLOX
    only when the frame is ambiguous or every ``person_every_s`` seconds.
    Raises :class:`detection.media.MediaError` for undecodable input.
    """
    cfg = config or DetectionConfig()
    m = _models_for(cfg, models)
    frames: list[FrameObservation] = []
    thumbs: dict[float, bytes] = {}
    reasons: dict[str, str] = {}
    last_thumb: dict[str, float] = {}
    audio = _AudioAnalyser(m, cfg, time_offset_s)
    # The periodic person check runs on the first frame of each person_every_s slot of the
    # attempt's time, not of the segment's: production segments are 6 s long, and a check at
    # the start of every one of them cost YOLOX every 6 s instead of every 10.
    every = cfg.person_every_s

    def person_slot(at: float) -> int:
        return math.floor(at / every) if every > 0 else 0  # 0: every frame (see `want`)

    state = {"person_slot": person_slot(time_offset_s - 1e-6), "last_persons": 0}
    scene = StillScene(cfg)

    pending: list[tuple[float, SampledFrame]] = []

    def on_frame(t: float, frame: SampledFrame) -> None:
        # Frames wait in small batches so that their cheap face pass is one YuNet run;
        # everything after it (escalation, YOLOX, thumbnails) still runs frame by frame.
        pending.append((t, frame))
        if len(pending) >= FRAME_BATCH:
            flush()

    def flush() -> None:
        cheap = cheap_passes(m, [f for _, f in pending], cfg)
        for (t, frame), c in zip(pending, cheap, strict=True):
            analyse(t, frame, c)
        pending.clear()

    def analyse(t: float, frame: SampledFrame, cheap: CheapPass) -> None:
        slot = person_slot(t + time_offset_s)
        want = every <= 0 or slot != state["person_slot"] or state["last_persons"] >= 2
        res = analyze_video_frame(m, frame, cfg, want_persons=want, cheap=cheap, t=t, scene=scene)
        pc = res.person_count
        if res.persons is not None:
            state["person_slot"] = slot
            state["last_persons"] = pc or 0
        yaw = pitch = None
        if res.faces:
            main = max(res.faces, key=lambda f: f.width * f.height)
            yaw, pitch = (round(v, 1) for v in main.head_pose())
        obscured = res.brightness < cfg.dark_threshold or res.contrast < cfg.flat_std_threshold
        at = round(t + time_offset_s, 3)
        frames.append(
            FrameObservation(
                t=at,
                faces=len(res.faces),
                persons=pc,
                face_boxes=[[round(v, 1) for v in (f.x1, f.y1, f.x2, f.y2)] for f in res.faces],
                face_scores=[round(f.score, 3) for f in res.faces],
                person_scores=[round(p.score, 3) for p in res.persons]
                if res.persons is not None
                else [],
                yaw=yaw,
                pitch=pitch,
                brightness=round(res.brightness, 1),
                contrast=round(res.contrast, 1),
                obscured=obscured,
                full_pass=res.full_pass,
            )
        )
        reason = None
        if obscured:
            reason = "dark"
        elif len(res.faces) != 1:
            reason = "faces"
        elif pc is not None and pc >= 2:
            reason = "persons"
        elif (
            yaw is not None
            and pitch is not None
            and (abs(yaw) > cfg.yaw_threshold_deg or abs(pitch) > cfg.pitch_threshold_deg)
        ):
            reason = "looking_away"
        if (
            reason
            and len(thumbs) < cfg.max_thumbnails
            and at - last_thumb.get(reason, -1e9) >= cfg.thumbnail_interval_s
        ):
            thumbs[at] = encode_jpeg(frame.bgr(), cfg.thumbnail_width, cfg.thumbnail_quality)
            reasons[f"{at:.3f}"] = reason
            last_thumb[reason] = at

    stats = decode(
        Path(path),
        sample_fps=cfg.sample_fps,
        on_frame=on_frame,
        on_audio=audio.feed,
        progress=(lambda t: progress(t + time_offset_s)) if progress else None,
        strict=strict,
    )
    flush()
    return Observations(
        start_s=time_offset_s,
        end_s=round(time_offset_s + stats.duration_s, 3),
        sample_fps=cfg.sample_fps,
        frames=frames,
        audio=audio.finish(),
        models=m.versions(),
        thumbnail_times=sorted(thumbs),
        thumbnail_reasons=reasons,
        video_frames_decoded=stats.video_frames,
        thumbnails=thumbs,
    )


def report_from_observations(
    observations: Observations, config: DetectionConfig | None = None
) -> Report:
    """Flags and summary of (possibly merged) observations; no model runs."""
    from . import report_from_observations as _report

    return _report(observations, config)


def analyze(
    path: str | Path,
    config: DetectionConfig | None = None,
    *,
    models: Models | None = None,
    progress: Callable[[float], None] | None = None,
) -> Report:
    """``observe`` + ``flags_from_observations`` for one whole recording."""
    cfg = config or DetectionConfig()
    return report_from_observations(observe(path, cfg, models=models, progress=progress), cfg)


def count_image(
    bgr: U8, config: DetectionConfig | None = None, *, models: Models | None = None
) -> tuple[int, int]:
    """(faces, persons) in a still image, persons = max(person detections, faces)."""
    cfg = config or DetectionConfig()
    res = analyze_image(_models_for(cfg, models), bgr, cfg)
    return len(res.faces), res.person_count or 0


CAMERA_MESSAGES = {
    "ok": "Your camera is ready.",
    "too_dark": "It is too dark to see you. Turn on a light or face a window, then try again.",
    "no_face": "We cannot see your face. Sit in front of the camera, facing it, then try again.",
    "multiple_faces": "We can see more than one person. Make sure you are alone, then try again.",
    "move_closer": (
        "You are too far from the camera. Move closer so your face fills more of the picture."
    ),
    "not_an_image": (
        "We could not read the camera picture. Check that your camera works, then try again."
    ),
}


def check_camera_frame(
    image_bytes: bytes,
    config: DetectionConfig | None = None,
    *,
    models: Models | None = None,
    min_face_width_frac: float = 0.12,
) -> CameraCheck:
    """The student's camera test: exactly one face, bright enough, close enough.

    ``image_bytes`` is a JPEG/PNG snapshot. Checks in order: readable, bright
    enough (``config.camera_min_brightness``), at least one face, exactly one face, and
    the face at least ``min_face_width_frac`` of the frame width.
    """
    cfg = config or DetectionConfig()
    bgr = decode_image(image_bytes)
    if bgr is None:
        return CameraCheck(False, "not_an_image", CAMERA_MESSAGES["not_an_image"], 0, 0.0)
    res = analyze_image(_models_for(cfg, models), bgr, cfg)
    n = len(res.faces)
    bright = round(res.brightness, 1)
    if res.brightness < cfg.camera_min_brightness:
        code = "too_dark"
    elif n == 0:
        code = "no_face"
    elif n > 1:
        code = "multiple_faces"
    elif res.faces[0].width < min_face_width_frac * bgr.shape[1]:
        code = "move_closer"
    else:
        code = "ok"
    return CameraCheck(code == "ok", code, CAMERA_MESSAGES[code], n, bright)


def check_photo_id(
    image_bytes: bytes, config: DetectionConfig | None = None, *, models: Models | None = None
) -> PhotoIdCheck:
    """The photo-ID check: at least one face visible on the ID held to the camera."""
    cfg = config or DetectionConfig()
    bgr = decode_image(image_bytes)
    if bgr is None:
        return PhotoIdCheck(False, "not_an_image", CAMERA_MESSAGES["not_an_image"], 0)
    res = analyze_image(_models_for(cfg, models), bgr, cfg)
    if res.faces:
        return PhotoIdCheck(True, "ok", "The photo on your ID is visible.", len(res.faces))
    return PhotoIdCheck(
        False,
        "no_face",
        "We cannot see the photo on your ID. Hold it closer to the camera, photo side facing "
        "it, without glare.",
        0,
    )
