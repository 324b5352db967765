"""Who may upload (upload_access.py, tokens.py): the session, the owner, a session-bound token.

The upload path checks the session in its own single query instead of Django's middleware, so
these tests pin it to what Django would decide, and bound the queries a chunk costs.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.utils import timezone

from proctor_lti.exams.models import Attempt
from proctor_lti.recordings import tokens
from proctor_lti.recordings.models import Chunk
from tests.factories import AttemptFactory

from .conftest import CLUSTER, LaneClient, bearer, put_chunk, session_key

pytestmark = [pytest.mark.django_db(transaction=True)]

EBML = b"\x1a\x45\xdf\xa3"


@pytest.fixture(autouse=True)
def _isolated(media_root, memory_broker):  # type: ignore[no-untyped-def]
    yield


def _chunk(client: Client, attempt: Attempt, seq: int, *, auth: str | None = None,
           segment: int = 0, final: bool = False, header: bool = False):  # type: ignore[no-untyped-def]
    body = (EBML if header else CLUSTER) + bytes([seq % 256]) * 300
    return put_chunk(client, attempt, seq, body, segment=segment, final=final, auth=auth)


def test_a_token_issued_to_one_session_is_refused_in_another_session_of_the_same_student(
        alice, attempt):
    first, second = LaneClient(), LaneClient()
    first.force_login(alice)
    second.force_login(alice)
    assert session_key(first) != session_key(second)
    token = first.post(f"/api/attempts/{attempt.pk}/upload-token").json()["token"]
    assert _chunk(first, attempt, 0, auth=f"Bearer {token}").status_code == 201
    response = _chunk(second, attempt, 1, auth=f"Bearer {token}")
    assert response.status_code == 401 and response.json()["error"] == "token_mismatch"
    assert Chunk.objects.count() == 1


def test_a_token_stops_working_when_its_session_is_logged_out(alice_client, attempt):
    auth = bearer(attempt, alice_client)
    cookie = session_key(alice_client)
    alice_client.logout()
    alice_client.cookies[settings.SESSION_COOKIE_NAME] = cookie  # a copied cookie, replayed
    response = _chunk(alice_client, attempt, 0, auth=auth)
    assert response.status_code == 401 and response.json()["error"] == "not_signed_in"
    assert not Chunk.objects.exists()


def test_an_expired_session_row_is_not_signed_in(alice_client, attempt):
    auth = bearer(attempt, alice_client)
    Session.objects.filter(session_key=session_key(alice_client)).update(
        expire_date=timezone.now() - timezone.timedelta(seconds=1))
    assert _chunk(alice_client, attempt, 0, auth=auth).status_code == 401


def test_a_session_made_before_a_password_change_is_refused(alice, alice_client, attempt):
    auth = bearer(attempt, alice_client)
    alice.set_password("a new one")  # Django invalidates sessions with the old auth hash
    alice.save()
    response = _chunk(alice_client, attempt, 0, auth=auth)
    assert response.status_code == 401 and response.json()["error"] == "not_signed_in"


def test_a_deactivated_student_cannot_upload(alice, alice_client, attempt):
    auth = bearer(attempt, alice_client)
    type(alice).objects.filter(pk=alice.pk).update(is_active=False)
    assert _chunk(alice_client, attempt, 0, auth=auth).status_code == 401


def test_a_session_naming_another_backend_goes_through_django_and_is_refused(
        alice_client, attempt):
    auth = bearer(attempt, alice_client)
    store = Session.objects.get(session_key=session_key(alice_client))
    data = store.get_decoded()
    data["_auth_user_backend"] = "some.removed.Backend"
    Session.objects.save(store.session_key, data, store.expire_date)
    assert _chunk(alice_client, attempt, 0, auth=auth).status_code == 401


def test_tokens_of_another_attempt_forged_or_expired_are_refused_for_chunks(
        alice, alice_client, attempt, settings):
    other = AttemptFactory(user=alice, exam=attempt.exam, number=attempt.number + 1,
                           status=Attempt.Status.IN_PROGRESS, started_at=timezone.now())
    key = session_key(alice_client)
    valid = tokens.token_issue(attempt=attempt, session_key=key)[0]
    expired = tokens.token_issue(attempt=attempt, session_key=key,
                                 now=timezone.now().timestamp() - 3600)[0]
    for token, code in ((tokens.token_issue(attempt=other, session_key=key)[0], "token_mismatch"),
                        (valid[:-2] + ("00" if valid[-2:] != "00" else "11"), "token_mismatch"),
                        ("1.2.3", "token_malformed"),
                        (f"{attempt.pk}.{alice.pk}.99999999999.{valid.rsplit('.', 1)[1]}",
                         "token_mismatch"),  # expiry moved: the signature no longer matches
                        (expired, "token_expired")):
        response = _chunk(alice_client, attempt, 0, auth=f"Bearer {token}")
        assert (response.status_code, response.json()["error"]) == (401, code), token
    assert not Chunk.objects.exists()


def test_an_upload_answer_is_json_that_no_page_may_frame(alice_client, attempt):
    response = _chunk(alice_client, attempt, 0, header=True)
    assert response.status_code == 201
    assert response["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"


def test_a_chunk_and_an_event_batch_cost_a_handful_of_queries(
        alice_client, attempt, django_assert_max_num_queries):
    # The stream's first chunk creates its recording and the attempt's vault; later ones
    # are the hot path: access (one query), the write, the segment's completeness.
    assert _chunk(alice_client, attempt, 0, header=True).status_code == 201
    postgres = connection.vendor == "postgresql"
    with django_assert_max_num_queries(3 if postgres else 7):
        assert _chunk(alice_client, attempt, 1).status_code == 201
    # The end of a segment also closes it and marks it queued once the broker has it.
    with django_assert_max_num_queries(5 if postgres else 9):
        assert _chunk(alice_client, attempt, 2, final=True).status_code == 201
    with django_assert_max_num_queries(2):
        response = alice_client.post(
            f"/api/attempts/{attempt.pk}/events",
            {"events": [{"id": "e1", "type": "heartbeat", "at": 1_700_000_000_000}]},
            content_type="application/json", HTTP_AUTHORIZATION=bearer(attempt, alice_client))
        assert response.json() == {"accepted": 1, "duplicates": 0}
