"""Reads of the recordings app: what the server has (for resuming), segment indexes, media."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from proctor_lti.exams.models import Attempt

from . import crypto
from .models import Chunk, Recording, Segment
from .services import _gaps
from .storage import media_read


def chunk_inventory(*, attempt: Attempt, kind: str) -> dict[str, Any]:
    """What the server holds for one stream: seqs, sha256s, gaps, segment states.

    The upload client calls this on start to resume: anything it holds that is not listed
    here is sent again.
    """
    recording = Recording.objects.filter(attempt=attempt, kind=kind).first()
    if recording is None:
        return {"kind": kind, "seqs": [], "sha256": {}, "max_seq": None, "gaps": [],
                "segments": [], "bytes": 0}
    rows = list(Chunk.objects.filter(recording=recording).order_by("seq")
                .values_list("seq", "sha256"))
    seqs = [seq for seq, _ in rows]
    return {
        "kind": kind,
        "seqs": seqs,
        "sha256": {str(seq): sha for seq, sha in rows},
        "max_seq": seqs[-1] if seqs else None,
        "gaps": _gaps(seqs),
        "segments": [
            {"index": s.index, "status": s.status, "first_seq": s.first_seq,
             "final_seq": s.final_seq}
            for s in Segment.objects.filter(recording=recording).order_by("index")
        ],
        "bytes": recording.bytes_stored,
    }


def can_view_media(user: AbstractBaseUser | AnonymousUser, attempt: Attempt) -> bool:
    """Django superusers and the course's staff (instructors, TAs) may play recordings."""
    if not getattr(user, "is_authenticated", False):
        return False
    if getattr(user, "is_superuser", False):
        return True
    # review.access holds the one rule (course staff, platform admins), shared with review.
    from proctor_lti.review.access import can_manage

    return bool(can_manage(user, attempt.exam.context))


def segment_list(*, attempt: Attempt, kind: str) -> list[dict[str, Any]]:
    """Playable segments of one stream, in order, with their start times."""
    return [
        {"index": s.index, "start_s": s.start_s, "duration_s": s.duration_s,
         "status": s.status, "bytes": sum(c.size for c in s_chunks),
         "chunks": len(s_chunks)}
        for s, s_chunks in _segments_with_chunks(attempt, kind)
    ]


def _segments_with_chunks(attempt: Attempt, kind: str) -> list[tuple[Segment, list[Chunk]]]:
    recording = Recording.objects.filter(attempt=attempt, kind=kind).first()
    if recording is None:
        return []
    chunks: dict[int, list[Chunk]] = {}
    for chunk in Chunk.objects.filter(recording=recording).order_by("seq"):
        chunks.setdefault(chunk.segment_index, []).append(chunk)
    return [(s, chunks[s.index]) for s in recording.segments.order_by("index")
            if s.index in chunks]


def media_bytes(*, attempt: Attempt, kind: str, segment_index: int | None) -> tuple[bytes, str]:
    """Decrypted media of one segment (or of the whole stream) and its content type.

    Raises LookupError when there is nothing to play.
    """
    recording = Recording.objects.filter(attempt=attempt, kind=kind).first()
    if recording is None:
        raise LookupError("no such stream")
    chunks = Chunk.objects.filter(recording=recording).order_by("seq")
    if segment_index is not None:
        segment = Segment.objects.filter(recording=recording, index=segment_index).first()
        if segment is None:
            raise LookupError("no such segment")
        chunks = chunks.filter(segment_index=segment_index)
        if segment.first_seq is not None:
            chunks = chunks.filter(seq__gte=segment.first_seq)
    rows = list(chunks)
    if not rows:
        raise LookupError("nothing stored")
    key = crypto.data_key(crypto.vault_for(attempt.pk))
    body = b"".join(
        crypto.decrypt(key, media_read(c.storage_name),
                       crypto.aad_for(attempt.pk, f"{kind}/{c.seq}"))
        for c in rows)
    return body, (recording.mime_type.split(";")[0] or "application/octet-stream")


def thumbnail_bytes(*, attempt: Attempt, name: str) -> bytes:
    """One decrypted evidence thumbnail (JPEG) by its storage name; LookupError if unknown."""
    known = any(item.get("name") == name
                for ev in Segment.objects.filter(recording__attempt=attempt)
                .values_list("evidence", flat=True) for item in (ev or []))
    if not known:
        raise LookupError("no such thumbnail")
    key = crypto.data_key(crypto.vault_for(attempt.pk))
    return crypto.decrypt(key, media_read(name), crypto.aad_for(attempt.pk, f"evidence/{name}"))
