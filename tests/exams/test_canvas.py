"""Canvas quiz access codes against a loopback HTTP server standing in for Canvas."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from django.utils import timezone

from proctor_lti.core.errors import UserFacingError
from proctor_lti.exams import canvas
from proctor_lti.exams.models import CanvasQuizAccess, Exam


class FakeCanvas(BaseHTTPRequestHandler):
    calls: list = []
    status = 200
    delay = 0.0

    def do_PUT(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        type(self).calls.append(
            {"path": self.path, "auth": self.headers["Authorization"], "form": parse_qs(body)}
        )
        time.sleep(type(self).delay)
        self.send_response(type(self).status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
        pass


@pytest.fixture
def fake_canvas():  # type: ignore[no-untyped-def]
    FakeCanvas.calls, FakeCanvas.status, FakeCanvas.delay = [], 200, 0.0
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeCanvas)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def canvas_exam(world, fake_canvas):  # type: ignore[no-untyped-def]
    world.platform.canvas_api_base_url = fake_canvas
    world.platform.save()
    world.course_a.lms_course_id = "101"
    world.course_a.save()
    world.exam.lms_assignment_id = "55"
    world.exam.save()
    CanvasQuizAccess.objects.create(context=world.course_a, api_token="canvas-token-xyz")
    return Exam.objects.get(pk=world.exam.pk)


def test_it_sets_a_random_code_on_the_quiz_and_keeps_it_on_the_exam(canvas_exam) -> None:
    code = canvas.canvas_access_code_set(exam=canvas_exam)
    call = FakeCanvas.calls[0]
    assert call["path"] == "/api/v1/courses/101/quizzes/55"
    assert call["auth"] == "Bearer canvas-token-xyz"
    assert call["form"]["quiz[access_code]"] == [code]
    assert len(code) == 10 and not set(code) & set("O0I1")
    canvas_exam.refresh_from_db()
    assert canvas_exam.access_code == code and canvas_exam.access_code_set_at


def test_a_refusal_keeps_the_old_code_and_records_the_error(canvas_exam) -> None:
    FakeCanvas.status = 401
    with pytest.raises(UserFacingError) as err:
        canvas.canvas_access_code_set(exam=canvas_exam)
    assert err.value.code == "canvas_refused"
    canvas_exam.refresh_from_db()
    assert canvas_exam.access_code == "SECRET-CODE-7731"
    assert CanvasQuizAccess.objects.get().last_error == "HTTP 401"


def test_a_silent_canvas_times_out(canvas_exam, settings) -> None:
    settings.LTI_HTTP_TIMEOUT_SECONDS = 0.3
    FakeCanvas.delay = 1.0
    with pytest.raises(UserFacingError) as err:
        canvas.canvas_access_code_set(exam=canvas_exam)
    assert err.value.code == "canvas_timeout"


def test_codes_rotate_once_after_the_exam_window_closes(canvas_exam) -> None:
    first = canvas.canvas_access_code_set(exam=canvas_exam)
    canvas_exam.window_closes_at = timezone.now() + timedelta(hours=1)
    canvas_exam.save()
    assert canvas.canvas_access_codes_rotate_due() == 0  # window still open
    Exam.objects.filter(pk=canvas_exam.pk).update(window_closes_at=timezone.now())
    assert canvas.canvas_access_codes_rotate_due() == 1
    canvas_exam.refresh_from_db()
    assert canvas_exam.access_code != first
    assert canvas.canvas_access_codes_rotate_due() == 0  # already rotated for this window


def test_without_canvas_configuration_it_says_what_is_missing(world) -> None:
    with pytest.raises(UserFacingError) as err:
        canvas.canvas_access_code_set(exam=world.exam)
    assert err.value.code == "canvas_not_configured"


def test_an_instructor_sets_a_code_from_the_settings_page(canvas_exam, world) -> None:
    from django.test import Client
    from django.urls import reverse

    c = Client()
    c.force_login(world.alice)
    assert b"canvas-code-set" in c.get(reverse("exams:settings", args=[canvas_exam.pk])).content
    r = c.post(reverse("exams:canvas_code_set", args=[canvas_exam.pk]))
    assert r.status_code == 302
    canvas_exam.refresh_from_db()
    assert FakeCanvas.calls[-1]["form"]["quiz[access_code]"] == [canvas_exam.access_code]
    c.force_login(world.charlie)
    assert c.post(reverse("exams:canvas_code_set", args=[canvas_exam.pk])).status_code == 404


def test_the_canvas_token_is_sealed_in_the_database_and_resealed_on_rotation(
        canvas_exam, settings) -> None:
    from django.core.management import call_command

    from proctor_lti.core import sealing

    access = CanvasQuizAccess.objects.get(context=canvas_exam.context)
    assert sealing.is_sealed(access.api_token) and "canvas-token-xyz" not in access.api_token
    old = list(settings.MEDIA_MASTER_KEYS)
    settings.MEDIA_MASTER_KEYS = ["C" * 43 + "=", *old]
    call_command("rotate_master_key", stdout=__import__("io").StringIO())
    settings.MEDIA_MASTER_KEYS = ["C" * 43 + "="]  # the old master key is gone
    canvas.canvas_access_code_set(exam=canvas_exam)
    assert FakeCanvas.calls[-1]["auth"] == "Bearer canvas-token-xyz"
