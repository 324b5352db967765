"""Per-frame analysis: the model set and the cheap-first face/person cascade."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from .config import DetectionConfig
from .faces import Face, YuNet, filter_faces
from .imageops import F32, U8, luma_stats
from .persons import Person, YoloxPersons
from .vad import SileroVad


class FrameSource(Protocol):
    """A video frame that converts to BGR at a requested width (see media.SampledFrame)."""

    width: int
    height: int

    def bgr(self, width: int | None = None) -> U8: ...


def default_model_dir() -> Path:
    """``<repo>/var/models``: where ``fetch-models`` installs by default."""
    return Path(__file__).resolve().parent.parent / "var" / "models"


class Models:
    """The model set of one worker process; each session loads on first use."""

    def __init__(
        self, model_dir: Path | None = None, *, face_model: str = "yunet_n_dynamic.onnx"
    ) -> None:
        self.model_dir = Path(model_dir) if model_dir is not None else default_model_dir()
        self.faces = YuNet(self.model_dir, face_model)
        self.persons = YoloxPersons(self.model_dir)
        self.vad = SileroVad(self.model_dir)

    def load_all(self) -> None:
        """Load every session now (worker start), so the first task is not slower."""
        self.faces.load()
        self.persons.load()
        self.vad.load()

    def versions(self) -> dict[str, str]:
        """Model file name -> pinned sha256 prefix, for flag explanations."""
        return {m.name: m.version for m in (self.faces, self.persons, self.vad)}


@functools.lru_cache(maxsize=4)
def get_models(model_dir: Path | None = None, face_model: str = "yunet_n_dynamic.onnx") -> Models:
    """A process-wide cached :class:`Models` (one per worker process)."""
    return Models(model_dir, face_model=face_model)


@dataclass
class FrameResult:
    """What one frame shows."""

    faces: list[Face]
    persons: list[Person] | None
    """None when the person detector did not run on this frame."""
    brightness: float
    contrast: float
    full_pass: bool = False
    dropped_faces: list[Face] = field(default_factory=list)

    @property
    def person_count(self) -> int | None:
        """max(person detections, faces), or None when YOLOX did not run."""
        if self.persons is None:
            return None
        return max(len(self.persons), len(self.faces))


def _support(face: Face, persons: list[Person]) -> float:
    best = 0.0
    area = max(1e-6, face.width * face.height)
    for p in persons:
        iw = min(face.x2, p.x2) - max(face.x1, p.x1)
        ih = min(face.y2, p.y2) - max(face.y1, p.y1)
        if iw > 0 and ih > 0:
            best = max(best, iw * ih / area)
    return best


def _people(models: Models, bgr: U8, cfg: DetectionConfig) -> list[Person]:
    persons = models.persons.detect(
        bgr, score_threshold=cfg.person_score_threshold, nms_iou=cfg.person_nms_iou
    )
    min_h = cfg.person_min_height_frac * bgr.shape[0]
    return [p for p in persons if p.y2 - p.y1 >= min_h]


def full_pass(
    models: Models, bgr: U8, cfg: DetectionConfig, *, need_persons: bool = True
) -> tuple[list[Face], list[Person] | None, list[Face]]:
    """Accurate pass: YuNet at ``full_face_width`` + YOLOX + face verification.

    YOLOX runs when ``need_persons`` or when a face scores below
    ``face_strong_score`` and must be confirmed by a person box. Returns
    (faces kept, persons or None when YOLOX did not run, faces dropped).
    """
    raw = models.faces.detect(
        bgr,
        width=cfg.full_face_width,
        score_threshold=cfg.face_score_threshold,
        nms_iou=cfg.nms_iou,
        upscale=True,
    )
    faces = filter_faces(raw, bgr.shape, cfg.min_face_px, cfg.min_face_frac)
    if not need_persons and all(f.score >= cfg.face_strong_score for f in faces):
        return faces, None, []
    persons = _people(models, bgr, cfg)
    kept, dropped = [], []
    for f in faces:
        if f.score >= cfg.face_strong_score or _support(f, persons) >= cfg.face_support_frac:
            kept.append(f)
        else:
            dropped.append(f)
    return kept, persons, dropped


def analyze_image(models: Models, bgr: U8, cfg: DetectionConfig) -> FrameResult:
    """A still image (camera check, photo ID, evaluation): always the accurate pass."""
    mean, std = luma_stats(bgr)
    faces, persons, dropped = full_pass(models, bgr, cfg)
    return FrameResult(faces, persons, mean, std, True, dropped)


@dataclass(frozen=True)
class CheapPass:
    """The cheap first pass over one video frame: its small copy, luma statistics and
    the YuNet faces found on it (in small-copy pixels)."""

    small: U8
    brightness: float
    contrast: float
    raw_faces: list[Face]


def cheap_passes(
    models: Models, frames: Sequence[FrameSource], cfg: DetectionConfig
) -> list[CheapPass]:
    """The cheap pass of several frames, with one YuNet run per run of frames of one
    size (a batch costs less per frame than one run each)."""
    smalls = [frame.bgr(cfg.fast_face_width) for frame in frames]
    out: list[CheapPass] = []
    i = 0
    while i < len(smalls):
        j = i + 1
        while j < len(smalls) and smalls[j].shape == smalls[i].shape:
            j += 1
        group = smalls[i:j]
        found = models.faces.detect_batch(
            group,
            width=group[0].shape[1],
            score_threshold=cfg.fast_face_threshold,
            nms_iou=cfg.nms_iou,
        )
        for small, raw in zip(group, found, strict=True):
            mean, std = luma_stats(small)
            out.append(CheapPass(small, mean, std, raw))
        i = j
    return out


SCENE_GRID = (16, 12)  # blocks across and down: 40x40 px each on a 640x480 frame


def scene_blocks(small: U8) -> F32:
    """Mean luma of each block of a coarse grid over a frame's small copy."""
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    return np.asarray(cv2.resize(gray, SCENE_GRID, interpolation=cv2.INTER_AREA), np.float32)


class StillScene:
    """The picture of the last frame the confirmation pass found nobody in.

    In an empty room the cheap pass finds nothing on every frame, and confirming that at
    ``confirm_face_width`` on each of them was the largest cost of an absence. A frame whose
    block means match the remembered picture (``still_scene_max_diff``, after removing the
    change common to all blocks) within ``still_scene_recheck_s`` of it would give the same
    answer, so it reuses it; a person coming into view changes the blocks they cover.
    """

    def __init__(self, cfg: DetectionConfig) -> None:
        self.recheck_s = cfg.still_scene_recheck_s
        self.max_diff = cfg.still_scene_max_diff
        self.t = -np.inf
        self.blocks: F32 | None = None

    def same(self, t: float, blocks: F32) -> bool:
        """Whether the frame at ``t`` shows the remembered empty picture."""
        if self.blocks is None or t - self.t > self.recheck_s or t < self.t:
            return False
        diff = blocks - self.blocks
        diff -= np.median(diff)
        return float(np.abs(diff).max()) <= self.max_diff

    def remember(self, t: float, blocks: F32) -> None:
        self.t, self.blocks = t, blocks


def analyze_video_frame(
    models: Models,
    frame: FrameSource,
    cfg: DetectionConfig,
    *,
    want_persons: bool,
    cheap: CheapPass | None = None,
    t: float = 0.0,
    scene: StillScene | None = None,
) -> FrameResult:
    """A video frame: the cheap pass first, the accurate pass only when needed.

    One confident face in a small copy of the frame (``fast_face_width`` wide)
    is the normal exam frame and costs one tiny YuNet run (plus YOLOX when
    ``want_persons``, so a second person without a visible face is still
    counted). Anything else (no face, several, low confidence, YOLOX seeing a
    second person) gets the accurate pass at full resolution with YOLOX.
    ``cheap`` is this frame's cheap pass when already run (see :func:`cheap_passes`);
    ``scene`` (with the frame's time ``t``) lets an unchanged empty picture skip the
    confirmation (see :class:`StillScene`).
    """
    if cheap is None:
        (cheap,) = cheap_passes(models, [frame], cfg)
    small, mean, std, raw = cheap.small, cheap.brightness, cheap.contrast, cheap.raw_faces
    k = frame.width / small.shape[1]
    full_shape = (frame.height, frame.width)
    fast = filter_faces([f.scaled(k) for f in raw], full_shape, cfg.min_face_px, cfg.min_face_frac)
    if len(fast) == 1 and fast[0].score >= cfg.fast_accept_score:
        persons = _people(models, frame.bgr(), cfg) if want_persons else None
        if persons is None or len(persons) <= 1:
            return FrameResult(fast, persons, mean, std, False)
    elif not raw and not want_persons and cfg.confirm_face_width:
        # Nothing at all in the small copy (the student left, or the camera
        # points away): confirm at a middle size before paying for the full pass.
        blocks = scene_blocks(small) if scene is not None and cfg.still_scene_recheck_s else None
        if blocks is not None and scene is not None and scene.same(t, blocks):
            return FrameResult([], None, mean, std, False)
        mid = frame.bgr(cfg.confirm_face_width)
        again = models.faces.detect(
            mid, width=mid.shape[1], score_threshold=cfg.fast_face_threshold, nms_iou=cfg.nms_iou
        )
        if not again:
            if blocks is not None and scene is not None:
                scene.remember(t, blocks)
            return FrameResult([], None, mean, std, True)
    faces, persons_full, dropped = full_pass(models, frame.bgr(), cfg, need_persons=want_persons)
    return FrameResult(faces, persons_full, mean, std, True, dropped)
