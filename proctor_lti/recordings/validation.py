"""What an uploaded chunk must look like: media types per stream and magic bytes.

MediaRecorder emits one header chunk (EBML) per recorder start and then continuation
chunks that begin with a Matroska element (usually a Cluster). Those are accepted, but
only if their first bytes parse as a known Matroska element ID, so a stray JPEG or HTML
page cannot be stored as "video".
"""

from __future__ import annotations

EBML = b"\x1a\x45\xdf\xa3"
# Top-level and cluster-level Matroska element IDs a continuation chunk may start with.
MATROSKA_IDS = (
    b"\x1f\x43\xb6\x75",  # Cluster
    b"\x18\x53\x80\x67",  # Segment
    b"\x1c\x53\xbb\x6b",  # Cues
    b"\x12\x54\xc3\x67",  # Tags
    b"\x11\x4d\x9b\x74",  # SeekHead
    b"\x16\x54\xae\x6b",  # Tracks
)
MATROSKA_SHORT_IDS = (b"\xa3", b"\xa0", b"\xe7", b"\xec")  # SimpleBlock, BlockGroup, Timecode, Void
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
    if body.startswith(MATROSKA_IDS) or (body[:1] in MATROSKA_SHORT_IDS and len(body) > 4):
        return False
    raise MediaMismatch(
        "the body is not WebM: a first chunk must start with the EBML header (1A 45 DF A3) "
        "and a later chunk with a Matroska element such as a Cluster (1F 43 B6 75)"
    )
