"""Camera test and photo-ID check on real photos."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from detection.analyzer import Models
from detection.pipeline import check_camera_frame, check_photo_id
from detection.synth import darkened, fit, load_image, side_by_side

from .conftest import EMPTY_ROOM, PORTRAIT, PORTRAIT2


def jpeg(img: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", img)
    assert ok
    return bytes(buf.tobytes())


def test_a_well_lit_portrait_passes(models: Models, image: Callable[[str], Path]) -> None:
    check = check_camera_frame(jpeg(fit(load_image(image(PORTRAIT)))), models=models)
    assert (check.ok, check.reason_code, check.faces) == (True, "ok", 1)


def test_a_darkened_photo_is_too_dark(models: Models, image: Callable[[str], Path]) -> None:
    check = check_camera_frame(
        jpeg(darkened(fit(load_image(image(PORTRAIT))), 0.35)), models=models
    )
    assert (check.ok, check.reason_code) == (False, "too_dark")
    assert "light" in check.message


def test_a_small_face_asks_the_student_to_move_closer(
    models: Models, image: Callable[[str], Path]
) -> None:
    canvas = fit(load_image(image(EMPTY_ROOM)))
    face = fit(load_image(image(PORTRAIT)), (160, 120))
    canvas[180:300, 240:400] = face
    check = check_camera_frame(jpeg(canvas), models=models)
    assert (check.ok, check.reason_code, check.faces) == (False, "move_closer", 1)


def test_two_photos_side_by_side_are_multiple_faces(
    models: Models, image: Callable[[str], Path]
) -> None:
    frame = side_by_side(load_image(image(PORTRAIT)), load_image(image(PORTRAIT2)))
    check = check_camera_frame(jpeg(frame), models=models)
    assert (check.ok, check.reason_code, check.faces) == (False, "multiple_faces", 2)


def test_an_empty_room_has_no_face(models: Models, image: Callable[[str], Path]) -> None:
    check = check_camera_frame(jpeg(fit(load_image(image(EMPTY_ROOM)))), models=models)
    assert (check.ok, check.reason_code) == (False, "no_face")


def test_bytes_that_are_not_an_image_are_reported_not_raised(models: Models) -> None:
    check = check_camera_frame(b"hello", models=models)
    assert (check.ok, check.reason_code) == (False, "not_an_image")
    assert check_photo_id(b"", models=models).reason_code == "not_an_image"


def test_photo_id_needs_a_visible_face(models: Models, image: Callable[[str], Path]) -> None:
    assert check_photo_id(jpeg(load_image(image(PORTRAIT))), models=models).ok
    empty = check_photo_id(jpeg(load_image(image(EMPTY_ROOM))), models=models)
    assert (empty.ok, empty.reason_code) == (False, "no_face")
