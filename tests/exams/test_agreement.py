from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from proctor_lti.exams.models import AgreementVersion


@pytest.mark.django_db
def test_publishing_makes_a_new_current_version_and_keeps_the_old_ones(tmp_path) -> None:
    call_command("agreement_publish")
    text = tmp_path / "agreement.txt"
    text.write_text("Our own rules.", encoding="utf-8")
    call_command("agreement_publish", "--file", str(text), "--title", "Code of conduct")
    versions = list(AgreementVersion.objects.order_by("version"))
    assert [v.version for v in versions] == [1, 2]
    assert [v.is_current for v in versions] == [False, True]
    assert versions[1].text == "Our own rules." and versions[1].title == "Code of conduct"


@pytest.mark.django_db
def test_if_missing_does_not_replace_a_published_agreement() -> None:
    call_command("agreement_publish")
    call_command("agreement_publish", "--if-missing")
    assert AgreementVersion.objects.count() == 1


@pytest.mark.django_db
def test_an_empty_or_missing_file_is_refused(tmp_path) -> None:
    with pytest.raises(CommandError):
        call_command("agreement_publish", "--file", str(tmp_path / "nope.txt"))
    empty = tmp_path / "empty.txt"
    empty.write_text("  ")
    with pytest.raises(CommandError):
        call_command("agreement_publish", "--file", str(empty))


def test_the_admin_never_edits_a_published_version_in_place(admin_client, db) -> None:
    response = admin_client.post(
        "/admin/exams/agreementversion/add/", {"title": "Agreement", "text": "Version one"}
    )
    assert response.status_code == 302
    first = AgreementVersion.objects.get()
    assert first.is_current and first.version == 1
    page = admin_client.get(f"/admin/exams/agreementversion/{first.pk}/change/").content.decode()
    assert 'name="text"' not in page  # read-only once published
    admin_client.post("/admin/exams/agreementversion/add/", {"title": "Agreement", "text": "Two"})
    assert AgreementVersion.objects.get(is_current=True).version == 2
