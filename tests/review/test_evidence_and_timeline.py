"""Evidence thumbnails through the audited endpoint, and the SVG timeline."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse

from detection.results import Flag as DetFlag
from proctor_lti.core.models import AuditEntry
from proctor_lti.recordings import crypto
from proctor_lti.recordings.storage import media_write
from proctor_lti.review import services
from proctor_lti.review.models import Evidence
from proctor_lti.review.timeline import TLEvent, TLFlag, render_timeline

pytestmark = pytest.mark.django_db
JPEG = b"\xff\xd8\xff\xe0 evidence frame \xff\xd9"


@pytest.fixture
def media_dir(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path)}}}
    return tmp_path


def stored_by_recordings(attempt_id: int, t: float) -> str:
    """A thumbnail written the way recordings.analysis writes it."""
    name = f"recordings/{attempt_id}/evidence/7-{round(t * 1000)}.enc"
    key = crypto.data_key(crypto.vault_for(attempt_id))
    media_write(name, crypto.encrypt(key, JPEG, crypto.aad_for(attempt_id, f"evidence/{name}")))
    return name


def test_recordings_thumbnails_are_linked_to_flags_and_served_audited(client, world, media_dir):
    a = world.attempt_dave
    name = stored_by_recordings(a.pk, 12.5)
    flag = DetFlag("multiple_faces", 10, 20, 0.8, {"rule": "r", "evidence_timestamps": [12.5]})
    services.flags_replace_from_detection(attempt=a, flags=[flag], evidence={12.5: name})
    ev = Evidence.objects.get(flag__attempt=a)
    client.force_login(world.alice)
    response = client.get(reverse("review:evidence", args=[ev.pk]))
    assert response.status_code == 200 and response.content == JPEG
    assert response["Cache-Control"] == "private, no-store"
    entry = AuditEntry.objects.get(action=AuditEntry.Action.VIEW_EVIDENCE)
    assert entry.actor == world.alice and entry.detail["attempt"] == a.pk
    # A reload within the window is the same viewing; another person is a new one.
    client.get(reverse("review:evidence", args=[ev.pk]))
    assert AuditEntry.objects.filter(action=AuditEntry.Action.VIEW_EVIDENCE).count() == 1
    client.force_login(world.charlie)
    world.exam_a.students_see_own_flags = True
    world.exam_a.save()
    assert client.get(reverse("review:evidence", args=[ev.pk])).status_code == 404
    client.force_login(world.dave)
    assert client.get(reverse("review:my_evidence", args=[ev.pk])).content == JPEG
    assert AuditEntry.objects.filter(action=AuditEntry.Action.VIEW_EVIDENCE).count() == 2
    client.force_login(world.alice)
    page = client.get(reverse("review:attempt", args=[a.pk])).content.decode()
    assert reverse("review:evidence", args=[ev.pk]) in page


def test_a_purged_attempts_evidence_answers_gone_not_an_error(client, world, media_dir):
    a = world.attempt_dave
    name = stored_by_recordings(a.pk, 3.0)
    services.flags_replace_from_detection(
        attempt=a, flags=[DetFlag("no_face", 1, 9, 0.9, {"rule": "r"})], evidence={3.0: name})
    from proctor_lti.recordings.retention import attempt_media_purge

    attempt_media_purge(attempt=a, actor=None, reason="test")
    client.force_login(world.alice)
    ev = Evidence.objects.get(flag__attempt=a)
    response = client.get(reverse("review:evidence", args=[ev.pk]))
    assert response.status_code in (404, 410)


def test_the_timeline_is_valid_svg_with_labelled_lanes_and_focusable_flags():
    svg = render_timeline(
        duration_s=1800,
        flags=[TLFlag(1, "multiple_faces", 60, 90, "open", 0.9),
               TLFlag(2, "looking_away", 300, 330, "dismissed", 0.7),
               TLFlag(3, "multiple_faces", 900, 960, "confirmed", 0.95)],
        events=[TLEvent("tab_hidden", 120)], gaps=[(400, 430, "webcam upload")])
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    ns = "{http://www.w3.org/2000/svg}"
    assert root.get("role") == "group" and root.find(f"{ns}title") is not None
    assert root.find(f"{ns}desc") is not None
    labels = [t.text for t in root.iter(f"{ns}text") if t.get("class") == "tl-lane-label"]
    assert labels == ["Looking away", "More than one face", "Lockdown events",
                      "Upload / network gaps"]
    links = [a for a in root.iter(f"{ns}a") if a.get("class") == "tl-flag"]
    assert [a.get("data-start") for a in links] == ["60.000", "300.000", "900.000"]
    assert all(a.get("href", "").startswith("#flag-") and a.get("aria-label") for a in links)
    # Lanes differ by pattern, not only colour.
    fills = {a.get("data-type"): a.find(f"{ns}rect").get("fill") for a in links}
    assert fills["multiple_faces"] != fills["looking_away"]
    assert "dismissed" in links[1].get("aria-label")


def test_the_timeline_escapes_unexpected_flag_types():
    svg = render_timeline(duration_s=60, flags=[TLFlag(1, "<script>x", 1, 2, "open", 1)],
                          events=[], gaps=[])
    assert "<script>" not in svg
    ET.fromstring(svg)  # noqa: S314 - our own output


def test_the_student_page_says_what_is_kept_and_until_when(client, world, media_dir):
    from datetime import timedelta

    from django.utils import timezone

    from proctor_lti.recordings.models import Recording

    world.exam_a.students_see_own_flags = True
    world.exam_a.save()
    Recording.objects.create(attempt=world.attempt_charlie, kind="webcam", bytes_stored=2048)
    vault = crypto.vault_for(world.attempt_charlie.pk)
    vault.retain_until = timezone.now() + timedelta(days=30)
    vault.save()
    client.force_login(world.charlie)
    body = client.get(reverse("review:my_attempt", args=[world.attempt_charlie.pk])).content
    text = body.decode()
    assert "Webcam and microphone" in text and "2.0" in text and "kept, encrypted, until" in text
    from proctor_lti.recordings.retention import attempt_media_purge

    attempt_media_purge(attempt=world.attempt_charlie, actor=None, reason="test")
    text = client.get(reverse("review:my_attempt", args=[world.attempt_charlie.pk])
                      ).content.decode()
    assert "were deleted on" in text
    assert reverse("review:my_evidence", args=[world.evidence_charlie.pk]) not in text


def test_a_review_status_change_days_later_does_not_stretch_the_timeline(world):
    from datetime import timedelta

    from proctor_lti.exams.models import AttemptEvent
    from proctor_lti.review.detail import attempt_detail

    a = world.attempt_dave
    before = attempt_detail(attempt=a)["duration_s"]
    AttemptEvent.objects.create(attempt=a, client_event_id="srv-reviewed", type="status_change",
                                occurred_at=a.started_at + timedelta(days=3),
                                offset_s=3 * 86400, data={"to": "reviewed"})
    detail = attempt_detail(attempt=a)
    assert detail["duration_s"] == before
    svg_duration = float(detail["timeline_svg"].split('data-duration="')[1].split('"')[0])
    assert svg_duration <= max(before, 1.0) + 1
    assert any(e["event"].client_event_id == "srv-reviewed" for e in detail["events"])


def test_upload_gaps_sit_where_the_missing_chunks_were_recorded(world):
    from proctor_lti.recordings.models import Chunk, Recording
    from proctor_lti.review.detail import attempt_gaps

    a = world.attempt_dave
    rec = Recording.objects.create(attempt=a, kind="webcam", gaps=[[2, 3]])
    # Recording began 40 s into the exam; 6 s segments; chunks 2 and 3 never arrived.
    for seq, start in ((0, 40.0), (1, 46.0), (4, 64.0)):
        Chunk.objects.create(recording=rec, seq=seq, segment_index=seq, size=1, sha256="0" * 64,
                             storage_name=f"x{seq}", start_s=start)
    (gap,) = attempt_gaps(a, [], [rec])
    assert gap == (52.0, 64.0, "webcam upload")


def test_a_page_reload_shows_as_a_stretch_not_recorded(world):
    """The piece in the recorder when the page went away is lost: review says where."""
    from datetime import timedelta

    from proctor_lti.exams.models import AttemptEvent
    from proctor_lti.recordings.models import Chunk, Recording
    from proctor_lti.review.detail import attempt_gaps

    a = world.attempt_dave
    rec = Recording.objects.create(attempt=a, kind="webcam")
    for seq, start in ((0, 0.0), (1, 6.0), (2, 31.0)):  # reloaded at about 15 s
        Chunk.objects.create(recording=rec, seq=seq, segment_index=seq, size=1, sha256="0" * 64,
                             storage_name=f"r{seq}", start_s=start)
    resumed = AttemptEvent.objects.create(
        attempt=a, client_event_id="c-resumed", type="recording_resumed",
        occurred_at=a.started_at + timedelta(seconds=31), offset_s=31.0, data={})
    assert attempt_gaps(a, [resumed], [rec]) == [(12.0, 31.0, "page reload")]
    assert attempt_gaps(a, [], [rec]) == []
