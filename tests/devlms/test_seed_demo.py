"""manage.py seed_demo: the dev LMS registered with the tool, the demo course, idempotent."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from proctor_lti.devlms import roster
from proctor_lti.devlms.models import DevCourseLink, DevQuiz
from proctor_lti.exams.models import AgreementVersion, Exam
from proctor_lti.lti.models import Context, Deployment, Platform

pytestmark = pytest.mark.django_db


def _seed(**options) -> str:  # type: ignore[no-untyped-def]
    out = StringIO()
    call_command("seed_demo", "--base-url", "http://127.0.0.1:8000", stdout=out, **options)
    return out.getvalue()


def test_it_registers_the_dev_lms_and_seeds_the_demo_course(monkeypatch):
    monkeypatch.delenv("DEMO_ADMIN_PASSWORD", raising=False)
    output = _seed()
    platform = Platform.objects.get()
    assert platform.issuer == "http://127.0.0.1:8000/dev-lms"
    assert platform.auth_login_url == "http://127.0.0.1:8000/dev-lms/auth"
    assert platform.key_set_url == "http://127.0.0.1:8000/dev-lms/jwks"
    assert Deployment.objects.filter(platform=platform).count() == 1
    context = Context.objects.get(platform=platform, context_id=roster.COURSE_ID)
    gate = Exam.objects.get(context=context, delivery=Exam.Delivery.ACCESS_CODE)
    quiz = DevQuiz.objects.get()
    assert gate.access_code == quiz.access_code and gate.exam_url.endswith("/dev-lms/quiz/midterm/")
    assert Exam.objects.filter(context=context,
                               delivery=Exam.Delivery.PROCTORING_SERVICES).count() == 1
    assert DevCourseLink.objects.count() == 2
    assert AgreementVersion.objects.filter(is_current=True).count() == 1
    admin = get_user_model().objects.get(username="admin")
    password = output.split("password ", 1)[1].split()[0]
    assert admin.is_superuser and admin.check_password(password)


def test_running_it_again_changes_nothing_and_keeps_the_password(monkeypatch):
    monkeypatch.delenv("DEMO_ADMIN_PASSWORD", raising=False)
    _seed()
    code = DevQuiz.objects.get().access_code
    output = _seed()
    assert "password unchanged" in output
    assert (Platform.objects.count(), Exam.objects.count(), DevCourseLink.objects.count(),
            AgreementVersion.objects.count(), Context.objects.count()) == (1, 2, 2, 1, 1)
    assert DevQuiz.objects.get().access_code == code == Exam.objects.get(
        delivery=Exam.Delivery.ACCESS_CODE).access_code


def test_it_takes_the_admin_password_from_the_environment(monkeypatch):
    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", "correct horse battery")
    output = _seed()
    assert "correct horse battery" in output
    assert get_user_model().objects.get(username="admin").check_password("correct horse battery")


def test_a_separate_lms_host_makes_the_lms_and_the_tool_different_sites():
    _seed(lms_url="http://localhost:8000")
    platform = Platform.objects.get()
    assert platform.issuer == "http://localhost:8000/dev-lms"
    assert "http://localhost:8000" in platform.frame_origins


def test_it_refuses_when_the_dev_lms_is_off(settings):
    settings.DEV_LMS_ENABLED = False
    with pytest.raises(CommandError, match="development LMS is off"):
        _seed()
