"""Admin behaviour shared by the records an exam leaves behind."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


class KeptRecordAdmin:
    """Evidence and its bookkeeping are never added or deleted by hand in the admin.

    Deleting an attempt (or its recordings, flags, keys...) from a changelist would skip the
    deletion record, the audit entry and the media files themselves; media go through the
    "Purge media now" action on attempts, which asks for a reason and records it.
    """

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
