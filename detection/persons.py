"""YOLOX-nano person detector (COCO class 0) with grid decode and letterbox."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .imageops import F32, U8, nms
from .onnx import OnnxModel

INPUT = 416
STRIDES = (8, 16, 32)


def _grids() -> tuple[F32, F32]:
    grids = []
    strides = []
    for s in STRIDES:
        n = INPUT // s
        gy, gx = np.mgrid[0:n, 0:n]
        grids.append(np.stack([gx.ravel(), gy.ravel()], axis=1))
        strides.append(np.full((n * n, 1), s))
    return (
        np.concatenate(grids).astype(np.float32),
        np.concatenate(strides).astype(np.float32),
    )


@dataclass(frozen=True)
class Person:
    """One person box in original image pixels."""

    x1: float
    y1: float
    x2: float
    y2: float
    score: float


class YoloxPersons(OnnxModel):
    """YOLOX-nano at 416x416; only the person class is decoded."""

    file_name = "yolox_nano.onnx"
    _GRID, _STRIDE = _grids()

    def detect(self, bgr: U8, *, score_threshold: float, nms_iou: float = 0.45) -> list[Person]:
        """Person boxes in ``bgr``, best first."""
        h0, w0 = bgr.shape[:2]
        r = min(INPUT / h0, INPUT / w0)
        nw, nh = round(w0 * r), round(h0 * r)
        padded = np.full((INPUT, INPUT, 3), 114, dtype=np.uint8)
        padded[:nh, :nw] = cv2.resize(bgr, (nw, nh), interpolation=cv2.INTER_LINEAR)
        blob = np.ascontiguousarray(padded.transpose(2, 0, 1)[None], dtype=np.float32)
        out = self.session.run(None, {"images": blob})[0][0]
        score = out[:, 4] * out[:, 5]
        sel = np.nonzero(score >= score_threshold)[0]
        if sel.size == 0:
            return []
        rows = out[sel]
        stride = self._STRIDE[sel]
        cxy = (rows[:, 0:2] + self._GRID[sel]) * stride
        wh = np.exp(rows[:, 2:4]) * stride
        boxes = (np.concatenate([cxy - wh / 2, cxy + wh / 2], axis=1) / r).astype(np.float32)
        scores = score[sel].astype(np.float32)
        keep = nms(boxes, scores, nms_iou)
        return [
            Person(
                max(0.0, float(boxes[i, 0])),
                max(0.0, float(boxes[i, 1])),
                min(float(w0), float(boxes[i, 2])),
                min(float(h0), float(boxes[i, 3])),
                float(scores[i]),
            )
            for i in keep
        ]
