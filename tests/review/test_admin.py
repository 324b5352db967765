"""Django admin: the read-only, exportable audit log and the operator actions on attempts."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from proctor_lti.core.models import AuditEntry
from proctor_lti.recordings import crypto
from proctor_lti.recordings.models import DeletionRecord, Recording, Segment
from proctor_lti.review.services import review_note_add
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(client):  # type: ignore[no-untyped-def]
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def test_the_audit_log_is_read_only_and_exports_as_csv(client, world, operator):
    review_note_add(attempt=world.attempt_charlie, actor=world.alice, text="n")
    url = reverse("admin:core_auditentry_changelist")
    page = client.get(url)
    assert page.status_code == 200 and "review" in page.content.decode()
    entry = AuditEntry.objects.get()
    assert client.get(reverse("admin:core_auditentry_add")).status_code == 403
    detail = client.get(reverse("admin:core_auditentry_change", args=[entry.pk]))
    assert detail.status_code == 200 and b'name="_save"' not in detail.content
    response = client.post(url, {"action": "export_csv", ACTION_CHECKBOX_NAME: [entry.pk]})
    body = b"".join(response.streaming_content).decode()
    assert body.splitlines()[0].startswith("at,actor,action,target")
    assert "alice.instructor,review," in body
    assert AuditEntry.objects.filter(action="export", detail__export="audit_csv").exists()
    # Deleting from the log is impossible, even for a superuser.
    response = client.post(url, {"action": "delete_selected", ACTION_CHECKBOX_NAME: [entry.pk]})
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_purging_media_from_admin_asks_for_a_reason_and_records_it(client, world, operator):
    crypto.vault_for(world.attempt_charlie.pk)
    url = reverse("admin:review_attemptoperations_changelist")
    first = client.post(url, {"action": "purge_media",
                              ACTION_CHECKBOX_NAME: [world.attempt_charlie.pk]})
    assert first.status_code == 200 and b"Reason" in first.content
    assert not DeletionRecord.objects.exists()
    done = client.post(url, {"action": "purge_media", "apply": "1", "reason": "Student request",
                             ACTION_CHECKBOX_NAME: [world.attempt_charlie.pk]})
    assert done.status_code == 302
    record = DeletionRecord.objects.get()
    assert record.reason == "Student request" and record.attempt_id_ref == world.attempt_charlie.pk


def test_extending_retention_from_admin_needs_a_future_date_and_reason(client, world, operator):
    vault = crypto.vault_for(world.attempt_charlie.pk)
    url = reverse("admin:review_attemptoperations_changelist")
    client.post(url, {"action": "extend_retention", "apply": "1", "until": "2999-01-01",
                      "reason": "Misconduct hearing", ACTION_CHECKBOX_NAME: [vault.attempt_id]})
    vault.refresh_from_db()
    assert vault.retain_until is not None and vault.retain_until.year == 2999


def test_rerunning_analysis_requeues_the_webcam_segments(client, world, operator, monkeypatch,
                                                         django_capture_on_commit_callbacks):
    rec = Recording.objects.create(attempt=world.attempt_charlie, kind="webcam")
    done = Segment.objects.create(recording=rec, index=0, status="done")
    failed = Segment.objects.create(recording=rec, index=1, status="failed", error="bad")
    url = reverse("admin:review_attemptoperations_changelist")
    sent: list[list[int]] = []
    # The broker is the edge of the world here: record what would be sent.
    monkeypatch.setattr("proctor_lti.recordings.services.segments_enqueue",
                        lambda *, segment_ids: sent.append(segment_ids) or len(segment_ids))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"action": "rerun_analysis",
                          ACTION_CHECKBOX_NAME: [world.attempt_charlie.pk]})
    assert sorted(sent[0]) == sorted([done.pk, failed.pk])
    done.refresh_from_db()
    failed.refresh_from_db()
    assert done.status == failed.status == "stored" and failed.error == ""
    assert AuditEntry.objects.filter(detail__event="analysis_rerun").exists()


def test_flags_and_attempts_are_listed_in_admin(client, world, operator):
    assert client.get(reverse("admin:review_flag_changelist")).status_code == 200
    page = client.get(reverse("admin:review_flag_change", args=[world.flag_charlie.pk]))
    assert page.status_code == 200
    assert client.get(reverse("admin:review_attemptoperations_changelist")).status_code == 200
    assert client.get(reverse("admin:review_attemptscore_changelist")).status_code == 200
