"""The audit log in Django admin: read-only, filterable, exportable as CSV."""

from __future__ import annotations

import csv
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse

from .audit import audit_record
from .models import AuditEntry


class _Echo:
    def write(self, value: str) -> str:
        return value


def audit_csv_rows(queryset: QuerySet[AuditEntry]) -> Any:
    writer = csv.writer(_Echo())
    yield writer.writerow(["at", "actor", "action", "target", "context_id", "ip_address",
                           "detail"])
    for e in queryset.select_related("actor").order_by("at", "pk").iterator(chunk_size=2000):
        actor = e.actor.get_username() if e.actor else ""
        detail = str(e.detail)
        if detail[:1] in ("=", "+", "-", "@"):
            detail = "'" + detail
        yield writer.writerow([e.at.isoformat(), actor, e.action, e.target,
                               e.context_id or "", e.ip_address or "", detail])


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "actor", "action", "target", "context_id", "ip_address")
    list_filter = ("action", "at")
    search_fields = ("target", "actor__username", "ip_address")
    date_hierarchy = "at"
    list_select_related = ("actor",)
    readonly_fields = ("at", "actor", "action", "target", "context_id", "detail", "ip_address")
    actions = ["export_csv"]

    # The log is evidence: nobody edits or deletes it, not even a superuser.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Export selected entries as CSV")
    def export_csv(self, request: HttpRequest, queryset: QuerySet[AuditEntry]
                   ) -> StreamingHttpResponse:
        audit_record(actor=request.user, action=AuditEntry.Action.EXPORT, target="core.auditentry",
                     request=request, detail={"export": "audit_csv", "rows": queryset.count()})
        response = StreamingHttpResponse(audit_csv_rows(queryset),
                                         content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
        return response
