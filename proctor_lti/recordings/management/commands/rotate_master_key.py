"""Re-wrap every attempt's data key, and re-seal the tool's private keys and Canvas API
tokens, with the current master key (media is not rewritten).

Rotation: put the new key first in MEDIA_MASTER_KEYS, keep the old one after it, run this
command, then remove the old key once it reports `missing 0` and nothing left to re-wrap.
"""

from django.core.management.base import BaseCommand

from proctor_lti.core.audit import audit_record
from proctor_lti.core.models import AuditEntry
from proctor_lti.exams.canvas import canvas_tokens_reseal
from proctor_lti.lti.keys import tool_keys_reseal
from proctor_lti.recordings import crypto


class Command(BaseCommand):
    help = "Re-wrap attempt data keys with the first key of MEDIA_MASTER_KEYS."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        counts = crypto.vaults_rewrap(dry_run=options["dry_run"])
        tool_keys = tool_keys_reseal(dry_run=options["dry_run"])
        canvas = canvas_tokens_reseal(dry_run=options["dry_run"])
        current = crypto.master_keys()[0][0]
        if not options["dry_run"]:
            audit_record(actor=None, action=AuditEntry.Action.KEY, target="recordings.vault:*",
                         detail={"current_master_key": current, **counts,
                                 "tool_keys": tool_keys, "canvas_tokens": canvas})
        self.stdout.write(
            f"current master key {current}: re-wrapped {counts['rewrapped']}"
            f"{' (dry run)' if options['dry_run'] else ''}, already current {counts['current']}, "
            f"purged {counts['purged']}, missing key {counts['missing']}; tool keys re-sealed "
            f"{tool_keys['resealed']}, already current {tool_keys['current']}, "
            f"missing key {tool_keys['missing']}; Canvas tokens re-sealed {canvas['resealed']}, "
            f"missing key {canvas['missing']}")
        if counts["missing"] or tool_keys["missing"] or canvas["missing"]:
            self.stderr.write("Some vaults, tool keys or Canvas tokens were sealed by a master "
                              "key that is not configured: keep every old key in "
                              "MEDIA_MASTER_KEYS until this reaches 0.")
