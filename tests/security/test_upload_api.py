"""The upload API under hostile input from the signed-in student: 4xx, never a 500."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from proctor_lti.exams.models import Attempt
from proctor_lti.recordings import tokens
from tests.factories import AttemptFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def attempt() -> Attempt:
    return AttemptFactory(user=UserFactory(), status=Attempt.Status.IN_PROGRESS,
                          started_at=timezone.now())


@pytest.fixture
def student(attempt) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(attempt.user)
    return client


def _key(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def _auth(attempt: Attempt, client: Client) -> dict[str, str]:
    token = tokens.token_issue(attempt=attempt, session_key=_key(client))[0]
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.mark.parametrize("body", [
    "[" * 100_000,
    '{"events": ' + "[" * 100_000 + "]" * 100_000 + "}",
    '{"events": [' + '{"data": ' * 50_000 + "1" + "}" * 50_000 + "]}",
], ids=["deep-array", "deep-events", "deep-objects"])
def test_it_refuses_absurdly_nested_json_events_with_a_4xx(student, attempt, body):
    response = student.post(f"/api/attempts/{attempt.pk}/events", body,
                            content_type="application/json", **_auth(attempt, student))
    assert 400 <= response.status_code < 500


def test_it_refuses_a_token_of_another_attempt_of_the_same_student(student, attempt):
    other = AttemptFactory(user=attempt.user, exam=attempt.exam, number=attempt.number + 1,
                           status=Attempt.Status.IN_PROGRESS, started_at=timezone.now())
    response = student.post(f"/api/attempts/{attempt.pk}/events", {"events": []},
                            content_type="application/json", **_auth(other, student))
    assert response.status_code == 401


def test_it_refuses_an_expired_token(student, attempt):
    token, _ = tokens.token_issue(attempt=attempt, session_key=_key(student),
                                  now=timezone.now().timestamp() - 3600)
    response = student.post(f"/api/attempts/{attempt.pk}/events", {"events": []},
                            content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401
    assert response.json()["error"] == "token_expired"


def test_it_refuses_a_token_whose_signature_was_altered(student, attempt):
    token, _ = tokens.token_issue(attempt=attempt, session_key=_key(student))
    forged = token[:-1] + ("0" if token[-1] != "0" else "1")
    response = student.post(f"/api/attempts/{attempt.pk}/events", {"events": []},
                            content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert response.status_code == 401


def test_a_forged_cross_site_upload_without_the_bearer_token_is_refused(student, attempt):
    response = student.post(f"/api/attempts/{attempt.pk}/streams/webcam/chunks/0",
                            b"\x1a\x45\xdf\xa3" + b"\0" * 100, content_type="video/webm",
                            HTTP_X_CHUNK_SHA256="0" * 64)
    assert response.status_code == 401


@pytest.mark.parametrize("event", [
    {"id": "e\x00", "type": "heartbeat", "at": 1_700_000_000_000},
    {"id": "e1", "type": "heartbeat", "at": 1_700_000_000_000, "data": {"k": "v\x00"}},
    {"id": "e1", "type": "heartbeat", "at": 1_700_000_000_000, "data": {"k\x00": 1}},
], ids=["nul-id", "nul-data-value", "nul-data-key"])
def test_it_refuses_events_with_nul_characters_as_bad_input_not_retry_later(student, attempt,
                                                                            event):
    # PostgreSQL cannot store NUL in text or jsonb; a 503 would make the client retry for ever.
    response = student.post(f"/api/attempts/{attempt.pk}/events", {"events": [event]},
                            content_type="application/json", **_auth(attempt, student))
    assert response.status_code == 400
