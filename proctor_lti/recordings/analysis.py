"""Analysis of stored segments by the detection library (runs in the ml workers only).

`detection` and its native libraries are imported inside the functions, so the web process
never loads onnxruntime or PyAV.
"""

from __future__ import annotations

import logging
import os
import tempfile
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from proctor_lti.exams.models import Attempt

from . import crypto
from .models import AttemptVault, Chunk, Segment
from .services import ANALYSED_KINDS, _transition, aggregate_enqueue
from .storage import media_read, media_write

logger = logging.getLogger(__name__)

PENDING = [Segment.Status.OPEN, Segment.Status.STORED, Segment.Status.QUEUED,
           Segment.Status.ANALYSING]


def detection_config() -> Any:
    from detection import DetectionConfig

    return DetectionConfig.from_dict(getattr(settings, "DETECTION_CONFIG", {}) or {})


def segment_plaintext_chunks(segment: Segment) -> list[bytes]:
    """The segment's decrypted chunks in order, starting at its header chunk."""
    recording = segment.recording
    key = crypto.data_key(crypto.vault_for(recording.attempt_id))
    chunks = Chunk.objects.filter(recording=recording, segment_index=segment.index)
    if segment.first_seq is not None:
        chunks = chunks.filter(seq__gte=segment.first_seq)
    return [
        crypto.decrypt(key, media_read(c.storage_name),
                       crypto.aad_for(recording.attempt_id, f"{recording.kind}/{c.seq}"))
        for c in chunks.order_by("seq")
    ]


def thumbnail_name(attempt_id: int, segment_id: int, t: float) -> str:
    return f"recordings/{attempt_id}/evidence/{segment_id}-{round(t * 1000)}.enc"


def segment_analyse(*, segment_id: int) -> str:
    """Run detection on one segment and store its observations and evidence thumbnails.

    Idempotent: a DONE segment is left alone. Undecodable media marks the segment FAILED
    with the reason (other segments carry on). Storage or database outages raise, and the
    task retries them. Returns the resulting status.
    """
    from detection.analyzer import get_models
    from detection.media import MediaError
    from detection.pipeline import observe

    segment = (Segment.objects.select_related("recording").filter(pk=segment_id).first())
    if segment is None:
        return "gone"
    if segment.status in (Segment.Status.DONE, Segment.Status.FAILED, Segment.Status.OPEN):
        return segment.status
    Segment.objects.filter(pk=segment.pk).update(
        status=Segment.Status.ANALYSING, task_attempts=segment.task_attempts + 1,
        updated_at=timezone.now())
    recording = segment.recording
    suffix = ".mp4" if "mp4" in recording.mime_type else ".webm"
    cfg = detection_config()
    fd, path = tempfile.mkstemp(suffix=suffix, prefix="segment-")
    try:
        with os.fdopen(fd, "wb") as fh:
            for part in segment_plaintext_chunks(segment):
                fh.write(part)
        try:
            obs = observe(path, cfg, time_offset_s=segment.start_s,
                          models=get_models(settings.MODEL_DIR, cfg.face_model), strict=False)
        except MediaError as exc:
            return _finish(segment, status=Segment.Status.FAILED, error=str(exc)[:2000])
    finally:
        os.unlink(path)
    key = crypto.data_key(crypto.vault_for(recording.attempt_id))
    evidence = []
    for t, jpeg in sorted(obs.thumbnails.items()):
        name = thumbnail_name(recording.attempt_id, segment.pk, t)
        media_write(name, crypto.encrypt(key, jpeg, crypto.aad_for(recording.attempt_id,
                                                                   f"evidence/{name}")))
        evidence.append({"t": t, "reason": obs.thumbnail_reasons.get(f"{t:.3f}", ""),
                         "name": name})
    return _finish(segment, status=Segment.Status.DONE, observations=obs.to_dict(),
                   evidence=evidence, duration_s=obs.duration_s)


def _finish(segment: Segment, *, status: str, error: str = "", observations: Any = None,
            evidence: list[dict[str, Any]] | None = None, duration_s: float | None = None) -> str:
    with transaction.atomic():
        # Only if nothing changed meanwhile: a late chunk sets the segment back to STORED and
        # queues it again, and that complete analysis must not be overwritten by this one.
        updated = Segment.objects.filter(pk=segment.pk, status=Segment.Status.ANALYSING).update(
            status=status, error=error, observations=observations, evidence=evidence or [],
            duration_s=duration_s, analysed_at=timezone.now(), updated_at=timezone.now())
        if not updated:
            logger.info("segment %s changed during analysis: the newer run decides", segment.pk)
            return "superseded"
        attempt_id = segment.recording.attempt_id
        transaction.on_commit(lambda: attempt_aggregate_if_ready(attempt_id=attempt_id))
    if status == Segment.Status.FAILED:
        logger.warning("segment %s could not be analysed: %s", segment.pk, error)
    return status


def attempt_aggregate_if_ready(*, attempt_id: int) -> bool:
    """Queue the aggregation when the attempt is finalised and no webcam segment is pending."""
    vault = AttemptVault.objects.filter(attempt_id=attempt_id).first()
    if vault is None or vault.finalised_at is None:
        return False
    if Segment.objects.filter(recording__attempt_id=attempt_id,
                              recording__kind__in=ANALYSED_KINDS, status__in=PENDING).exists():
        return False
    aggregate_enqueue(attempt_id=attempt_id)
    return True


def attempt_aggregate(*, attempt_id: int) -> int:
    """Merge the webcam segments' observations, derive flags, hand them to review.

    Idempotent: review replaces the attempt's detection flags, so a second run leaves one
    set. Moves the attempt from analysing to reviewable. Returns the number of flags.
    """
    from detection.results import Observations
    from detection.rules import flags_from_observations
    from proctor_lti.review.services import flags_replace_from_detection

    attempt = Attempt.objects.filter(pk=attempt_id).first()
    if attempt is None:
        return 0
    segments = list(Segment.objects.filter(
        recording__attempt=attempt, recording__kind__in=ANALYSED_KINDS,
        status=Segment.Status.DONE, observations__isnull=False).order_by("start_s", "index"))
    parts = [Observations.from_dict(s.observations) for s in segments]
    flags = flags_from_observations(Observations.merge(parts), detection_config()) if parts else []
    # Segment.evidence items ({"t", "reason", "name"}) are already stored encrypted.
    evidence = [item for s in segments for item in s.evidence]
    with transaction.atomic():
        flags_replace_from_detection(attempt=attempt, flags=flags, evidence=evidence)
        AttemptVault.objects.filter(attempt=attempt).update(aggregated_at=timezone.now())
        _transition(attempt, Attempt.Status.REVIEWABLE, from_statuses={Attempt.Status.ANALYSING})
    logger.info("attempt %s aggregated: %s segments, %s flags", attempt_id, len(parts), len(flags))
    return len(flags)
