"""YuNet face detector (own decode + NMS) and head pose from its 5 landmarks."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from .imageops import F32, U8, nms
from .onnx import OnnxModel

STRIDES = (8, 16, 32)


@dataclass(frozen=True)
class Face:
    """One detected face in original image pixels."""

    x1: float
    y1: float
    x2: float
    y2: float
    score: float
    landmarks: tuple[tuple[float, float], ...]
    """Right eye, left eye, nose tip, right and left mouth corner (subject's sides)."""

    @property
    def width(self) -> float:
        """Box width in pixels."""
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        """Box height in pixels."""
        return self.y2 - self.y1

    def scaled(self, k: float) -> Face:
        """The same face with coordinates multiplied by ``k``."""
        return Face(
            self.x1 * k,
            self.y1 * k,
            self.x2 * k,
            self.y2 * k,
            self.score,
            tuple((x * k, y * k) for x, y in self.landmarks),
        )

    def head_pose(self) -> tuple[float, float]:
        """(yaw, pitch) in degrees; see :func:`head_pose_from_landmarks`."""
        return head_pose_from_landmarks(self.landmarks)


# Frontal-face constants of the 5-point geometry, in units of half the
# inter-ocular distance: nose-tip depth, and nose/mouth drop below the eye line.
# NOSE_RATIO0 is (nose drop)/(mouth drop) of a face looking at the camera: the
# median over the 30 faces of the eval set's portraits (fr/ + astronaut) is 0.578,
# where this estimate then gives a median |yaw| of 9 degrees.
NOSE_DEPTH = 1.0
MOUTH_DROP = 2.1
NOSE_RATIO0 = 0.578


def head_pose_from_landmarks(lm: tuple[tuple[float, float], ...]) -> tuple[float, float]:
    """Approximate yaw (+ = subject turns to their left) and pitch (+ = looking down).

    An orthographic model: after removing roll, the nose tip's horizontal offset
    from the midline, relative to half the inter-ocular distance, is
    ``NOSE_DEPTH * tan(yaw)``; its vertical position between eye line and mouth
    gives pitch the same way. Good to about 10 degrees, enough for a sustained
    "looking away" rule with a 30-35 degree threshold.
    """
    (rex, rey), (lex, ley) = lm[0], lm[1]
    roll = math.atan2(ley - rey, lex - rex)
    c, s = math.cos(-roll), math.sin(-roll)
    # rotate every point about the right eye by -roll (plain floats: this runs per frame)
    p = [(c * (x - rex) - s * (y - rey), s * (x - rex) + c * (y - rey)) for x, y in lm]
    re, le, nose, rm, lmth = p
    half_eye = max(1e-6, (le[0] - re[0]) / 2.0)
    eye_mid = ((re[0] + le[0]) / 2.0, (re[1] + le[1]) / 2.0)
    mouth_mid = ((rm[0] + lmth[0]) / 2.0, (rm[1] + lmth[1]) / 2.0)
    mid_x = (eye_mid[0] + mouth_mid[0]) / 2.0
    yaw = math.degrees(math.atan((nose[0] - mid_x) / (NOSE_DEPTH * half_eye)))
    drop = mouth_mid[1] - eye_mid[1]
    if drop <= 1e-6:
        return yaw, 90.0
    q = (nose[1] - eye_mid[1]) / drop
    pitch = math.degrees(math.atan((q - NOSE_RATIO0) * MOUTH_DROP / NOSE_DEPTH))
    return yaw, pitch


class YuNet(OnnxModel):
    """YuNet with dynamic input, decoded in numpy (reproduces cv2.FaceDetectorYN)."""

    file_name = "yunet_s_dynamic.onnx"

    def __init__(self, model_dir: Path, file_name: str | None = None) -> None:
        super().__init__(model_dir, file_name)
        self._grid_cache: dict[tuple[int, int, int], F32] = {}
        self._names: list[str] | None = None

    def _grid(self, h: int, w: int, stride: int) -> F32:
        key = (h, w, stride)
        grid = self._grid_cache.get(key)
        if grid is None:
            gy, gx = np.mgrid[0 : h // stride, 0 : w // stride]
            grid = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
            self._grid_cache[key] = grid
        return grid

    def detect(
        self,
        bgr: U8,
        *,
        width: int,
        score_threshold: float,
        nms_iou: float = 0.3,
        upscale: bool = False,
    ) -> list[Face]:
        """Faces in ``bgr`` detected at an input ``width`` pixels wide (aspect kept).

        Smaller images are not enlarged unless ``upscale``. The input is padded
        to multiples of 32. Boxes come back in original pixels, best first.
        """
        return self.detect_batch(
            [bgr], width=width, score_threshold=score_threshold, nms_iou=nms_iou, upscale=upscale
        )[0]

    def detect_batch(
        self,
        images: Sequence[U8],
        *,
        width: int,
        score_threshold: float,
        nms_iou: float = 0.3,
        upscale: bool = False,
    ) -> list[list[Face]]:
        """:meth:`detect` on several images of the same shape in one model run
        (the rows of one batch; cheaper per image than one run each)."""
        if not images:
            return []
        h0, w0 = images[0].shape[:2]
        if any(im.shape != images[0].shape for im in images):
            raise ValueError("detect_batch needs images of one shape")
        scale = width / max(w0, h0 * 4 / 3)
        if scale > 1.0 and not upscale:
            scale = 1.0
        nw, nh = max(32, round(w0 * scale)), max(32, round(h0 * scale))
        pw, ph = -(-nw // 32) * 32, -(-nh // 32) * 32
        n = len(images)
        blob = np.zeros((n, 3, ph, pw), dtype=np.float32)
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        for b, bgr in enumerate(images):
            img = bgr if (nw, nh) == (w0, h0) else cv2.resize(bgr, (nw, nh), interpolation=interp)
            blob[b, :, :nh, :nw] = np.transpose(img, (2, 0, 1))
        sess = self.session
        if self._names is None:
            self._names = [o.name for o in sess.get_outputs()]
        by_name = dict(zip(self._names, sess.run(None, {"input": blob}), strict=True))
        rows: list[F32] = []  # per candidate: image index, x1 y1 x2 y2, score, 10 landmarks
        thr2 = score_threshold * score_threshold
        for s in STRIDES:
            # score = sqrt(cls * obj): compare the product with threshold^2 first,
            # and take square roots only of the few cells that pass.
            prod = np.clip(by_name[f"cls_{s}"][:, :, 0], 0, 1) * np.clip(
                by_name[f"obj_{s}"][:, :, 0], 0, 1
            )
            bi, ci = np.nonzero(prod >= thr2)
            if bi.size == 0:
                continue
            grid = self._grid(ph, pw, s)[ci]
            bb = by_name[f"bbox_{s}"][bi, ci]
            kp = by_name[f"kps_{s}"][bi, ci]
            cxy = (grid + bb[:, 0:2]) * s
            wh = np.exp(bb[:, 2:4]) * s
            kps = (kp.reshape(-1, 5, 2) + grid[:, None, :]) * s
            rows.append(
                np.concatenate(
                    [
                        bi[:, None].astype(np.float32),
                        (cxy - wh / 2) / scale,
                        (cxy + wh / 2) / scale,
                        np.sqrt(prod[bi, ci])[:, None],
                        kps.reshape(-1, 10) / scale,
                    ],
                    axis=1,
                ).astype(np.float32)
            )
        out: list[list[Face]] = [[] for _ in range(n)]
        if not rows:
            return out
        cand = np.concatenate(rows)
        for b in np.unique(cand[:, 0]).astype(int).tolist():
            mine = cand[cand[:, 0] == b]
            keep = nms(mine[:, 1:5], mine[:, 5], nms_iou)
            for r in mine[keep].tolist():
                lm = r[6:16]
                out[b].append(
                    Face(
                        max(0.0, r[1]),
                        max(0.0, r[2]),
                        min(float(w0), r[3]),
                        min(float(h0), r[4]),
                        r[5],
                        tuple((lm[2 * k], lm[2 * k + 1]) for k in range(5)),
                    )
                )
        return out


def filter_faces(
    faces: list[Face], image_shape: tuple[int, ...], min_px: float, min_frac: float
) -> list[Face]:
    """Drop faces too small to judge (also removes most false faces on pets/toys)."""
    short = min(image_shape[0], image_shape[1])
    limit = max(min_px, min_frac * short)
    return [f for f in faces if f.width >= limit]


def as_array(faces: list[Face]) -> npt.NDArray[np.float32]:
    """N x 4 boxes (x1 y1 x2 y2)."""
    return np.array([[f.x1, f.y1, f.x2, f.y2] for f in faces], dtype=np.float32).reshape(-1, 4)
