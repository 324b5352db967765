"""Playback with Range for course staff only (audited); retention, purge, key rotation."""

from __future__ import annotations

import base64
import os
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from proctor_lti.core.models import AuditEntry
from proctor_lti.lti.models import Membership
from proctor_lti.recordings import crypto, retention
from proctor_lti.recordings.models import AttemptVault, Chunk, DeletionRecord
from tests.factories import MembershipFactory, UserFactory

from .conftest import put_chunk

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _isolated(media_root, memory_broker):  # type: ignore[no-untyped-def]
    yield


@pytest.fixture
def stored(alice_client, attempt, webm_chunks):  # type: ignore[no-untyped-def]
    for seq, body in enumerate(webm_chunks):
        assert put_chunk(alice_client, attempt, seq, body, start=seq * 5.0,
                         final=seq == len(webm_chunks) - 1).status_code == 201
    return b"".join(webm_chunks)


@pytest.fixture
def charlie_client(client, attempt):  # type: ignore[no-untyped-def]
    """Charlie teaches the course."""
    charlie = UserFactory(username="charlie")
    MembershipFactory(context=attempt.exam.context, user=charlie, role=Membership.Role.STAFF)
    client.force_login(charlie)
    return client


def test_staff_play_a_segment_with_range_requests_and_the_viewing_is_audited(
        charlie_client, attempt, stored):
    base = f"/api/attempts/{attempt.pk}/streams/webcam"
    index = charlie_client.get(f"{base}/segments").json()
    assert [s["index"] for s in index["segments"]] == [0]
    url = index["segments"][0]["url"]
    whole = charlie_client.get(url)
    assert whole.status_code == 200 and whole.content == stored
    assert whole["Accept-Ranges"] == "bytes" and whole["Content-Type"] == "video/webm"
    part = charlie_client.get(url, HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206 and part.content == stored[100:200]
    assert part["Content-Range"] == f"bytes 100-199/{len(stored)}"
    tail = charlie_client.get(url, HTTP_RANGE="bytes=-10")
    assert tail.content == stored[-10:]
    assert charlie_client.get(url, HTTP_RANGE=f"bytes={len(stored)}-").status_code == 416
    entries = AuditEntry.objects.filter(action=AuditEntry.Action.VIEW_MEDIA)
    assert entries.count() == 1 and entries.get().actor.username == "charlie"


def test_students_and_other_courses_staff_cannot_play(alice_client, client, attempt, stored):
    url = f"/api/attempts/{attempt.pk}/streams/webcam/segments/0/media"
    assert alice_client.get(url).status_code == 404  # the student herself
    dave = UserFactory(username="dave")
    MembershipFactory(user=dave, role=Membership.Role.STAFF)  # another course
    client.force_login(dave)
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code in (401, 403)
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.VIEW_MEDIA).exists()


def test_expired_media_is_purged_with_a_deletion_record(attempt, stored, media_root,
                                                        charlie_client):
    AttemptVault.objects.filter(attempt=attempt).update(
        retain_until=timezone.now() - timedelta(minutes=1))
    assert retention.retention_purge_expired() == 1
    assert not Chunk.objects.exists()
    assert not [p for p in media_root.rglob("*") if p.is_file()]
    record = DeletionRecord.objects.get()
    assert record.attempt_id_ref == attempt.pk and "3 media chunks" in record.what
    assert record.bytes_deleted > 0 and "retention" in record.reason
    vault = AttemptVault.objects.get(attempt=attempt)
    assert vault.purged_at and bytes(vault.wrapped_key) == b""
    assert retention.retention_purge_expired() == 0  # once only
    url = f"/api/attempts/{attempt.pk}/streams/webcam/segments/0/media"
    assert charlie_client.get(url).status_code == 404


def test_instructors_extend_retention_for_an_attempt_under_review(attempt, stored):
    until = timezone.now() + timedelta(days=365)
    retention.retention_extend(attempt=attempt, until=until, actor=None, reason="appeal")
    assert retention.retention_purge_expired(now=timezone.now() + timedelta(days=60)) == 0
    assert AuditEntry.objects.filter(action=AuditEntry.Action.RETENTION).count() == 1
    with pytest.raises(Exception, match="why"):
        retention.retention_extend(attempt=attempt, until=until, actor=None, reason=" ")
    # An earlier (or the same) date is refused, not reported as an extension.
    with pytest.raises(Exception, match="later date"):
        retention.retention_extend(attempt=attempt, until=until - timedelta(days=30),
                                   actor=None, reason="appeal")
    assert AuditEntry.objects.filter(action=AuditEntry.Action.RETENTION).count() == 1


def test_purging_twice_is_refused_and_writes_one_deletion_record(attempt, stored):
    from proctor_lti.recordings.models import DeletionRecord

    retention.attempt_media_purge(attempt=attempt, actor=None, reason="request")
    with pytest.raises(Exception, match="already deleted"):
        retention.attempt_media_purge(attempt=attempt, actor=None, reason="again")
    assert DeletionRecord.objects.count() == 1


def test_master_key_rotation_rewraps_keys_without_rewriting_media(attempt, stored, settings,
                                                                   media_root, capsys):
    files = {p: p.read_bytes() for p in media_root.rglob("*.enc")}
    old_id = AttemptVault.objects.get(attempt=attempt).master_key_id
    new_key = base64.b64encode(os.urandom(32)).decode()
    settings.MEDIA_MASTER_KEYS = [new_key, *settings.MEDIA_MASTER_KEYS]
    call_command("rotate_master_key")
    assert "re-wrapped 1" in capsys.readouterr().out
    vault = AttemptVault.objects.get(attempt=attempt)
    assert vault.master_key_id != old_id
    assert {p: p.read_bytes() for p in media_root.rglob("*.enc")} == files
    settings.MEDIA_MASTER_KEYS = [new_key]  # the old key is gone: media still decrypts
    crypto._cache.clear()
    chunk = Chunk.objects.get(seq=0)
    key = crypto.data_key(vault)
    assert crypto.decrypt(key, (media_root / chunk.storage_name).read_bytes(),
                          crypto.aad_for(attempt.pk, "webcam/0")).startswith(b"\x1a\x45\xdf\xa3")
