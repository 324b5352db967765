"""Small image helpers: non-maximum suppression, brightness, degradations, JPEG."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]


def nms(boxes: F32, scores: F32, iou: float) -> list[int]:
    """Greedy NMS over ``boxes`` (N x 4, x1 y1 x2 y2); returns kept indices, best first."""
    order = np.argsort(-scores)
    keep: list[int] = []
    areas = np.maximum(0.0, boxes[:, 2] - boxes[:, 0]) * np.maximum(0.0, boxes[:, 3] - boxes[:, 1])
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        xx1 = np.maximum(boxes[i, 0], boxes[rest, 0])
        yy1 = np.maximum(boxes[i, 1], boxes[rest, 1])
        xx2 = np.minimum(boxes[i, 2], boxes[rest, 2])
        yy2 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.maximum(0.0, xx2 - xx1) * np.maximum(0.0, yy2 - yy1)
        union = areas[i] + areas[rest] - inter
        ratio = np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)
        order = rest[ratio <= iou]
    return keep


def luma_stats(bgr: U8) -> tuple[float, float]:
    """Mean and standard deviation of luma on a coarse grid (cheap)."""
    small = bgr[::8, ::8]
    gray = cv2.cvtColor(np.ascontiguousarray(small), cv2.COLOR_BGR2GRAY)
    return float(gray.mean()), float(gray.std())


def decode_image(data: bytes) -> U8 | None:
    """Decode JPEG/PNG/... bytes to BGR, or None when they are not an image."""
    arr = np.frombuffer(data, dtype=np.uint8)
    if arr.size == 0:
        return None
    img = cv2.imdecode(arr, cv2.IMREAD_COLOR)
    if img is None:
        return None
    return np.asarray(img, dtype=np.uint8)


def encode_jpeg(bgr: U8, width: int, quality: int) -> bytes:
    """A small JPEG thumbnail ``width`` pixels wide."""
    h, w = bgr.shape[:2]
    if w > width:
        size = (width, max(1, round(h * width / w)))
        bgr = np.asarray(cv2.resize(bgr, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    ok, buf = cv2.imencode(".jpg", bgr, [int(cv2.IMWRITE_JPEG_QUALITY), quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return bytes(buf.tobytes())


# --- degraded conditions used by `evaluate` -------------------------------


def darken(bgr: U8, factor: float = 0.35) -> U8:
    """Scale brightness to ``factor`` (35 %: a dim room)."""
    return np.asarray(np.clip(bgr.astype(np.float32) * factor, 0, 255), dtype=np.uint8)


def backlight(bgr: U8) -> U8:
    """A bright window behind the subject: the subject darkened to 45 %, a bright
    radial glow from the top added, clipped to white."""
    h, w = bgr.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dist = np.sqrt(((xx - w / 2) / w) ** 2 + (yy / h) ** 2)
    glow = np.clip(1.0 - dist, 0.0, 1.0) ** 2 * 200.0
    out = bgr.astype(np.float32) * 0.45 + glow[..., None]
    return np.asarray(np.clip(out, 0, 255), dtype=np.uint8)


def blur(bgr: U8, frac: float = 0.012) -> U8:
    """Gaussian blur with sigma proportional to image size (out of focus webcam)."""
    sigma = max(1.0, frac * max(bgr.shape[:2]))
    return np.asarray(cv2.GaussianBlur(bgr, (0, 0), sigma), dtype=np.uint8)


def jpeg(bgr: U8, quality: int = 30) -> U8:
    """Round trip through JPEG at ``quality``."""
    ok, buf = cv2.imencode(".jpg", bgr, [int(cv2.IMWRITE_JPEG_QUALITY), quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return np.asarray(out, dtype=np.uint8)


DEGRADATIONS: dict[str, Callable[[U8], U8]] = {
    "dark35": darken,
    "backlit": backlight,
    "blur": blur,
    "jpeg30": jpeg,
}
