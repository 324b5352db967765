"""Proctoring detection: pure Python, never imports Django.

Public API (what the Celery tasks call)::

    from detection import (DetectionConfig, observe, flags_from_observations, Observations,
                           analyze, check_camera_frame, check_photo_id, get_models, MediaError)

    models = get_models(Path(settings.PROCTOR_MODEL_DIR))      # once per worker process
    obs = observe(segment_path, config, time_offset_s=start, models=models)
    json_blob, thumbs = obs.to_dict(), obs.thumbnails          # thumbs: {t: jpeg bytes}
    flags = flags_from_observations(Observations.merge([...]), config)

The config, result types and the flag rules are light (no numpy); onnxruntime,
OpenCV and PyAV load only when a function that needs them is called, so the web
process can import this package, store configs and recompute flags from stored
observations without loading them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .config import DetectionConfig
from .results import (
    AudioObservation,
    CameraCheck,
    Flag,
    FrameObservation,
    Observations,
    PhotoIdCheck,
    Report,
)
from .rules import flags_from_observations

if TYPE_CHECKING:
    from .analyzer import Models

__all__ = [
    "AudioObservation",
    "CameraCheck",
    "DetectionConfig",
    "Flag",
    "FrameObservation",
    "MediaError",
    "Observations",
    "PhotoIdCheck",
    "Report",
    "analyze",
    "check_camera_frame",
    "check_photo_id",
    "flags_from_observations",
    "get_models",
    "observe",
    "report_from_observations",
]


def __getattr__(name: str) -> object:
    # MediaError lives with the PyAV code; import it only when asked for.
    if name == "MediaError":
        from .media import MediaError

        return MediaError
    raise AttributeError(f"module 'detection' has no attribute {name!r}")


def get_models(model_dir: Path | None = None, face_model: str | None = None) -> Models:
    """The process-wide model set (sessions load lazily, each hash-checked on load)."""
    from .analyzer import get_models as _get

    return _get(model_dir, face_model or DetectionConfig().face_model)


def observe(
    path: str | Path,
    config: DetectionConfig | None = None,
    *,
    time_offset_s: float = 0.0,
    models: Models | None = None,
    progress: Callable[[float], None] | None = None,
    strict: bool = True,
) -> Observations:
    """Per-frame and per-audio-block observations of one recording or segment.

    See :func:`detection.pipeline.observe`. Raises ``MediaError`` for
    undecodable input.
    """
    from .pipeline import observe as _observe

    return _observe(
        path, config, time_offset_s=time_offset_s, models=models, progress=progress, strict=strict
    )


def analyze(
    path: str | Path,
    config: DetectionConfig | None = None,
    *,
    models: Models | None = None,
    progress: Callable[[float], None] | None = None,
) -> Report:
    """``observe`` + ``flags_from_observations`` for one whole recording."""
    from .pipeline import analyze as _analyze

    return _analyze(path, config, models=models, progress=progress)


def report_from_observations(
    observations: Observations, config: DetectionConfig | None = None
) -> Report:
    """A :class:`Report` from stored (possibly merged) observations; runs no model."""
    cfg = config or DetectionConfig()
    return Report(
        duration_s=observations.duration_s,
        frames_analysed=len(observations.frames),
        flags=flags_from_observations(observations, cfg),
        config=cfg.to_dict(),
        models=dict(observations.models),
    )


def check_camera_frame(
    image_bytes: bytes, config: DetectionConfig | None = None, *, models: Models | None = None
) -> CameraCheck:
    """Camera test: exactly one face, bright enough, close enough (reason codes in CameraCheck)."""
    from .pipeline import check_camera_frame as _check

    return _check(image_bytes, config, models=models)


def check_photo_id(
    image_bytes: bytes, config: DetectionConfig | None = None, *, models: Models | None = None
) -> PhotoIdCheck:
    """Photo-ID check: at least one face visible."""
    from .pipeline import check_photo_id as _check

    return _check(image_bytes, config, models=models)
