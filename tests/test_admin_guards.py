"""Admin cannot take the tool down or lose evidence by hand (found in a QA walk-through)."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import RequestFactory

from proctor_lti.exams.models import Attempt
from proctor_lti.lti.admin import PlatformForm
from proctor_lti.lti.middleware import forget_frame_origins, registered_frame_origins
from proctor_lti.lti.models import ToolKey
from proctor_lti.recordings.models import AttemptVault, Recording, Segment
from proctor_lti.review.models import Flag
from tests.factories import PlatformFactory


def _form(**overrides):  # type: ignore[no-untyped-def]
    data = {"name": "Canvas", "issuer": "https://canvas.instructure.com", "client_id": "1",
            "is_active": True, "auth_login_url": "https://sso.canvaslms.com/api/lti/authorize",
            "auth_token_url": "https://sso.canvaslms.com/login/oauth2/token",
            "key_set_url": "https://sso.canvaslms.com/api/lti/security/jwks",
            "auth_audience": "", "frame_origins": '["https://school.instructure.com/"]',
            "auto_add_deployments": False, "canvas_api_base_url": ""}
    data.update(overrides)
    return PlatformForm(data=data)


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ['["*"]', '["javascript:alert(1)"]', "[5]",
                                 '["https://school.instructure.com/courses/1"]', '"x"'])
def test_frame_origins_must_be_origins(bad: str) -> None:
    form = _form(frame_origins=bad)
    assert not form.is_valid() and "frame_origins" in form.errors


@pytest.mark.django_db
def test_frame_origins_are_normalised() -> None:
    form = _form()
    assert form.is_valid(), form.errors
    assert form.cleaned_data["frame_origins"] == ["https://school.instructure.com"]


@pytest.mark.django_db
def test_a_malformed_stored_frame_origin_does_not_break_every_page(client) -> None:
    PlatformFactory(frame_origins=["https://ok.example.edu", 5, None])
    forget_frame_origins()
    assert "https://ok.example.edu" in registered_frame_origins()
    assert client.get("/healthz").status_code in (200, 503)


@pytest.mark.parametrize("model", [Attempt, Recording, Segment, AttemptVault, Flag, ToolKey])
def test_evidence_and_keys_cannot_be_deleted_or_added_by_hand(model, admin_user) -> None:
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    model_admin = admin.site._registry[model]
    assert not model_admin.has_delete_permission(request)
    assert not model_admin.has_add_permission(request)


@pytest.mark.parametrize("field, value", [("duration_minutes", "5000"),
                                          ("exam_url", "ftp://example.com/quiz"),
                                          ("retention_days", "99999")])
def test_exam_admin_turns_invalid_settings_into_form_errors(field, value, admin_client) -> None:
    from proctor_lti.exams.settings_schema import preset_values
    from tests.factories import ExamFactory

    exam = ExamFactory()
    for group, values in preset_values("minimal").items():
        setattr(exam, group, values)
    exam.save()
    url = f"/admin/exams/exam/{exam.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {k: ("" if v is None else v) for k, v in form.initial.items()
            if k in form.fields and not isinstance(v, (list, dict))}
    data.update({"title": exam.title, "delivery": exam.delivery, field: value,
                 "retention_days": data.get("retention_days", 30) if field != "retention_days"
                 else value})
    for prefix in ("accommodations",):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    response = admin_client.post(url, data)
    assert response.status_code == 200, response.status_code  # the form again, not a 500
    assert response.context["adminform"].form.errors or response.context["errors"]
    exam.refresh_from_db()
    assert str(getattr(exam, field)) != value
