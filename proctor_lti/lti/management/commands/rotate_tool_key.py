"""manage.py rotate_tool_key: one step of the tool key rotation (see proctor_lti/lti/keys.py)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from proctor_lti.core.audit import audit_record
from proctor_lti.core.models import AuditEntry
from proctor_lti.lti.keys import tool_key_rotate
from proctor_lti.lti.models import ToolKey


class Command(BaseCommand):
    help = (
        "Rotate the tool's signing key in two steps. First run: publish a NEXT key in /lti/jwks/ "
        "(nothing is signed with it yet). Wait at least an hour so platforms refresh their copy "
        "of our key set, then run again: the next key becomes ACTIVE and the old one RETIRED."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        key = tool_key_rotate()
        audit_record(actor=None, action=AuditEntry.Action.KEY, target=key,
                     detail={"kid": key.kid, "state": key.state, "via": "rotate_tool_key"})
        if key.state == ToolKey.State.NEXT:
            self.stdout.write(self.style.SUCCESS(
                f"Published next key {key.kid}. Run rotate_tool_key again in an hour or more "
                "to start signing with it."
            ))
        else:
            self.stdout.write(self.style.SUCCESS(
                f"Key {key.kid} is now active; the previous key is retired."
            ))
