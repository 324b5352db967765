"""Tool private keys are sealed with the master key (core.sealing) instead of stored in clear."""

from django.db import migrations


def seal_existing(apps, schema_editor):  # type: ignore[no-untyped-def]
    from proctor_lti.core import sealing

    ToolKey = apps.get_model("lti", "ToolKey")
    for key in ToolKey.objects.all():
        if not sealing.is_sealed(key.private_key_sealed):
            key.private_key_sealed = sealing.seal(key.private_key_sealed,
                                                  purpose=f"tool-key:{key.kid}")
            key.save(update_fields=["private_key_sealed"])


def unseal_existing(apps, schema_editor):  # type: ignore[no-untyped-def]
    from proctor_lti.core import sealing

    ToolKey = apps.get_model("lti", "ToolKey")
    for key in ToolKey.objects.all():
        if sealing.is_sealed(key.private_key_sealed):
            key.private_key_sealed = sealing.unseal(key.private_key_sealed,
                                                    purpose=f"tool-key:{key.kid}")
            key.save(update_fields=["private_key_sealed"])


class Migration(migrations.Migration):

    dependencies = [
        ("lti", "0002_platform_auto_add_deployments"),
    ]

    operations = [
        migrations.RenameField(model_name="toolkey", old_name="private_key_pem",
                               new_name="private_key_sealed"),
        migrations.RunPython(seal_existing, unseal_existing),
    ]
