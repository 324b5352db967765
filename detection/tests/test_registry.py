from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from detection import registry
from detection.cli import main
from detection.registry import ModelError, ModelSpec, fetch_models, verified_path


@pytest.fixture
def fake_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    src = tmp_path / "src"
    src.mkdir()
    content = b"not really onnx"
    (src / "tiny.onnx").write_bytes(content)
    spec = ModelSpec("tiny.onnx", hashlib.sha256(content).hexdigest(), "", "test", "MIT")
    monkeypatch.setitem(registry.MODELS, "tiny.onnx", spec)
    return src, spec.sha256


def test_it_copies_from_a_folder_and_skips_files_already_present(
    tmp_path: Path, fake_model: tuple[Path, str]
) -> None:
    src, _ = fake_model
    dest = tmp_path / "dest"
    first = fetch_models(dest, source_dir=src, names=["tiny.onnx"])
    second = fetch_models(dest, source_dir=src, names=["tiny.onnx"])
    assert [r.action for r in first] == ["copied"]
    assert [r.action for r in second] == ["present"]
    assert verified_path(dest, "tiny.onnx") == dest / "tiny.onnx"


def test_it_refuses_a_file_whose_hash_differs(tmp_path: Path, fake_model: tuple[Path, str]) -> None:
    src, _ = fake_model
    (src / "tiny.onnx").write_bytes(b"tampered")
    dest = tmp_path / "dest"
    with pytest.raises(ModelError, match="does not match"):
        fetch_models(dest, source_dir=src, names=["tiny.onnx"])
    assert not (dest / "tiny.onnx").exists()
    assert list(dest.iterdir()) == []  # no temporary file left behind


def test_it_replaces_a_corrupted_installed_file(
    tmp_path: Path, fake_model: tuple[Path, str]
) -> None:
    src, _ = fake_model
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "tiny.onnx").write_bytes(b"corrupted")
    with pytest.raises(ModelError):
        verified_path(dest, "tiny.onnx")
    assert [r.action for r in fetch_models(dest, source_dir=src, names=["tiny.onnx"])] == ["copied"]


def test_download_failure_gives_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = ModelSpec("tiny.onnx", "0" * 64, "http://127.0.0.1:9/tiny.onnx", "test", "MIT")
    monkeypatch.setitem(registry.MODELS, "tiny.onnx", spec)
    with pytest.raises(ModelError, match="--from DIR"):
        fetch_models(tmp_path, names=["tiny.onnx"], timeout=2)


def test_every_pinned_model_has_a_sha256_and_required_ones_a_download_address() -> None:
    for spec in registry.MODELS.values():
        assert len(spec.sha256) == 64
    for name in registry.REQUIRED:
        assert registry.MODELS[name].url.startswith("https://")


def test_cli_fetch_models_from_the_shared_folder_is_idempotent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from .conftest import SHARED_MODELS

    if not SHARED_MODELS.is_dir():
        pytest.skip(f"{SHARED_MODELS} not available")
    dest = tmp_path / "m"
    assert main(["fetch-models", "--from", str(SHARED_MODELS), "--dest", str(dest)]) == 0
    assert main(["fetch-models", "--from", str(SHARED_MODELS), "--dest", str(dest)]) == 0
    out = capsys.readouterr().out.splitlines()
    n = len(registry.MODELS)
    assert all(line.startswith("copied") for line in out[:n])
    assert all(line.startswith("present") for line in out[n:])
