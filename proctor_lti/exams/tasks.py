"""Celery tasks of the exam flow: thin wrappers that take ids and call a service."""

from __future__ import annotations

from celery import shared_task


@shared_task(
    name="proctor_lti.exams.tasks.ml_check_camera_frame",
    acks_late=True,
    soft_time_limit=60,
    time_limit=90,
    ignore_result=True,
)
def ml_check_camera_frame(frame_id: int) -> None:
    """Face-check a camera-test or photo-ID still (queue "ml": routed by the ml_ prefix)."""
    from .attempts import precheck_frame_check

    precheck_frame_check(frame_id=frame_id)


@shared_task(
    name="proctor_lti.exams.tasks.rotate_access_codes",
    ignore_result=True,
    soft_time_limit=300,
    time_limit=360,
)
def rotate_access_codes() -> int:
    """Periodic (Celery beat, e.g. every 5 minutes): rotate Canvas codes after exam windows."""
    from .canvas import canvas_access_codes_rotate_due

    return canvas_access_codes_rotate_due()


@shared_task(
    name="proctor_lti.exams.tasks.end_abandoned_attempts",
    ignore_result=True,
    soft_time_limit=300,
    time_limit=360,
)
def end_abandoned_attempts() -> int:
    """Periodic (Celery beat): end sessions silent for EXAM_ABANDONED_MINUTES."""
    from .attempts import attempts_end_abandoned

    return attempts_end_abandoned()
