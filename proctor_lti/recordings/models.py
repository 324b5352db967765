"""Recorded media: streams per attempt, their chunks, analysable segments, keys, retention.

PII: all media (webcam, microphone, screen, ID, room) is personal data. It is stored
encrypted (AES-GCM, a data key per attempt wrapped by the master key) and purged after the
exam's retention period; each purge writes a DeletionRecord.
"""

from __future__ import annotations

from django.db import models

from proctor_lti.core.models import TimeStampedModel
from proctor_lti.exams.models import Attempt
from proctor_lti.exams.vocabulary import STREAM_KINDS


class AttemptVault(TimeStampedModel):
    """The attempt's wrapped data key and how long its media is kept."""

    attempt = models.OneToOneField(Attempt, on_delete=models.CASCADE, related_name="vault")
    wrapped_key = models.BinaryField()
    # Which master key wrapped it (index into the fingerprint list), so rotation can re-wrap.
    master_key_id = models.CharField(max_length=32)
    retain_until = models.DateTimeField(null=True, blank=True, db_index=True)
    purged_at = models.DateTimeField(null=True, blank=True)
    # Set by recordings.services.attempt_finalise; aggregation runs once every segment is done.
    finalised_at = models.DateTimeField(null=True, blank=True)
    aggregated_at = models.DateTimeField(null=True, blank=True)


class Recording(TimeStampedModel):
    """One stream of one attempt (webcam, screen, room scan, photo ID, camera test)."""

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="recordings")
    kind = models.CharField(max_length=20, choices=list(STREAM_KINDS.items()))
    mime_type = models.CharField(max_length=100, blank=True)
    finalised_at = models.DateTimeField(null=True, blank=True)
    # Missing sequence ranges found at finalisation, e.g. [[12, 14]].
    gaps = models.JSONField(default=list, blank=True)
    bytes_stored = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["attempt", "kind"], name="uniq_recording_kind")
        ]


class Chunk(models.Model):
    """One uploaded piece of a stream, stored durably before the upload is acknowledged."""

    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="chunks")
    seq = models.PositiveIntegerField()
    # The recorder restarts every few seconds so each segment decodes on its own.
    segment_index = models.PositiveIntegerField(default=0)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    storage_name = models.CharField(max_length=500)
    # Recording-relative start time reported by the browser (seconds), if known.
    start_s = models.FloatField(null=True, blank=True)
    stored_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["recording", "seq"], name="uniq_chunk_seq")]
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"{self.recording_id} #{self.seq}"


class Segment(TimeStampedModel):
    """A decodable stretch of a stream, handed to the detection workers."""

    class Status(models.TextChoices):
        OPEN = "open"  # still receiving chunks
        STORED = "stored"  # complete, not yet queued
        QUEUED = "queued"
        ANALYSING = "analysing"
        DONE = "done"
        FAILED = "failed"

    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="segments")
    index = models.PositiveIntegerField()
    start_s = models.FloatField(default=0.0)
    duration_s = models.FloatField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN,
                              db_index=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    analysed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # detection.Observations.to_dict() for this segment; rules run over all of them.
    observations = models.JSONField(null=True, blank=True)
    # The chunk that carries the container header and the one the browser marked last;
    # together with the chunks between them they decide when a segment is complete.
    first_seq = models.PositiveIntegerField(null=True, blank=True)
    final_seq = models.PositiveIntegerField(null=True, blank=True)
    # Encrypted evidence thumbnails: [{"t": seconds, "reason": str, "name": storage name}].
    evidence = models.JSONField(default=list, blank=True)
    task_attempts = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["recording", "index"], name="uniq_segment_index")
        ]
        ordering = ["index"]


class DeletionRecord(models.Model):
    """What media was deleted, when and why (retention expiry, admin purge)."""

    attempt_id_ref = models.BigIntegerField(db_index=True)
    exam_title = models.CharField(max_length=255)
    what = models.TextField()
    reason = models.CharField(max_length=255)
    deleted_at = models.DateTimeField(auto_now_add=True)
    deleted_by = models.CharField(max_length=255, blank=True)
    bytes_deleted = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.deleted_at:%Y-%m-%d} attempt {self.attempt_id_ref}: {self.reason}"
