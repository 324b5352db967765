from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from detection.cli import main
from detection.synth import load_image, make_webm, write_y4m

from .conftest import EMPTY_ROOM, PORTRAIT, REPO


def test_count_json(
    model_dir: Path, image: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    paths = [
        str(image("fr/examples__two_people.jpg")),
        str(image(EMPTY_ROOM)),
        str(image(PORTRAIT)),
    ]
    assert main(["--model-dir", str(model_dir), "count", *paths, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == [
        {"path": paths[0], "faces": 2, "persons": 2},
        {"path": paths[1], "faces": 0, "persons": 0},
        {"path": paths[2], "faces": 1, "persons": 1},
    ]


def test_analyze_json_as_a_subprocess_reads_the_model_dir_from_the_environment(
    tmp_path: Path, model_dir: Path, image: Callable[[str], Path]
) -> None:
    clip = make_webm(
        tmp_path / "c.webm", [(load_image(image(PORTRAIT)), 3.0), (None, 6.0)], audio="beep"
    )
    env = dict(os.environ, PROCTOR_MODEL_DIR=str(model_dir))
    proc = subprocess.run(
        [sys.executable, "-m", "detection", "analyze", str(clip), "--sample-fps", "2", "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["frames_analysed"] == 18
    assert abs(data["duration_s"] - 9.0) < 0.2
    assert [f["type"] for f in data["flags"]] == ["no_face"]
    flag = data["flags"][0]
    assert set(flag) == {"type", "start_s", "end_s", "confidence", "explanation"}
    assert proc.stderr == ""  # no progress bar when stderr is not a terminal


def test_analyze_rejects_a_non_positive_sample_rate(
    tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "--model-dir",
                str(model_dir),
                "analyze",
                str(tmp_path / "x.webm"),
                "--sample-fps",
                "0",
            ]
        )
        == 2
    )


def test_missing_models_exit_1_with_a_hint(
    tmp_path: Path, image: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--model-dir", str(tmp_path), "count", str(image(PORTRAIT))]) == 1
    assert "fetch-models" in capsys.readouterr().err


def test_write_y4m_matches_the_fake_camera_format(
    tmp_path: Path, image: Callable[[str], Path]
) -> None:
    path = write_y4m(tmp_path / "cam.y4m", [load_image(image(PORTRAIT))], seconds=1.0, fps=15)
    data = path.read_bytes()
    header = b"YUV4MPEG2 W640 H480 F15:1 Ip A1:1 C420jpeg\n"
    assert data.startswith(header)
    frame = len(b"FRAME\n") + 640 * 480 * 3 // 2
    assert len(data) == len(header) + 15 * frame
    assert data[len(header) : len(header) + 6] == b"FRAME\n"


def test_make_clip_writes_browser_like_segments_that_bench_measures_as_one_attempt(
    tmp_path: Path,
    model_dir: Path,
    image: Callable[[str], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "exam.webm"
    args = ["make-clip", str(out), str(image(PORTRAIT)), "empty", "--seconds", "16"]
    assert main([*args, "--segment-seconds", "6", "--audio", "silence"]) == 0
    names = capsys.readouterr().out.split()
    assert names == [str(tmp_path / f"exam-{i:03d}.webm") for i in range(3)]  # 6 + 6 + 4 s
    assert main(["--model-dir", str(model_dir), "bench", *names, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["segments"] == 3
    assert 15.5 <= result["duration_s"] <= 16.5
    assert result["frames_analysed"] == 32  # 2 a second over the attempt
    # The 8 s without a face (crossing the 6 s segment boundary) is one no_face flag.
    assert result["flags"] == 1
    assert result["full_cpu_s"] > result["decode_cpu_s"] > 0
