"""observe/analyze on WebM clips encoded from real photos by detection.synth."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from detection.analyzer import Models
from detection.config import DetectionConfig
from detection.media import SampledFrame, decode
from detection.pipeline import analyze, observe, report_from_observations
from detection.results import Observations
from detection.synth import darkened, load_image, make_webm, side_by_side

from .conftest import PORTRAIT, PORTRAIT2, SPEECH


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory, image: Callable[[str], Path]) -> Path:
    """26 s: face 8 s (speech), empty room 7 s, two people 5 s, face in the dark 6 s."""
    if not SPEECH.is_file():
        pytest.skip(f"{SPEECH} not available")
    face = load_image(image(PORTRAIT))
    two = side_by_side(face, load_image(image(PORTRAIT2)))
    path = tmp_path_factory.mktemp("clips") / "exam.webm"
    return make_webm(
        path,
        [(face, 8.0), (None, 7.0), (two, 5.0), (darkened(face, 0.05), 6.0)],
        audio=[("silence", 2.0), (SPEECH, 5.0), ("silence", 19.0)],
    )


@pytest.fixture(scope="session")
def clip_observations(clip: Path, models: Models) -> Observations:
    return observe(clip, DetectionConfig(), models=models)


def spans(obs: Observations) -> dict[str, list[tuple[float, float]]]:
    out: dict[str, list[tuple[float, float]]] = {}
    for f in report_from_observations(obs).flags:
        out.setdefault(f.type, []).append((f.start_s, f.end_s))
    return out


def test_a_webcam_clip_gets_the_expected_flags_at_the_right_times(
    clip_observations: Observations,
) -> None:
    got = spans(clip_observations)
    assert set(got) == {
        "speech",
        "no_face",
        "multiple_faces",
        "multiple_persons",
        "camera_obscured",
    }, got
    (speech,) = got["speech"]
    assert 1.5 <= speech[0] <= 3.0 and 5.0 <= speech[1] <= 8.0
    (no_face,) = got["no_face"]
    assert 7.5 <= no_face[0] <= 9.0 and 14.5 <= no_face[1] <= 16.0
    (two,) = got["multiple_faces"]
    assert 14.5 <= two[0] <= 16.0 and 19.5 <= two[1] <= 21.0
    assert got["multiple_persons"] == got["multiple_faces"]
    (dark,) = got["camera_obscured"]
    assert 19.5 <= dark[0] <= 21.0 and dark[1] >= 25.0


def test_observations_cover_every_sampled_frame_and_audio_block(
    clip_observations: Observations,
) -> None:
    obs = clip_observations
    assert 50 <= len(obs.frames) <= 54  # 26 s at 2 frames/s
    assert obs.frames[0].t == 0.0
    assert [f.faces for f in obs.frames[:16]] == [1] * 16
    assert abs(len(obs.audio) * 0.512 - 26.0) < 1.0
    assert set(obs.models) == {"yunet_n_dynamic.onnx", "yolox_nano.onnx", "silero_vad.onnx"}
    json.dumps(obs.to_dict())


def test_evidence_thumbnails_are_small_jpegs_and_bounded(clip_observations: Observations) -> None:
    obs = clip_observations
    assert obs.thumbnails, "interesting frames must keep evidence"
    assert len(obs.thumbnails) <= DetectionConfig().max_thumbnails
    assert sorted(obs.thumbnails) == obs.thumbnail_times
    for data in obs.thumbnails.values():
        assert data[:2] == b"\xff\xd8" and len(data) < 20_000
    flags = report_from_observations(obs).flags
    for f in flags:
        if f.type != "speech":
            ev = f.explanation["evidence_timestamps"]
            assert 1 <= len(ev) <= 3, f
            assert all(t in obs.thumbnails for t in ev)


def test_segments_observed_separately_merge_into_the_same_flags(
    tmp_path: Path, models: Models, image: Callable[[str], Path]
) -> None:
    face = load_image(image(PORTRAIT))
    # No face from 4 s to 10 s, split across two 6 s segments: 3 s on each side.
    first = make_webm(tmp_path / "a.webm", [(face, 3.0), (None, 3.0)], audio="silence")
    second = make_webm(tmp_path / "b.webm", [(None, 3.0), (face, 3.0)], audio="silence")
    a = observe(first, models=models)
    b = observe(second, time_offset_s=a.end_s, models=models)
    assert report_from_observations(a).flags == [] and report_from_observations(b).flags == []
    merged = Observations.merge([a, b])
    flags = report_from_observations(merged).flags
    assert [f.type for f in flags] == ["no_face"]
    assert 2.5 <= flags[0].start_s <= 3.5 and 8.5 <= flags[0].end_s <= 9.5
    again = Observations.from_dict(json.loads(json.dumps(merged.to_dict())))
    assert report_from_observations(again).flags == flags  # idempotent, no thumbnails needed


def test_the_periodic_person_check_follows_the_attempts_time_across_segments(
    tmp_path: Path, models: Models, image: Callable[[str], Path]
) -> None:
    # One confident face: YOLOX runs only for the periodic check, once per 10 s of the
    # attempt, wherever the 6 s segments start (not at the start of each one).
    seg = make_webm(tmp_path / "s.webm", [(load_image(image(PORTRAIT)), 6.0)], audio="silence")
    checked = []
    for i in range(4):  # the attempt's 0-24 s
        obs = observe(seg, time_offset_s=6.0 * i, models=models)
        checked += [f.t for f in obs.frames if f.persons is not None]
    assert checked == [0.0, 10.0, 20.0]


def test_the_labelled_video_flags_the_audience_and_not_the_single_performer(
    models: Models, eval_dir: Path
) -> None:
    video = eval_dir / "video" / "video_short_hamilton_clip.mp4"
    report = analyze(video, models=models)
    fps = 29.97
    single = (82 / fps, 211 / fps)
    for f in report.flags:
        assert f.end_s <= single[0] or f.start_s >= single[1], f
    audience = [f for f in report.flags if f.type == "multiple_persons"]
    assert audience and any(f.start_s <= 274 / fps and f.end_s >= 211 / fps for f in audience)


@pytest.mark.parametrize("size", [(640, 480), (362, 270)])  # 362: planes padded to 384
def test_small_frame_copies_from_the_yuv_planes_match_a_full_conversion(
    tmp_path: Path, image: Callable[[str], Path], size: tuple[int, int]
) -> None:
    path = make_webm(tmp_path / "f.webm", [(load_image(image(PORTRAIT)), 1.0)], size=size)
    frames: list[SampledFrame] = []
    decode(path, sample_fps=2.0, on_frame=lambda _t, f: frames.append(f))
    assert frames
    for frame in frames:
        full = frame.bgr()
        assert full.shape == (size[1], size[0], 3)
        for width in (128, 320):
            small = frame.bgr(width)
            h, w = small.shape[:2]
            assert w == width - width % 2 and abs(h - size[1] * width / size[0]) <= 2
            want = cv2.resize(full, (w, h), interpolation=cv2.INTER_AREA)
            diff = np.abs(small.astype(np.int16) - want.astype(np.int16))
            assert float(diff.mean()) < 3.0 and int(np.percentile(diff, 99)) < 40, width


def test_person_every_s_zero_checks_every_frame(
    tmp_path: Path, models: Models, image: Callable[[str], Path]
) -> None:
    seg = make_webm(tmp_path / "s.webm", [(load_image(image(PORTRAIT)), 3.0)], audio="silence")
    obs = observe(seg, DetectionConfig(person_every_s=0.0), time_offset_s=6.0, models=models)
    assert obs.frames and all(f.persons is not None for f in obs.frames)
