"""YuNet and YOLOX decode on real images; VAD on speech vs beep/silence."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from detection.analyzer import Models
from detection.faces import head_pose_from_landmarks
from detection.synth import audio_track, load_image, side_by_side
from detection.vad import to_8k

from .conftest import EMPTY_ROOM, PORTRAIT, PORTRAIT2, SPEECH


def test_yunet_finds_one_face_with_landmarks_inside_the_box(
    models: Models, image: Callable[[str], Path]
) -> None:
    img = load_image(image(PORTRAIT))
    faces = models.faces.detect(img, width=640, score_threshold=0.7)
    assert len(faces) == 1
    f = faces[0]
    assert f.score > 0.9
    assert 0.1 * img.shape[1] < f.width < 0.9 * img.shape[1]
    for x, y in f.landmarks:
        assert f.x1 <= x <= f.x2 and f.y1 <= y <= f.y2
    re, le, nose, rm, lm = f.landmarks
    assert re[0] < nose[0] < le[0]  # subject's right eye is on the image's left
    assert nose[1] < (rm[1] + lm[1]) / 2


def test_yunet_scales_boxes_back_to_original_pixels(
    models: Models, image: Callable[[str], Path]
) -> None:
    img = load_image(image(PORTRAIT))
    big = models.faces.detect(img, width=640, score_threshold=0.7)[0]
    small = models.faces.detect(img, width=320, score_threshold=0.6)[0]
    assert abs(big.x1 - small.x1) < 0.1 * big.width
    assert abs(big.width - small.width) < 0.15 * big.width


def test_yunet_counts_two_people_side_by_side(models: Models, image: Callable[[str], Path]) -> None:
    frame = side_by_side(load_image(image(PORTRAIT)), load_image(image(PORTRAIT2)))
    faces = models.faces.detect(frame, width=640, score_threshold=0.7)
    assert len(faces) == 2
    assert faces[0].x1 < 320 <= faces[1].x1 or faces[1].x1 < 320 <= faces[0].x1


def test_yunet_finds_no_face_in_an_empty_room(models: Models, image: Callable[[str], Path]) -> None:
    assert models.faces.detect(load_image(image(EMPTY_ROOM)), width=640, score_threshold=0.7) == []


def test_yolox_finds_the_people_in_a_photo_and_none_in_an_empty_room(
    models: Models, image: Callable[[str], Path]
) -> None:
    people = models.persons.detect(
        load_image(image("fr/examples__two_people.jpg")), score_threshold=0.5
    )
    assert len(people) == 2
    for p in people:
        assert 0 <= p.x1 < p.x2 and 0 <= p.y1 < p.y2 and p.score >= 0.5
    assert models.persons.detect(load_image(image(EMPTY_ROOM)), score_threshold=0.5) == []


def test_head_pose_is_near_zero_for_a_frontal_face_and_grows_when_the_nose_moves() -> None:
    frontal = ((40.0, 50.0), (80.0, 50.0), (60.0, 74.0), (45.0, 92.0), (75.0, 92.0))
    yaw, pitch = head_pose_from_landmarks(frontal)
    assert abs(yaw) < 3 and abs(pitch) < 10
    turned = ((40.0, 50.0), (70.0, 50.0), (72.0, 74.0), (45.0, 92.0), (68.0, 92.0))
    assert head_pose_from_landmarks(turned)[0] > 35
    down = ((40.0, 50.0), (80.0, 50.0), (60.0, 88.0), (45.0, 92.0), (75.0, 92.0))
    assert head_pose_from_landmarks(down)[1] > 30


def test_real_portraits_are_mostly_frontal(models: Models, image: Callable[[str], Path]) -> None:
    for rel in (PORTRAIT, PORTRAIT2, "skimage/astronaut.png"):
        (face,) = models.faces.detect(load_image(image(rel)), width=640, score_threshold=0.7)
        yaw, pitch = face.head_pose()
        assert abs(yaw) < 15 and abs(pitch) < 15, (rel, yaw, pitch)


def test_vad_scores_real_speech_high_and_beep_or_silence_low(models: Models) -> None:
    if not SPEECH.is_file():
        pytest.skip(f"{SPEECH} not available")
    speech = audio_track(SPEECH, 2.7, rate=16000)
    beep = audio_track("beep", 6.0, rate=16000)
    silence = audio_track("silence", 6.0, rate=16000)
    p_speech = models.vad.probabilities(speech)
    assert float(np.mean(p_speech > 0.5)) > 0.3
    assert float(np.mean(models.vad.probabilities(beep) > 0.5)) < 0.05
    assert float(np.mean(models.vad.probabilities(silence) > 0.5)) < 0.05


def test_vad_in_batched_pieces_agrees_with_one_stream(models: Models) -> None:
    if not SPEECH.is_file():
        pytest.skip(f"{SPEECH} not available")
    audio = np.concatenate(
        [audio_track(SPEECH, 8.0, rate=16000), audio_track("silence", 8.0, rate=16000)]
    )
    serial = models.vad.probabilities(audio, piece=10**9)
    batched = models.vad.probabilities(audio)
    assert serial.shape == batched.shape
    assert float(np.mean((serial > 0.5) == (batched > 0.5))) > 0.97


def test_yunet_batch_gives_each_image_its_own_faces(
    models: Models, image: Callable[[str], Path]
) -> None:
    # Three frames of one size in one run: a face, two faces, an empty room, at the
    # cheap pass's 128 px and the full 640 px; each must match its own single run.
    face = load_image(image(PORTRAIT))
    two = side_by_side(face, load_image(image(PORTRAIT2)))
    size = (two.shape[1], two.shape[0])
    frames = [
        np.asarray(cv2.resize(img, size), dtype=np.uint8)
        for img in (face, two, load_image(image(EMPTY_ROOM)))
    ]
    for width, thr in ((128, 0.6), (640, 0.7)):
        batched = models.faces.detect_batch(frames, width=width, score_threshold=thr)
        single = [models.faces.detect(f, width=width, score_threshold=thr) for f in frames]
        assert [len(b) for b in batched] == [len(s) for s in single]
        for got, want in zip(batched, single, strict=True):
            for g, w in zip(got, want, strict=True):
                assert abs(g.x1 - w.x1) < 0.5 and abs(g.x2 - w.x2) < 0.5
                assert abs(g.score - w.score) < 1e-3
    assert len(single[1]) == 2 and len(single[2]) == 0
    with pytest.raises(ValueError):
        models.faces.detect_batch([frames[0], face[:100]], width=128, score_threshold=0.6)


def test_halfband_decimation_keeps_speech_band_and_removes_aliases() -> None:
    t = np.arange(16000) / 16000
    for freq, lo, hi in ((300, 0.98, 1.02), (3000, 0.97, 1.03), (5000, 0.0, 0.05)):
        y = to_8k(np.sin(2 * np.pi * freq * t).astype(np.float32))
        assert y.size == 8000
        gain = float(np.sqrt(np.mean(y[100:-100] ** 2)) / np.sqrt(0.5))
        assert lo <= gain <= hi, (freq, gain)
    # zero phase: sample i of the result sits at sample 2 i of the input
    x = np.sin(2 * np.pi * 500 * t).astype(np.float32)
    assert float(np.abs(to_8k(x)[100:-100] - x[200:-200:2]).max()) < 0.01  # one sample late: 0.2


def test_vad_at_8k_agrees_with_16k_on_real_speech(models: Models) -> None:
    if not SPEECH.is_file():
        pytest.skip(f"{SPEECH} not available")
    speech = audio_track(SPEECH, 30.0, rate=16000)
    p16 = models.vad.probabilities(speech, model_rate=16000) >= 0.5
    p8 = models.vad.probabilities(speech, model_rate=8000) >= 0.5
    assert float(np.mean(p16 == p8)) > 0.9
    assert abs(float(p16.mean()) - float(p8.mean())) < 0.06
    for quiet in ("beep", "silence"):
        track = audio_track(quiet, 6.0, rate=16000)
        assert float(np.mean(models.vad.probabilities(track, model_rate=16000) > 0.5)) < 0.05
    with pytest.raises(ValueError):
        models.vad.probabilities(speech, model_rate=11025)
