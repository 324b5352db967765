"""Canvas API tokens are sealed with the master key (core.sealing) instead of stored in clear."""

from django.db import migrations

PURPOSE = "canvas-api-token"


def seal_existing(apps, schema_editor):  # type: ignore[no-untyped-def]
    from proctor_lti.core import sealing

    for access in apps.get_model("exams", "CanvasQuizAccess").objects.all():
        if access.api_token and not sealing.is_sealed(access.api_token):
            access.api_token = sealing.seal(access.api_token, purpose=PURPOSE)
            access.save(update_fields=["api_token"])


def unseal_existing(apps, schema_editor):  # type: ignore[no-untyped-def]
    from proctor_lti.core import sealing

    for access in apps.get_model("exams", "CanvasQuizAccess").objects.all():
        if sealing.is_sealed(access.api_token):
            access.api_token = sealing.unseal(access.api_token, purpose=PURPOSE)
            access.save(update_fields=["api_token"])


class Migration(migrations.Migration):

    dependencies = [
        ("exams", "0002_agreementversion_title_exam_access_code_set_at_and_more"),
    ]

    operations = [migrations.RunPython(seal_existing, unseal_existing)]
