"""What an uploaded chunk must look like: media types per stream and magic bytes.

MediaRecorder emits one header chunk (EBML) per recorder start, then continuation chunks.
Measured with Chromium's timeslice (1 s): the continuation chunks are cut wherever the
muxer's buffer was flushed, mid-element: they begin with e.g. `43 c6 81 03 84 80`, the size
of a SimpleBlock whose ID byte ended the previous chunk. So a continuation has no magic of
its own to check. It is refused when it carries another format's signature (an image, a
web page, a PDF, an archive, MP4), and the segment it belongs to must decode as a whole
before analysis (a damaged one is marked failed with the reason).
"""

from __future__ import annotations

EBML = b"\x1a\x45\xdf\xa3"
# Signatures of other formats: a continuation chunk starting with one is not WebM. Long
# enough that VP8/Opus block bytes cannot match them by chance.
FOREIGN_SIGNATURES = (
    b"\xff\xd8\xff",  # JPEG
    b"\x89PNG\r\n\x1a\n",
    b"GIF87a", b"GIF89a",
    b"%PDF-",
    b"PK\x03\x04",  # zip, docx, ...
    b"RIFF",  # wav, avi, webp
    b"OggS",
)
TEXT_STARTS = (b"<!doctype", b"<html", b"<?xml", b"<svg", b"<head", b"<body")
MP4_BOXES = {b"ftyp", b"styp", b"moof", b"mdat", b"moov", b"sidx", b"free", b"emsg"}
JPEG = b"\xff\xd8\xff"
PNG = b"\x89PNG\r\n\x1a\n"

VIDEO_TYPES = {"video/webm", "audio/webm", "video/mp4", "video/x-matroska"}
IMAGE_TYPES = {"image/jpeg", "image/png"}
STREAM_TYPES: dict[str, set[str]] = {
    "webcam": VIDEO_TYPES,
    "screen": VIDEO_TYPES - {"audio/webm"},
    "room_scan": VIDEO_TYPES - {"audio/webm"},
    "photo_id": IMAGE_TYPES,
    "camera_test": IMAGE_TYPES,
}


class MediaMismatch(ValueError):
    """The bytes are not what the Content-Type says."""


def base_type(content_type: str) -> str:
    """'video/webm;codecs=vp8,opus' -> 'video/webm'."""
    return content_type.split(";", 1)[0].strip().lower()


def is_image(media_type: str) -> bool:
    return media_type in IMAGE_TYPES


def sniff(media_type: str, body: bytes) -> bool:
    """Check the magic bytes; returns True when the chunk starts a segment (has a header).

    Raises MediaMismatch when the bytes cannot be the declared media.
    """
    if media_type == "image/jpeg":
        if not body.startswith(JPEG):
            raise MediaMismatch("the body is not a JPEG image (it must start with FF D8 FF)")
        return True
    if media_type == "image/png":
        if not body.startswith(PNG):
            raise MediaMismatch("the body is not a PNG image")
        return True
    if media_type == "video/mp4":
        if len(body) >= 8 and body[4:8] == b"ftyp":
            return True
        if len(body) >= 8 and body[4:8] in MP4_BOXES:
            return False
        raise MediaMismatch("the body is not MP4 data (no ftyp/moof/mdat box at the start)")
    # WebM / Matroska
    if body.startswith(EBML):
        return True
    head = body[:16].lstrip().lower()
    if (body.startswith(FOREIGN_SIGNATURES) or head.startswith(TEXT_STARTS)
            or (len(body) >= 8 and body[4:8] == b"ftyp")):
        raise MediaMismatch(
            "the body is another format, not WebM: a segment's first chunk starts with the "
            "EBML header (1A 45 DF A3) and later chunks continue it")
    return False
