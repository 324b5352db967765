"""Shared fixtures: real models, real data from ../shared/data, encoded test clips.

Data and models live outside the repository. Without them the tests skip with
the reason, except under CI=true, where their absence is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from detection.analyzer import Models
from detection.config import DetectionConfig
from detection.registry import MODELS, REQUIRED, fetch_models, sha256_of

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
DATA = SHARED / "data"
EVAL = DATA / "eval"
SHARED_MODELS = SHARED / "models"
IMAGES = EVAL / "images"
SPEECH = EVAL / "audio" / "english.wav"


def _missing(what: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} is required when CI=true")
    pytest.skip(f"{what} not available")


def _installed(folder: Path) -> bool:
    return all(
        (folder / n).is_file() and sha256_of(folder / n) == MODELS[n].sha256
        for n in REQUIRED + ("yunet_n_dynamic.onnx",)
    )


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """PROCTOR_MODEL_DIR or <repo>/var/models; else fetch-models from ../shared/models to tmp."""
    for candidate in (os.environ.get("PROCTOR_MODEL_DIR"), str(REPO / "var" / "models")):
        if candidate and _installed(Path(candidate)):
            return Path(candidate)
    if not SHARED_MODELS.is_dir():
        _missing(f"model files ({SHARED_MODELS})")
    dest = tmp_path_factory.mktemp("models")
    fetch_models(dest, source_dir=SHARED_MODELS, names=[*REQUIRED, "yunet_n_dynamic.onnx"])
    return dest


@pytest.fixture(scope="session")
def models(model_dir: Path) -> Models:
    return Models(model_dir, face_model=DetectionConfig().face_model)


@pytest.fixture(scope="session")
def eval_dir() -> Path:
    if not (EVAL / "manifest.csv").is_file():
        _missing(f"evaluation data ({EVAL})")
    return EVAL


@pytest.fixture(scope="session")
def image(eval_dir: Path) -> Callable[[str], Path]:
    def get(rel: str) -> Path:
        path = eval_dir / "images" / rel
        if not path.is_file():
            _missing(str(path))
        return path

    return get


PORTRAIT = "fr/examples__obama-480p.jpg"
PORTRAIT2 = "fr/examples__knn_examples__train__biden__biden2.jpg"
EMPTY_ROOM = "coco/000000000632.jpg"
