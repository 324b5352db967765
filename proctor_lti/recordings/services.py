"""Writes of the recordings app: storing chunks, recording events, finalising an attempt.

The pipeline: chunk_store -> (segment complete) -> segments_enqueue on commit ->
tasks.ml_analyse_segment -> analysis.segment_analyse -> analysis.attempt_aggregate.
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from proctor_lti.core.errors import UserFacingError
from proctor_lti.exams.models import Attempt
from proctor_lti.exams.vocabulary import EVENT_METRIC, STREAM_KINDS

from . import crypto, sql
from .models import AttemptVault, Chunk, Recording, Segment
from .storage import StorageFull, StorageUnavailable, media_delete, media_write
from .validation import STREAM_TYPES, MediaMismatch, base_type, is_image, sniff

logger = logging.getLogger(__name__)

MAX_SEQ = 1_000_000  # a 5-second chunk for 57 days: anything above is a client bug
MAX_SEGMENT_INDEX = 100_000
MAX_START_S = 7 * 24 * 3600.0
MAX_EVENTS_PER_BATCH = 500
ACTIVE = {Attempt.Status.PRECHECKS, Attempt.Status.READY, Attempt.Status.IN_PROGRESS}
# After the end a browser may still be catching up on a slow link.
GRACE = {Attempt.Status.SUBMITTED, Attempt.Status.ANALYSING, Attempt.Status.REVIEWABLE,
         Attempt.Status.INTERRUPTED, Attempt.Status.TERMINATED}
ANALYSED_KINDS = {"webcam"}


def grace_seconds() -> int:
    return int(getattr(settings, "UPLOAD_GRACE_SECONDS", 1800))


def attempt_upload_check(*, attempt: Attempt, now: datetime | None = None) -> None:
    """Raise a 403 UserFacingError unless the attempt is in its upload window."""
    if attempt.status in ACTIVE:
        return
    if attempt.status in GRACE:
        ended = attempt.ended_at or attempt.status_changed_at
        if ended and (now or timezone.now()) - ended <= timedelta(seconds=grace_seconds()):
            return
    raise UserFacingError(
        "This attempt is not recording any more, so nothing more can be uploaded to it.",
        hint="If you are still taking the exam, reload the exam page.",
        code="attempt_closed", status=403)


@dataclass
class StoredChunk:
    chunk: Chunk
    created: bool


def _bad(message: str, *, status: int = 400, code: str = "bad_chunk") -> UserFacingError:
    return UserFacingError(message, code=code, status=status)


def _check_fields(*, kind: str, seq: int, segment_index: int, start_s: float | None,
                  sha256: str) -> None:
    if kind not in STREAM_KINDS:
        raise _bad(f"Unknown stream '{kind}'.", status=404, code="unknown_stream")
    if not 0 <= seq <= MAX_SEQ:
        raise _bad(f"The sequence number must be between 0 and {MAX_SEQ}.", code="bad_seq")
    if not 0 <= segment_index <= MAX_SEGMENT_INDEX:
        raise _bad(f"X-Segment-Index must be between 0 and {MAX_SEGMENT_INDEX}.",
                   code="bad_segment_index")
    if start_s is not None and not (math.isfinite(start_s) and 0 <= start_s <= MAX_START_S):
        raise _bad("X-Chunk-Start must be a number of seconds from 0 to 7 days.",
                   code="bad_start")
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise _bad("X-Chunk-Sha256 must be the 64 lowercase hex digits of the body's SHA-256.",
                   code="bad_sha256")


def chunk_name(attempt_id: int, kind: str, seq: int, sha256: str) -> str:
    return f"recordings/{attempt_id}/{kind}/{seq:08d}-{sha256[:16]}.enc"


@dataclass
class StreamState:
    """What is known of one stream before a chunk is stored (read with the attempt)."""

    recording_id: int | None
    finalised: bool = False
    existing: Chunk | None = None  # the chunk already stored under this seq


def stream_state(*, attempt: Attempt, kind: str, seq: int) -> StreamState:
    recording = Recording.objects.filter(attempt=attempt, kind=kind).first()
    if recording is None:
        return StreamState(recording_id=None)
    return StreamState(recording_id=recording.pk, finalised=recording.finalised_at is not None,
                       existing=Chunk.objects.filter(recording=recording, seq=seq).first())


def chunk_store(*, attempt: Attempt, kind: str, seq: int, body: bytes, content_type: str,
                sha256: str, segment_index: int = 0, start_s: float | None = None,
                final: bool = False, state: StreamState | None = None) -> StoredChunk:
    """Validate one chunk, store it encrypted and durably, then record it.

    Idempotent: the same bytes under the same seq return the existing chunk (created=False);
    different bytes under a stored seq raise a 409. The file is on disk (fsynced) or
    acknowledged by object storage before the row exists, so a row always means "safe".
    Raises UserFacingError (4xx) for bad input and 507/503 when storage cannot take it.
    `state` is what the upload API already read about the stream (upload_access); without
    it, it is read here.
    """
    sha256 = sha256.strip().lower()
    _check_fields(kind=kind, seq=seq, segment_index=segment_index, start_s=start_s,
                  sha256=sha256)
    media_type = base_type(content_type)
    if media_type not in STREAM_TYPES[kind]:
        allowed = ", ".join(sorted(STREAM_TYPES[kind]))
        raise _bad(f"A {kind} chunk must be one of: {allowed} (got '{media_type or 'none'}').",
                   status=415, code="unsupported_media_type")
    if not body:
        raise _bad("The chunk is empty.", code="empty_chunk")
    if len(body) > settings.UPLOAD_MAX_CHUNK_BYTES:
        raise _bad(f"A chunk may be at most {settings.UPLOAD_MAX_CHUNK_BYTES} bytes.",
                   status=413, code="chunk_too_large")
    if hashlib.sha256(body).hexdigest() != sha256:
        raise _bad("The chunk's SHA-256 does not match X-Chunk-Sha256: it was damaged on the "
                   "way. Send it again.", status=422, code="sha256_mismatch")
    try:
        has_header = sniff(media_type, body)
    except MediaMismatch as exc:
        raise _bad(f"The chunk is not {media_type}: {exc}.", status=422,
                   code="not_declared_media") from None
    if is_image(media_type):
        segment_index, final = seq, True  # every image stands alone

    if state is None:
        state = stream_state(attempt=attempt, kind=kind, seq=seq)
    if state.existing is not None:
        return StoredChunk(_same_or_conflict(state.existing, sha256), created=False)
    recording_id, finalised = state.recording_id, state.finalised
    if recording_id is None:  # the stream's first chunk
        recording, _ = Recording.objects.get_or_create(
            attempt=attempt, kind=kind, defaults={"mime_type": content_type[:100]})
        recording_id, finalised = recording.pk, recording.finalised_at is not None

    try:
        vault = attempt.vault  # read with the attempt by the upload API
    except AttemptVault.DoesNotExist:
        vault = crypto.vault_for(attempt.pk, retain_until=_provisional_retention(attempt))
    if vault.purged_at:
        raise _bad("This attempt's recordings were deleted; nothing more can be stored.",
                   status=410, code="purged")
    name = chunk_name(attempt.pk, kind, seq, sha256)
    blob = crypto.encrypt(crypto.data_key(vault), body, crypto.aad_for(attempt.pk, f"{kind}/{seq}"))
    media_write(name, blob)  # raises StorageFull / StorageUnavailable

    chunk = Chunk(recording_id=recording_id, seq=seq, segment_index=segment_index,
                  size=len(body), sha256=sha256, storage_name=name, start_s=start_s)
    if connection.vendor == "postgresql":
        # One statement records the chunk, the byte count and the segment; completeness is
        # checked after it committed, which is safe without a lock: of two chunks racing to
        # complete a segment, the one committed last sees the other.
        segment = sql.chunk_record(chunk, header=has_header, final=final)
        created = segment is not None
        if segment is not None:
            _segments_close(recording_id, kind, segment, has_header=has_header)
            if finalised:
                _gaps_refresh(recording_id)
    else:
        with transaction.atomic():
            created = sql.chunk_insert(chunk)
            if created:
                sql.recording_add_bytes(recording_id, len(body))
                segment = sql.segment_upsert(chunk, header=has_header, final=final)
                _segments_close(recording_id, kind, segment, has_header=has_header)
                if finalised:
                    _gaps_refresh(recording_id)
    if not created:
        # A concurrent upload of the same seq won the race.
        existing = Chunk.objects.get(recording_id=recording_id, seq=seq)
        if existing.storage_name != name:
            media_delete(name)
        return StoredChunk(_same_or_conflict(existing, sha256), created=False)
    return StoredChunk(chunk, created=True)


def _gaps_refresh(recording_id: int) -> None:
    recording = Recording.objects.only("gaps").get(pk=recording_id)
    if recording.gaps:
        seqs = list(Chunk.objects.filter(recording_id=recording_id).values_list("seq", flat=True))
        Recording.objects.filter(pk=recording_id).update(gaps=_gaps(seqs))


def _same_or_conflict(existing: Chunk, sha256: str) -> Chunk:
    if existing.sha256 == sha256:
        return existing
    raise _bad(f"Chunk {existing.seq} is already stored with different content "
               f"(sha256 {existing.sha256[:12]}…). Chunks cannot be replaced; send new data "
               "under a new sequence number.", status=409, code="chunk_conflict")


def _provisional_retention(attempt: Attempt) -> datetime:
    # Until finalisation fixes it from the end time, keep media for the exam's period from now.
    return timezone.now() + timedelta(days=attempt.exam.retention_days)


def _segments_close(recording_id: int, kind: str, segment: sql.SegmentState, *,
                    has_header: bool) -> None:
    """Close the chunk's segment, and the previous open one, if they became complete.

    The chunk has updated its segment (sql.segment_upsert): a header chunk sets first_seq
    (the earliest wins) and the start time, a final chunk final_seq, and a late chunk
    reopens an analysed segment. A header chunk also ends the previous open segment, which
    may complete it. Webcam segments that are STORED are queued for analysis after commit.
    (A chunk arriving in the grace period after the end may fill a gap that finalisation
    recorded: chunk_store refreshes the gaps, so review does not report recording that
    arrived.)
    """
    candidates = [segment]
    if has_header and segment.index > 0:
        previous = sql.segment_previous_open(recording_id=recording_id, index=segment.index)
        if previous is not None:
            candidates.append(previous)
    stored = []
    for candidate in candidates:
        status = candidate.status
        if status == Segment.Status.OPEN and sql.segment_is_complete(
                recording_id=recording_id, segment=candidate):
            sql.segment_close(candidate.id)
            status = Segment.Status.STORED
        if status == Segment.Status.STORED:
            stored.append(candidate.id)
    if kind in ANALYSED_KINDS and stored:
        transaction.on_commit(lambda: segments_enqueue(segment_ids=stored))


def segments_enqueue(*, segment_ids: list[int]) -> int:
    """Send stored segments to the ml queue; a broker outage is logged, never raised.

    The sweep (tasks.recordings_sweep) picks up whatever stays STORED.
    """
    from .tasks import ml_analyse_segment  # tasks import services; avoid the cycle

    sent = 0
    for segment_id in segment_ids:
        try:
            ml_analyse_segment.apply_async(
                args=[segment_id], retry=True,
                retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2})
        except Exception:  # kombu OperationalError, redis ConnectionError, socket errors
            logger.warning("could not enqueue segment %s (broker down?): the sweep will retry",
                           segment_id, exc_info=True)
            continue
        sql.segment_mark_queued(segment_id)
        sent += 1
    return sent


def _parse_when(value: Any) -> datetime | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and math.isfinite(value) and 0 < value < 1e13:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, str) and len(value) <= 40:
        try:
            parsed = parse_datetime(value)
        except ValueError:
            return None
        if parsed is not None and timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed, UTC)
        return parsed
    return None


def events_record(*, attempt: Attempt, events: Any) -> dict[str, int]:
    """Store a batch of lockdown events and heartbeats, idempotent by client event id.

    The whole batch is validated first: one bad event rejects the batch with a 400 naming it,
    and nothing is stored.
    """
    if not isinstance(events, list) or not events:
        raise _bad("'events' must be a non-empty list.", code="bad_events")
    if len(events) > MAX_EVENTS_PER_BATCH:
        raise _bad(f"Send at most {MAX_EVENTS_PER_BATCH} events per request.", code="bad_events")
    rows: dict[str, dict[str, Any]] = {}
    for i, event in enumerate(events):
        if not isinstance(event, dict):
            raise _bad(f"Event {i} must be an object.", code="bad_events")
        event_id, event_type = event.get("id"), event.get("type")
        # NUL: PostgreSQL cannot store it in text or jsonb (a 503 would be retried for ever).
        if not isinstance(event_id, str) or not 1 <= len(event_id) <= 64 or "\x00" in event_id:
            raise _bad(f"Event {i}: 'id' must be a string of 1-64 characters.", code="bad_events")
        if event_type not in EVENT_METRIC:
            raise _bad(f"Event {i}: unknown type {str(event_type)[:40]!r}.", code="bad_events")
        when = _parse_when(event.get("at"))
        if when is None:
            raise _bad(f"Event {i}: 'at' must be an ISO 8601 time or milliseconds since 1970.",
                       code="bad_events")
        data = event.get("data", {})
        shown = repr(data)  # a NUL anywhere (key or value) shows as \x00
        if not isinstance(data, dict) or len(shown) > 4000 or "\\x00" in shown:
            raise _bad(f"Event {i}: 'data' must be a small object.", code="bad_events")
        offset = (when - attempt.started_at).total_seconds() if attempt.started_at else None
        rows[event_id] = {"attempt_id": attempt.pk, "client_event_id": event_id,
                          "type": event_type, "occurred_at": when, "offset_s": offset,
                          "data": data}
    accepted = sql.events_insert(list(rows.values()))
    return {"accepted": accepted, "duplicates": len(events) - accepted}


def _gaps(seqs: list[int]) -> list[list[int]]:
    gaps: list[list[int]] = []
    expected = 0
    for seq in sorted(seqs):
        if seq > expected:
            gaps.append([expected, seq - 1])
        expected = seq + 1
    return gaps


def attempt_finalise(*, attempt: Attempt) -> dict[str, Any]:
    """At "End exam": record gaps, close open segments, queue them, fix retention.

    Safe to call more than once. Aggregation (flags) starts when every webcam segment has
    been analysed; if there is nothing left to analyse it is queued right away.
    Returns {"gaps": {kind: [[from, to], ...]}, "pending_segments": n}.
    """
    now = timezone.now()
    end = attempt.ended_at or now
    vault = crypto.vault_for(attempt.pk)
    summary: dict[str, Any] = {"gaps": {}, "pending_segments": 0}
    to_queue: list[int] = []
    with transaction.atomic():
        for recording in Recording.objects.select_for_update().filter(attempt=attempt):
            seqs = list(recording.chunks.values_list("seq", flat=True))
            recording.gaps = _gaps(seqs)
            recording.finalised_at = recording.finalised_at or now
            recording.save(update_fields=["gaps", "finalised_at", "updated_at"])
            if recording.gaps:
                summary["gaps"][recording.kind] = recording.gaps
            for segment in recording.segments.filter(status=Segment.Status.OPEN):
                segment.status = Segment.Status.STORED
                segment.save(update_fields=["status", "updated_at"])
            if recording.kind in ANALYSED_KINDS:
                to_queue += list(recording.segments.filter(status=Segment.Status.STORED)
                                 .values_list("pk", flat=True))
        AttemptVault.objects.filter(pk=vault.pk).update(
            finalised_at=vault.finalised_at or now,
            retain_until=max(end + timedelta(days=attempt.exam.retention_days),
                             vault.retain_until or end))
        summary["pending_segments"] = Segment.objects.filter(
            recording__attempt=attempt, recording__kind__in=ANALYSED_KINDS,
            status__in=[Segment.Status.STORED, Segment.Status.QUEUED, Segment.Status.ANALYSING],
        ).count()
        # Terminated attempts (by a reviewer or the platform) are analysed and reviewed too.
        _transition(attempt, Attempt.Status.ANALYSING,
                    from_statuses={Attempt.Status.SUBMITTED, Attempt.Status.TERMINATED})
        transaction.on_commit(lambda: segments_enqueue(segment_ids=to_queue))
        if summary["pending_segments"] == 0:
            transaction.on_commit(lambda: aggregate_enqueue(attempt_id=attempt.pk))
    logger.info("attempt %s finalised: gaps=%s pending=%s", attempt.pk, summary["gaps"],
                summary["pending_segments"])
    return summary


def aggregate_enqueue(*, attempt_id: int) -> None:
    from .tasks import ml_aggregate_attempt

    try:
        ml_aggregate_attempt.apply_async(
            args=[attempt_id], retry=True,
            retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2})
    except Exception:
        logger.warning("could not enqueue aggregation of attempt %s: the sweep will retry",
                       attempt_id, exc_info=True)


def _transition(attempt: Attempt, to: str, *, from_statuses: set[str]) -> None:
    """Move the attempt on through the exam flow's one status function."""
    attempt.refresh_from_db(fields=["status"])
    if attempt.status not in from_statuses:
        return
    from proctor_lti.exams.services import attempt_transition

    attempt_transition(attempt=attempt, to=to, actor=None, reason="recordings")


__all__ = [
    "StorageFull", "StorageUnavailable", "attempt_finalise", "attempt_upload_check",
    "chunk_store", "events_record", "segments_enqueue",
]
