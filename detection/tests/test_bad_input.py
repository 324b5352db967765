"""Truncated, corrupt, empty and non-media files give MediaError / exit code 2, never a crash."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from detection.analyzer import Models
from detection.cli import main
from detection.media import MediaError, decode
from detection.pipeline import observe
from detection.synth import load_image, make_webm

from .conftest import PORTRAIT


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory, image: Callable[[str], Path]) -> bytes:
    path = tmp_path_factory.mktemp("bad") / "good.webm"
    make_webm(path, [(load_image(image(PORTRAIT)), 4.0)], audio="beep")
    return path.read_bytes()


def variants(good: bytes) -> dict[str, bytes]:
    mid = len(good) // 2
    return {
        "empty": b"",
        "text": b"this is not a recording\n" * 50,
        "header_only": good[:200],
        "truncated": good[:mid],
        # Bytes inserted mid-file break the container structure from there on.
        "corrupt": good[:mid] + bytes(range(256)) * 40 + good[mid:],
    }


@pytest.mark.parametrize("kind", ["empty", "text", "header_only", "truncated", "corrupt"])
def test_bad_recordings_raise_media_error(
    tmp_path: Path, good: bytes, models: Models, kind: str
) -> None:
    path = tmp_path / f"{kind}.webm"
    path.write_bytes(variants(good)[kind])
    with pytest.raises(MediaError):
        observe(path, models=models)


@pytest.mark.parametrize("kind", ["empty", "text", "truncated"])
def test_cli_analyze_exits_2_with_one_line(
    tmp_path: Path, good: bytes, kind: str, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / f"{kind}.webm"
    path.write_bytes(variants(good)[kind])
    assert main(["--model-dir", str(model_dir), "analyze", str(path), "--json"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err


def test_a_missing_file_is_a_media_error(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="no such file"):
        decode(tmp_path / "nope.webm", sample_fps=2)


def test_lenient_mode_keeps_the_decodable_part_of_a_truncated_file(
    tmp_path: Path, good: bytes
) -> None:
    path = tmp_path / "cut.webm"
    path.write_bytes(variants(good)["truncated"])
    stats = decode(path, sample_fps=2, strict=False)
    assert 0.5 < stats.duration_s < 4.0


def test_cli_count_rejects_a_non_image(
    tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "x.jpg"
    bad.write_text("nope")
    assert main(["--model-dir", str(model_dir), "count", str(bad), "--json"]) == 2
    assert "not a readable image" in capsys.readouterr().err


def test_cli_bad_usage_exits_2() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["analyze"])
    assert exc.value.code == 2
