"""The chunk upload API: durable, idempotent, strict about what it accepts."""

from __future__ import annotations

import errno
import hashlib
import os
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from proctor_lti.exams.models import Attempt, AttemptEvent
from proctor_lti.recordings import crypto
from proctor_lti.recordings.models import Chunk, Recording, Segment
from tests.factories import AttemptFactory

from .conftest import bearer, put_chunk

pytestmark = [pytest.mark.django_db(transaction=True)]

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 200 + b"\xff\xd9"


@pytest.fixture(autouse=True)
def _isolated(media_root, memory_broker):  # type: ignore[no-untyped-def]
    yield


def test_it_stores_a_chunk_encrypted_before_answering_201(alice_client, attempt, webm_chunks,
                                                           media_root):
    response = put_chunk(alice_client, attempt, 0, webm_chunks[0], start=0.0)
    assert response.status_code == 201, response.content
    chunk = Chunk.objects.get()
    on_disk = (media_root / chunk.storage_name).read_bytes()
    assert webm_chunks[0][:64] not in on_disk and on_disk.startswith(crypto.MAGIC)
    key = crypto.data_key(crypto.vault_for(attempt.pk))
    assert crypto.decrypt(key, on_disk, crypto.aad_for(attempt.pk, "webcam/0")) == webm_chunks[0]
    # Bound to its place: the same bytes do not decrypt as another seq.
    with pytest.raises(crypto.CryptoError):
        crypto.decrypt(key, on_disk, crypto.aad_for(attempt.pk, "webcam/1"))
    assert not list(media_root.rglob(".part-*"))


def test_it_answers_a_resent_chunk_with_200_and_keeps_one_copy(alice_client, attempt,
                                                               webm_chunks):
    assert put_chunk(alice_client, attempt, 0, webm_chunks[0]).status_code == 201
    again = put_chunk(alice_client, attempt, 0, webm_chunks[0])
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert Chunk.objects.count() == 1
    assert Recording.objects.get().bytes_stored == len(webm_chunks[0])


def test_it_refuses_different_bytes_under_a_stored_seq_with_409(alice_client, attempt,
                                                                webm_chunks):
    put_chunk(alice_client, attempt, 0, webm_chunks[0])
    response = put_chunk(alice_client, attempt, 0, webm_chunks[0] + b"\x00")
    assert response.status_code == 409
    assert "already stored with different content" in response.json()["detail"]
    assert Chunk.objects.get().sha256 == hashlib.sha256(webm_chunks[0]).hexdigest()


def test_it_accepts_chunks_out_of_order_and_reports_gaps(alice_client, attempt, webm_chunks):
    assert put_chunk(alice_client, attempt, 2, webm_chunks[2]).status_code == 201
    assert put_chunk(alice_client, attempt, 0, webm_chunks[0]).status_code == 201
    listing = alice_client.get(f"/api/attempts/{attempt.pk}/streams/webcam/chunks",
                               HTTP_AUTHORIZATION=bearer(attempt, alice_client)).json()
    assert listing["seqs"] == [0, 2] and listing["gaps"] == [[1, 1]]
    assert listing["sha256"]["2"] == hashlib.sha256(webm_chunks[2]).hexdigest()


@pytest.mark.parametrize(("kwargs", "status", "code"), [
    ({"content_type": "text/html"}, 415, "unsupported_media_type"),
    ({"content_type": "image/jpeg"}, 415, "unsupported_media_type"),
    ({"sha": "0" * 64}, 422, "sha256_mismatch"),
    ({"sha": "not-a-sha"}, 400, "bad_sha256"),
    ({"sha": ""}, 400, "missing_header"),
])
def test_it_rejects_bad_chunks_with_a_clear_4xx_and_stores_nothing(
        alice_client, attempt, webm_chunks, kwargs, status, code):
    response = put_chunk(alice_client, attempt, 0, webm_chunks[0], **kwargs)
    assert response.status_code == status, response.content
    assert response.json()["error"] == code and response.json()["detail"]
    assert not Chunk.objects.exists()


def test_it_rejects_bytes_that_are_not_the_declared_media(alice_client, attempt):
    for body, ctype in ((b"<html>hello</html>", "video/webm"), (JPEG, "video/webm"),
                        (b"  <!DOCTYPE html><p>", "video/webm"), (b"%PDF-1.7 ...", "video/webm"),
                        (b"\x00\x00\x00\x18ftypmp42", "video/webm"),
                        (b"GIF89a....", "image/png"), (b"\x00" * 32, "video/mp4")):
        kind = "photo_id" if ctype.startswith("image") else "webcam"
        response = put_chunk(alice_client, attempt, 0, body, kind=kind, content_type=ctype)
        assert response.status_code == 422, (ctype, response.content)
    assert not Chunk.objects.exists()


def test_it_accepts_continuation_chunks_cut_mid_element_and_images(alice_client, attempt,
                                                                   webm_chunks):
    assert not webm_chunks[1].startswith((b"\x1a\x45\xdf\xa3", b"\x1f\x43\xb6\x75"))
    assert put_chunk(alice_client, attempt, 1, webm_chunks[1], segment=0).status_code == 201
    response = put_chunk(alice_client, attempt, 0, JPEG, kind="photo_id",
                         content_type="image/jpeg")
    assert response.status_code == 201
    assert Segment.objects.get(recording__kind="photo_id").status == Segment.Status.STORED


def test_it_rejects_oversized_chunks_with_413(alice_client, attempt, settings, webm_chunks):
    settings.UPLOAD_MAX_CHUNK_BYTES = 1000
    response = put_chunk(alice_client, attempt, 0, webm_chunks[0][:2000])
    assert response.status_code == 413 and not Chunk.objects.exists()


@pytest.mark.parametrize("seq", ["-1", "abc", "99999999", "1e3"])
def test_it_rejects_absurd_sequence_numbers(alice_client, attempt, webm_chunks, seq):
    response = alice_client.post(
        f"/api/attempts/{attempt.pk}/streams/webcam/chunks/{seq}", data=webm_chunks[0],
        content_type="video/webm", HTTP_AUTHORIZATION=bearer(attempt, alice_client),
        HTTP_X_CHUNK_SHA256=hashlib.sha256(webm_chunks[0]).hexdigest())
    assert response.status_code in (400, 404) and not Chunk.objects.exists()


def test_it_rejects_malformed_headers(alice_client, attempt, webm_chunks):
    for headers in ({"HTTP_X_SEGMENT_INDEX": "x"}, {"HTTP_X_CHUNK_START": "nan"},
                    {"HTTP_X_CHUNK_START": "-5"}, {"HTTP_X_SEGMENT_INDEX": "999999999"}):
        response = alice_client.post(
            f"/api/attempts/{attempt.pk}/streams/webcam/chunks/0", data=webm_chunks[0],
            content_type="video/webm", HTTP_AUTHORIZATION=bearer(attempt, alice_client),
            HTTP_X_CHUNK_SHA256=hashlib.sha256(webm_chunks[0]).hexdigest(), **headers)
        assert response.status_code == 400, headers
    assert not Chunk.objects.exists()


def test_it_refuses_uploads_without_a_token_or_with_a_forged_one(alice_client, attempt,
                                                                  webm_chunks):
    assert put_chunk(alice_client, attempt, 0, webm_chunks[0], auth="").status_code == 401
    forged = bearer(attempt, alice_client)[:-4] + "beef"
    assert put_chunk(alice_client, attempt, 0, webm_chunks[0], auth=forged).status_code == 401
    attempt.upload_secret = "rotated"
    old = bearer(AttemptFactory.build(pk=attempt.pk, user=attempt.user,
                                      upload_secret="previous"), alice_client)
    assert put_chunk(alice_client, attempt, 0, webm_chunks[0], auth=old).status_code == 401
    assert not Chunk.objects.exists()


def test_it_refuses_an_expired_token(alice_client, attempt, webm_chunks, settings):
    settings.UPLOAD_TOKEN_TTL_SECONDS = -1
    response = put_chunk(alice_client, attempt, 0, webm_chunks[0])
    assert response.status_code == 401 and response.json()["error"] == "token_expired"


def test_it_issues_tokens_only_to_the_attempt_owner(alice_client, attempt, bob, client):
    response = alice_client.post(f"/api/attempts/{attempt.pk}/upload-token")
    assert response.status_code == 201 and response.json()["token"].startswith(f"{attempt.pk}.")
    client.force_login(bob)
    assert client.post(f"/api/attempts/{attempt.pk}/upload-token").status_code == 404
    client.logout()
    assert client.post(f"/api/attempts/{attempt.pk}/upload-token").status_code == 401


def test_it_refuses_someone_elses_attempt_even_with_its_token(client, bob, attempt,
                                                              webm_chunks):
    client.force_login(bob)
    response = put_chunk(client, attempt, 0, webm_chunks[0])  # alice's valid token
    assert response.status_code == 404 and not Chunk.objects.exists()


def test_it_refuses_a_finished_attempt_after_the_grace_period(alice_client, attempt,
                                                              webm_chunks):
    Attempt.objects.filter(pk=attempt.pk).update(
        status=Attempt.Status.SUBMITTED, ended_at=timezone.now() - timedelta(minutes=5))
    attempt.refresh_from_db()
    assert put_chunk(alice_client, attempt, 0, webm_chunks[0]).status_code == 201
    Attempt.objects.filter(pk=attempt.pk).update(ended_at=timezone.now() - timedelta(hours=2))
    response = put_chunk(alice_client, attempt, 1, webm_chunks[1])
    assert response.status_code == 403 and response.json()["error"] == "attempt_closed"
    Attempt.objects.filter(pk=attempt.pk).update(status=Attempt.Status.REVIEWED)
    assert put_chunk(alice_client, attempt, 2, webm_chunks[2]).status_code == 403


def test_it_answers_507_with_retry_after_when_the_disk_is_full(alice_client, attempt,
                                                              webm_chunks, monkeypatch):
    from proctor_lti.recordings import storage

    def full(path, data):  # type: ignore[no-untyped-def]
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(storage, "_write_local", full)
    response = put_chunk(alice_client, attempt, 0, webm_chunks[0])
    assert response.status_code == 507 and response["Retry-After"] == "60"
    assert not Chunk.objects.exists()
    monkeypatch.undo()
    assert put_chunk(alice_client, attempt, 0, webm_chunks[0]).status_code == 201


def test_it_answers_503_when_storage_is_down_and_leaves_no_partial_file(
        alice_client, attempt, webm_chunks, monkeypatch, media_root):
    import os

    real_replace = os.replace

    def broken(src, dst):  # type: ignore[no-untyped-def]
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "replace", broken)
    response = put_chunk(alice_client, attempt, 0, webm_chunks[0])
    assert response.status_code == 503 and response["Retry-After"]
    assert not Chunk.objects.exists()
    assert not [p for p in media_root.rglob("*") if p.is_file()]
    monkeypatch.setattr(os, "replace", real_replace)


def test_it_records_batched_events_idempotently(alice_client, attempt):
    events = [{"id": "e1", "type": "tab_hidden", "at": timezone.now().isoformat()},
              {"id": "e2", "type": "heartbeat", "at": 1_700_000_000_000, "data": {"n": 1}}]
    url = f"/api/attempts/{attempt.pk}/events"
    first = alice_client.post(url, {"events": events}, content_type="application/json",
                              HTTP_AUTHORIZATION=bearer(attempt, alice_client))
    assert first.status_code == 200 and first.json() == {"accepted": 2, "duplicates": 0}
    again = alice_client.post(url, {"events": events}, content_type="application/json",
                              HTTP_AUTHORIZATION=bearer(attempt, alice_client))
    assert again.json() == {"accepted": 0, "duplicates": 2}
    assert AttemptEvent.objects.filter(attempt=attempt).count() == 2
    assert AttemptEvent.objects.get(client_event_id="e1").offset_s is not None


def test_it_rejects_a_bad_event_batch_as_a_whole(alice_client, attempt):
    url = f"/api/attempts/{attempt.pk}/events"
    for body in ({"events": [{"id": "ok", "type": "copy", "at": 1}, {"id": "x", "type": "??",
                                                                       "at": 1}]},
                 {"events": []}, {"nope": 1}, {"events": [{"id": "y", "type": "copy"}]}):
        response = alice_client.post(url, body, content_type="application/json",
                                     HTTP_AUTHORIZATION=bearer(attempt, alice_client))
        assert response.status_code == 400, body
    response = alice_client.post(url, "{not json", content_type="application/json",
                                 HTTP_AUTHORIZATION=bearer(attempt, alice_client))
    assert response.status_code == 400
    assert not AttemptEvent.objects.exists()


def test_every_event_the_exam_page_sends_is_one_the_api_accepts():
    # A single unknown type makes the API refuse the whole batch (and the page drops it), so
    # the page's vocabulary and the server's must never drift apart.
    from pathlib import Path

    from proctor_lti.exams.vocabulary import EVENT_METRIC

    js = (Path(__file__).resolve().parents[2] / "static/js/exam-session.js").read_text()
    sent = set(re.findall(r'logEvent\(\s*"([a-z_]+)"', js))
    for listed in re.findall(r"for \(const type of \[([^\]]+)\]\)", js):
        sent |= set(re.findall(r'"([a-z_]+)"', listed))
    assert {"tab_hidden", "tab_visible", "window_focus", "fullscreen_enter"} <= sent
    assert sent - set(EVENT_METRIC) == set()


def test_uploads_keep_succeeding_while_the_cache_server_is_down(alice_client, attempt,
                                                                 webm_chunks, settings):
    # Production caches in Redis; every response reads the LMS frame origins from the cache.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:9/0"}}  # nothing listens
    assert put_chunk(alice_client, attempt, 0, webm_chunks[0]).status_code == 201
    assert Chunk.objects.count() == 1


def test_it_accepts_a_chunk_that_starts_like_chromiums_timeslice_chunks(alice_client, attempt):
    # First bytes of a real Chromium chunk (1 s timeslice): a SimpleBlock's size, track 1,
    # timecode, flags; its ID byte (A3) ended the previous chunk.
    body = bytes.fromhex("43c68103848 0fb03".replace(" ", "")) + os.urandom(2000)
    assert put_chunk(alice_client, attempt, 1, body, segment=0).status_code == 201
