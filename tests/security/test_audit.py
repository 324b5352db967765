"""Security-relevant administration leaves an audit entry (readable and exportable in admin)."""

from __future__ import annotations

import pytest
from django.contrib.admin.sites import site
from django.core.management import call_command
from django.test import RequestFactory

from proctor_lti.core.models import AuditEntry
from proctor_lti.lti.models import Platform
from tests.factories import PlatformFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator():  # type: ignore[no-untyped-def]
    return UserFactory(is_staff=True, is_superuser=True)


def _request(user):  # type: ignore[no-untyped-def]
    request = RequestFactory().post("/admin/")
    request.user = user
    return request


def test_changing_a_platform_registration_in_admin_is_audited(operator):
    platform = PlatformFactory()
    platform.key_set_url = "https://lms.example.edu/other-jwks"
    form = type("F", (), {"changed_data": ["key_set_url"]})()
    site._registry[Platform].save_model(_request(operator), platform, form, True)
    entry = AuditEntry.objects.get(action=AuditEntry.Action.ADMIN)
    assert entry.actor == operator
    assert entry.detail["changed"] == ["key_set_url"]
    assert str(platform.pk) in entry.target


def test_deleting_a_platform_registration_in_admin_is_audited(operator):
    platform = PlatformFactory()
    site._registry[Platform].delete_model(_request(operator), platform)
    assert AuditEntry.objects.filter(action=AuditEntry.Action.ADMIN, actor=operator,
                                     detail__deleted=platform.issuer).exists()


def test_deleting_platforms_in_bulk_in_admin_is_audited(operator):
    platforms = [PlatformFactory(), PlatformFactory()]
    site._registry[Platform].delete_queryset(
        _request(operator), Platform.objects.filter(pk__in=[p.pk for p in platforms]))
    assert AuditEntry.objects.filter(action=AuditEntry.Action.ADMIN, actor=operator).count() == 2


def test_rotating_the_tool_key_in_admin_is_audited(operator, client):
    from proctor_lti.lti.keys import tool_key_rotate

    key = tool_key_rotate()
    client.force_login(operator)
    response = client.post("/admin/lti/toolkey/", {"action": "rotate",
                                                   "_selected_action": [key.pk]}, secure=True)
    assert response.status_code == 302
    entries = AuditEntry.objects.filter(action=AuditEntry.Action.KEY, actor=operator)
    assert entries.count() == 1
    assert "private" not in str(entries[0].detail).lower()


def test_rotating_the_tool_key_from_the_command_line_is_audited():
    call_command("rotate_tool_key", stdout=open("/dev/null", "w"))  # noqa: SIM115
    entry = AuditEntry.objects.get(action=AuditEntry.Action.KEY)
    assert entry.actor is None and entry.detail["kid"]
