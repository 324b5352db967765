"""`python manage.py analyze`: a media file or a stored, encrypted recording, as JSON."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from .conftest import put_chunk

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def models_here(model_dir, settings):  # type: ignore[no-untyped-def]
    settings.MODEL_DIR = model_dir


def _analyze(*args: str) -> dict:
    out = io.StringIO()
    call_command("analyze", *args, stdout=out)
    return json.loads(out.getvalue())


def test_a_media_file_gives_the_detection_clis_report(models_here, webm_bytes: bytes,
                                                       tmp_path: Path) -> None:
    from detection.pipeline import analyze

    path = tmp_path / "room.webm"
    path.write_bytes(webm_bytes)
    report = _analyze(str(path))
    assert set(report) >= {"duration_s", "frames_analysed", "flags"}
    assert 15.5 <= report["duration_s"] <= 16.5 and report["frames_analysed"] == 32
    assert [f["type"] for f in report["flags"]] == ["no_face"]  # an empty room
    assert report["flags"] == analyze(path).to_dict()["flags"]
    fewer = _analyze(str(path), "--sample-fps", "1")
    assert fewer["frames_analysed"] == 16


def test_a_stored_recording_is_decrypted_and_analysed_segment_by_segment(
        models_here, alice_client, attempt, webm_chunks, media_root) -> None:  # type: ignore[no-untyped-def]
    for i, body in enumerate(webm_chunks):
        response = put_chunk(alice_client, attempt, i, body, start=0.0 if i == 0 else None,
                             final=i == len(webm_chunks) - 1)
        assert response.status_code == 201, response.content
    report = _analyze(f"attempt:{attempt.pk}")
    assert [f["type"] for f in report["flags"]] == ["no_face"]
    assert report["frames_analysed"] == 32
    # The media on disk is ciphertext: nothing in it looks like WebM.
    stored = [p.read_bytes() for p in media_root.rglob("*") if p.is_file()]
    assert stored and not any(b"\x1a\x45\xdf\xa3" in data for data in stored)


@pytest.mark.parametrize(("ref", "message"), [
    ("attempt:999999", "no recording attempt:999999"),
    ("12345678", "no recording 12345678"),
    ("no-such-file.webm", "no such file"),
])
def test_an_unknown_recording_is_a_clear_error(models_here, ref: str, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("analyze", ref)


def test_a_file_that_is_not_media_is_a_clear_error(models_here, tmp_path: Path) -> None:
    path = tmp_path / "notes.webm"
    path.write_text("not a recording")
    with pytest.raises(CommandError, match="not a readable media file"):
        call_command("analyze", str(path))
    with pytest.raises(CommandError, match="--sample-fps must be a positive number"):
        call_command("analyze", str(path), "--sample-fps", "0")
