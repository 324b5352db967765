"""The camera test and photo-ID check with the real face detector on real photos."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from proctor_lti.exams import services
from proctor_lti.exams.models import PrecheckFrame
from proctor_lti.exams.tasks import ml_check_camera_frame

PHOTOS = Path(os.environ.get("PROCTOR_SHARED_DIR", "/work/shared")) / "data/eval/images/fr"
ONE_FACE = PHOTOS / "examples__knn_examples__test__obama1.jpg"
TWO_FACES = PHOTOS / "examples__knn_examples__test__obama_and_biden.jpg"


@pytest.fixture
def detector_ready() -> None:
    missing = [
        p
        for p in (Path(settings.MODEL_DIR) / "yunet_n_dynamic.onnx", ONE_FACE, TWO_FACES)
        if not p.exists()
    ]
    if missing:
        reason = f"detection models or eval photos absent: {missing[0]} (run `make models`)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def _submit(world, kind: str, image: bytes, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    attempt = services.attempt_start_or_resume(exam=world.exam, user=world.bob)
    c = Client()
    c.force_login(world.bob)
    # on_commit runs the real task body in this process (Celery's .delay is the edge here:
    # a worker would run the same function).
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        r = c.post(
            reverse("exams:frame_submit", args=[attempt.pk, kind]),
            data=image,
            content_type="image/jpeg",
        )
    assert r.status_code == 202 and len(callbacks) == 1
    frame_id = r.json()["frame_id"]
    ml_check_camera_frame(frame_id)
    result = c.get(r.json()["poll"]).json()
    return attempt, PrecheckFrame.objects.get(pk=frame_id), result


def test_a_real_portrait_passes_the_camera_test_and_the_image_is_erased(
    world, detector_ready, django_capture_on_commit_callbacks
) -> None:
    attempt, frame, result = _submit(
        world, "camera", ONE_FACE.read_bytes(), django_capture_on_commit_callbacks
    )
    assert result["state"] == "done" and result["ok"] is True, result
    assert frame.image is None
    attempt.refresh_from_db()
    assert attempt.precheck_results["camera"]["passed"] is True
    assert attempt.precheck_results["camera"]["detail"]["faces"] == 1


def test_two_people_fail_with_more_than_one_face(
    world, detector_ready, django_capture_on_commit_callbacks
) -> None:
    attempt, _frame, result = _submit(
        world, "camera", TWO_FACES.read_bytes(), django_capture_on_commit_callbacks
    )
    assert result["ok"] is False and result["reason"] == "multiple_faces"
    attempt.refresh_from_db()
    assert attempt.precheck_results["camera"]["passed"] is False


def test_a_dark_room_fails_with_too_dark(
    world, detector_ready, django_capture_on_commit_callbacks
) -> None:
    bgr = cv2.imread(str(ONE_FACE))
    dark = (bgr.astype(np.float32) * 0.12).astype(np.uint8)
    ok, jpeg = cv2.imencode(".jpg", dark)
    _attempt, _frame, result = _submit(
        world, "camera", jpeg.tobytes(), django_capture_on_commit_callbacks
    )
    assert result["ok"] is False and result["reason"] == "too_dark"


def test_three_failures_let_the_student_continue_with_the_waiver_recorded(
    world, detector_ready, django_capture_on_commit_callbacks
) -> None:
    blank = cv2.imencode(".jpg", np.full((480, 640, 3), 128, np.uint8))[1].tobytes()
    for _ in range(3):
        attempt, _frame, result = _submit(
            world, "camera", blank, django_capture_on_commit_callbacks
        )
        assert result["reason"] == "no_face"
    assert result["may_continue"] is True
    c = Client()
    c.force_login(world.bob)
    r = c.post(reverse("exams:check_continue", args=[attempt.pk, "camera"]))
    assert r.status_code == 200
    attempt.refresh_from_db()
    assert attempt.precheck_results["camera"]["detail"]["waived_after_failures"] == 3


def test_continuing_before_three_failures_is_refused(world) -> None:
    attempt = services.attempt_start_or_resume(exam=world.exam, user=world.bob)
    c = Client()
    c.force_login(world.bob)
    assert c.post(reverse("exams:check_continue", args=[attempt.pk, "camera"])).status_code == 409


def test_a_photo_id_with_a_face_passes(
    world, detector_ready, django_capture_on_commit_callbacks
) -> None:
    _attempt, _frame, result = _submit(
        world, "photo_id", ONE_FACE.read_bytes(), django_capture_on_commit_callbacks
    )
    assert result["ok"] is True


def test_without_the_detector_the_student_may_continue_and_the_record_says_why(
    world, settings, tmp_path, django_capture_on_commit_callbacks
) -> None:
    settings.MODEL_DIR = tmp_path  # no model files here
    grey = cv2.imencode(".jpg", np.full((480, 640, 3), 128, np.uint8))[1].tobytes()
    attempt, frame, result = _submit(world, "camera", grey, django_capture_on_commit_callbacks)
    assert frame.state == "failed" and frame.image is None
    assert result["may_continue"] is True
    c = Client()
    c.force_login(world.bob)
    assert c.post(reverse("exams:check_continue", args=[attempt.pk, "camera"])).status_code == 200
    attempt.refresh_from_db()
    assert attempt.precheck_results["camera"]["detail"]["check_unavailable"] is True
