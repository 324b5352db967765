"""Test-clip maker: WebM (VP8 + Opus) recordings and Y4M fake-camera files.

Used by the detection tests, the benchmark and the browser tests. Clips are
built from real photos (e.g. ``../shared/data/eval/images``), with a slow pan
so the video encoder has real motion to code.

    from detection.synth import make_webm, write_y4m, side_by_side, load_image
    face = load_image("data/eval/images/fr/examples__obama-480p.jpg")
    make_webm("clip.webm", [(face, 10.0), (None, 6.0)],
              audio=[("speech.wav", 10.0), ("silence", 6.0)])
    write_y4m("camera.y4m", [face], seconds=4.0, fps=15)

Images are BGR ``uint8`` arrays or paths; ``None`` is an empty grey room.
Audio specs: ``"silence"``, ``"beep"`` (1 kHz for 0.1 s every second, like
Chromium's fake microphone), or a path to an audio file (looped as needed).
"""

from __future__ import annotations

import fractions
from collections.abc import Sequence
from pathlib import Path

import av
import cv2
import numpy as np

from .imageops import F32, U8

ImageLike = U8 | str | Path | None
AudioSpec = str | Path
WIDTH, HEIGHT = 640, 480
AUDIO_RATE = 48000


def load_image(path: str | Path) -> U8:
    """Read an image file as BGR uint8 (raises FileNotFoundError)."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(path)
    return np.asarray(img, dtype=np.uint8)


def fit(image: U8, size: tuple[int, int] = (WIDTH, HEIGHT)) -> U8:
    """Resize and centre-crop ``image`` to fill ``size`` (w, h)."""
    w, h = size
    ih, iw = image.shape[:2]
    scale = max(w / iw, h / ih)
    resized = cv2.resize(
        image, (max(w, round(iw * scale)), max(h, round(ih * scale))), interpolation=cv2.INTER_AREA
    )
    y0 = (resized.shape[0] - h) // 2
    x0 = (resized.shape[1] - w) // 2
    return np.ascontiguousarray(resized[y0 : y0 + h, x0 : x0 + w])


def side_by_side(left: U8, right: U8, size: tuple[int, int] = (WIDTH, HEIGHT)) -> U8:
    """Two photos side by side in one frame (two people on camera)."""
    w, h = size
    return np.ascontiguousarray(np.hstack([fit(left, (w // 2, h)), fit(right, (w - w // 2, h))]))


def empty_room(size: tuple[int, int] = (WIDTH, HEIGHT), seed: int = 0) -> U8:
    """A plain wall with a little texture: no face, normal brightness."""
    w, h = size
    rng = np.random.default_rng(seed)
    base = np.full((h, w, 3), (150, 160, 170), dtype=np.float32)
    base += cv2.GaussianBlur(rng.normal(0, 60, (h, w)).astype(np.float32), (0, 0), 3)[..., None]
    # A shelf and a door frame: real rooms have edges.
    cv2.rectangle(base, (w // 8, h // 6), (w // 3, h - 1), (90, 100, 110), 6)
    cv2.line(base, (w // 2, h // 2), (w - 1, h // 2), (60, 70, 80), 10)
    return np.clip(base, 0, 255).astype(np.uint8)


def darkened(image: U8, factor: float) -> U8:
    """``image`` with its brightness scaled by ``factor``."""
    return np.asarray(np.clip(image.astype(np.float32) * factor, 0, 255), dtype=np.uint8)


def _frame_source(image: ImageLike, size: tuple[int, int]) -> U8:
    if image is None:
        return empty_room(size)
    if isinstance(image, (str, Path)):
        image = load_image(image)
    # A 10 % margin lets the pan move without showing borders.
    w, h = size
    return fit(image, (round(w * 1.1), round(h * 1.1)))


def _panned(src: U8, i: int, fps: float, size: tuple[int, int]) -> U8:
    w, h = size
    mx, my = src.shape[1] - w, src.shape[0] - h
    phase = i / fps * 2 * np.pi / 8.0  # one slow sway every 8 s
    x = round(mx / 2 * (1 + np.sin(phase)))
    y = round(my / 2 * (1 + 0.5 * np.sin(phase * 0.7)))
    return np.ascontiguousarray(src[y : y + h, x : x + w])


def video_frames(
    segments: Sequence[tuple[ImageLike, float]], fps: float, size: tuple[int, int] = (WIDTH, HEIGHT)
) -> list[tuple[U8, int]]:
    """(source image, frame count) per segment."""
    return [(_frame_source(img, size), max(1, round(sec * fps))) for img, sec in segments]


def write_y4m(
    path: str | Path,
    images: Sequence[ImageLike],
    seconds: float,
    fps: int = 15,
    size: tuple[int, int] = (WIDTH, HEIGHT),
) -> Path:
    """Write a Y4M file for Chromium's ``--use-file-for-fake-video-capture``.

    ``images`` share ``seconds`` equally, each with a slow pan. The header is
    ``YUV4MPEG2 W640 H480 F15:1 Ip A1:1 C420jpeg``; each frame is ``FRAME\\n``
    followed by its I420 planes.
    """
    path = Path(path)
    w, h = size
    per = seconds / max(1, len(images))
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        i = 0
        for src, count in video_frames([(img, per) for img in images], fps, size):
            for _ in range(count):
                frame = _panned(src, i, fps, size)
                out.write(b"FRAME\n")
                out.write(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
                i += 1
    return path


def _read_audio(path: Path, rate: int = AUDIO_RATE) -> F32:
    with av.open(str(path)) as c:
        res = av.AudioResampler(format="flt", layout="mono", rate=rate)
        chunks: list[F32] = []
        for frame in c.decode(audio=0):
            chunks.extend(
                np.asarray(f.to_ndarray(), np.float32).ravel() for f in res.resample(frame)
            )
        chunks.extend(np.asarray(f.to_ndarray(), np.float32).ravel() for f in res.resample(None))
    return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)


def audio_track(spec: AudioSpec, seconds: float, rate: int = AUDIO_RATE) -> F32:
    """``seconds`` of mono float32 audio at ``rate`` for one audio spec."""
    n = round(seconds * rate)
    if spec == "silence":
        # Quiet room noise rather than digital zero (about -65 dBFS).
        return (np.random.default_rng(1).normal(0, 0.00056, n)).astype(np.float32)
    if spec == "beep":
        t = np.arange(n) / rate
        on = (t % 1.0) < 0.1
        return (0.3 * np.sin(2 * np.pi * 1000 * t) * on).astype(np.float32)
    clip = _read_audio(Path(spec), rate)
    if clip.size == 0:
        raise ValueError(f"{spec}: no audio")
    reps = -(-n // clip.size)
    return np.tile(clip, reps)[:n].astype(np.float32)


def split_plan(
    segments: Sequence[tuple[ImageLike, float]], seconds: float
) -> list[list[tuple[ImageLike, float]]]:
    """``segments`` (image, seconds) cut into consecutive pieces of ``seconds`` each."""
    if seconds <= 0:
        raise ValueError("segment length must be positive")
    pieces: list[list[tuple[ImageLike, float]]] = [[]]
    room = seconds
    for img, sec in segments:
        while sec > 1e-9:
            take = min(sec, room)
            pieces[-1].append((img, take))
            sec -= take
            room -= take
            if room <= 1e-9:
                pieces.append([])
                room = seconds
    return [p for p in pieces if p]


def make_webm(
    path: str | Path,
    segments: Sequence[tuple[ImageLike, float]],
    *,
    audio: AudioSpec | Sequence[tuple[AudioSpec, float]] | None = None,
    fps: int = 15,
    size: tuple[int, int] = (WIDTH, HEIGHT),
    bitrate: int = 500_000,
) -> Path:
    """Encode a WebM (VP8 video, Opus audio) like a browser's MediaRecorder output.

    ``segments`` is a list of ``(image_or_None, seconds)`` shown in order with a
    slow pan. ``audio`` is one spec for the whole clip or a list of ``(spec,
    seconds)``; None writes no audio track.
    """
    path = Path(path)
    total = sum(sec for _, sec in segments)
    with av.open(str(path), mode="w", format="webm") as out:
        vs = out.add_stream("libvpx", rate=fps)
        vs.width, vs.height = size
        vs.pix_fmt = "yuv420p"
        vs.bit_rate = bitrate
        vs.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
        astream = None
        if audio is not None:
            astream = out.add_stream("libopus", rate=AUDIO_RATE)
            astream.layout = "mono"
            parts = [(audio, total)] if isinstance(audio, (str, Path)) else list(audio)
            samples = (
                np.concatenate([audio_track(spec, sec) for spec, sec in parts])
                if parts
                else np.zeros(0, np.float32)
            )
        i = 0
        a_pos = 0
        chunk = 960
        for src, count in video_frames(segments, fps, size):
            for _ in range(count):
                frame = av.VideoFrame.from_ndarray(_panned(src, i, fps, size), format="bgr24")
                frame.pts = i
                frame.time_base = fractions.Fraction(1, fps)
                for packet in vs.encode(frame):
                    out.mux(packet)
                i += 1
                # Interleave audio up to the current video time.
                if astream is not None:
                    upto = min(samples.size, round(i / fps * AUDIO_RATE))
                    while a_pos + chunk <= upto:
                        af = av.AudioFrame.from_ndarray(
                            samples[None, a_pos : a_pos + chunk], format="flt", layout="mono"
                        )
                        af.sample_rate = AUDIO_RATE
                        af.pts = a_pos
                        af.time_base = fractions.Fraction(1, AUDIO_RATE)
                        for packet in astream.encode(af):
                            out.mux(packet)
                        a_pos += chunk
        for packet in vs.encode(None):
            out.mux(packet)
        if astream is not None:
            for packet in astream.encode(None):
                out.mux(packet)
    return path
