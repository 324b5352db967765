"""The still-scene gate: an empty room is confirmed every few seconds, not on every frame,
and anyone coming into view is looked at at once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from detection.analyzer import Models, StillScene, scene_blocks
from detection.config import DetectionConfig
from detection.imageops import U8
from detection.pipeline import observe
from detection.synth import empty_room, load_image, make_webm

from .conftest import PORTRAIT


def _small(frame: U8) -> U8:
    return np.asarray(cv2.resize(frame, (128, 96), interpolation=cv2.INTER_AREA), np.uint8)


def _with_photo(room: U8, photo: U8, width: int, at: tuple[int, int] = (400, 200)) -> U8:
    """``room`` with ``photo`` pasted ``width`` px wide: a person far away in the doorway."""
    out = room.copy()
    h = round(width * photo.shape[0] / photo.shape[1])
    x, y = at
    out[y : y + h, x : x + width] = cv2.resize(photo, (width, h), interpolation=cv2.INTER_AREA)
    return out


def _noisy(room: U8, rng: np.random.Generator, gain: float) -> U8:
    img = room.astype(np.float32) * gain + rng.normal(0, 4, room.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def test_camera_noise_and_exposure_keep_the_scene_but_a_far_away_person_changes_it(
    image: Callable[[str], Path],
) -> None:
    cfg = DetectionConfig()
    room = empty_room()
    rng = np.random.default_rng(3)
    scene = StillScene(cfg)
    scene.remember(0.0, scene_blocks(_small(_noisy(room, rng, 1.0))))
    for i, gain in enumerate((0.95, 1.0, 1.06, 0.97), start=1):
        assert scene.same(i * 0.5, scene_blocks(_small(_noisy(room, rng, gain))))
    # The cheap pass cannot see this person's face (about 45 px wide); the scene gate must.
    visitor = _with_photo(room, load_image(image(PORTRAIT)), 180)
    assert not scene.same(2.5, scene_blocks(_small(_noisy(visitor, rng, 1.0))))


def test_the_empty_answer_is_reused_only_for_a_few_seconds_and_never_backwards() -> None:
    cfg = DetectionConfig()
    blocks = scene_blocks(_small(empty_room()))
    scene = StillScene(cfg)
    assert not scene.same(0.0, blocks)  # nothing remembered yet
    scene.remember(10.0, blocks)
    assert scene.same(10.0 + cfg.still_scene_recheck_s, blocks)
    assert not scene.same(10.0 + cfg.still_scene_recheck_s + 0.5, blocks)
    assert not scene.same(9.5, blocks)  # a new segment starting earlier


def _counting(models: Models) -> tuple[Models, list[int]]:
    """``models`` with the calls of the confirmation pass (YuNet ``detect``) counted."""
    calls: list[int] = []
    real = models.faces.detect

    def detect(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*args, **kwargs)

    models.faces.detect = detect  # type: ignore[method-assign]
    return models, calls


@pytest.fixture()
def fresh_models(model_dir: Path) -> Models:
    # Its own instance: the call counter must not leak into the session's models.
    return Models(model_dir, face_model=DetectionConfig().face_model)


def test_an_empty_room_is_confirmed_every_few_seconds_and_a_visitor_seen_at_once(
    tmp_path: Path, image: Callable[[str], Path], fresh_models: Models
) -> None:
    visitor = _with_photo(empty_room(), load_image(image(PORTRAIT)), 180)
    clip = make_webm(tmp_path / "room.webm", [(None, 12.0), (visitor, 6.0)], audio="silence")
    models, calls = _counting(fresh_models)
    gated = observe(clip, DetectionConfig(), models=models)
    gated_calls = len(calls)
    calls.clear()
    every = observe(clip, replace(DetectionConfig(), still_scene_recheck_s=0.0), models=models)
    # Same observations, frame for frame: the gate only skips work whose answer is known.
    assert [(f.t, f.faces) for f in gated.frames] == [(f.t, f.faces) for f in every.frames]
    empty = [f for f in every.frames if f.t < 12.0]
    assert all(f.faces == 0 for f in empty)
    first_visit = next(f for f in gated.frames if f.t >= 12.0)
    assert first_visit.faces == 1
    # 24 empty frames: one confirmation every 4 s instead of one per frame (the periodic
    # person check every 10 s takes the full pass instead).
    assert len(calls) >= 30
    assert gated_calls <= len(calls) - 15
