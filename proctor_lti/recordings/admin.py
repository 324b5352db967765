from django.contrib import admin

from proctor_lti.core.admin_mixins import KeptRecordAdmin

from .models import AttemptVault, DeletionRecord, Recording, Segment


@admin.register(Recording)
class RecordingAdmin(KeptRecordAdmin, admin.ModelAdmin):
    list_display = ("id", "attempt", "kind", "mime_type", "bytes_stored", "finalised_at")
    list_filter = ("kind",)
    readonly_fields = ("attempt", "kind", "mime_type", "gaps", "bytes_stored", "finalised_at")


@admin.register(Segment)
class SegmentAdmin(KeptRecordAdmin, admin.ModelAdmin):
    list_display = ("id", "recording", "index", "start_s", "status", "task_attempts",
                    "analysed_at")
    list_filter = ("status",)
    # Segment state belongs to the pipeline; re-run analysis from the attempt instead.
    readonly_fields = ("recording", "index", "first_seq", "final_seq", "start_s",
                       "duration_s", "status", "task_attempts", "queued_at", "analysed_at",
                       "observations", "evidence", "error")


@admin.register(AttemptVault)
class AttemptVaultAdmin(KeptRecordAdmin, admin.ModelAdmin):
    # Never the wrapped key, not even wrapped.
    list_display = ("attempt", "master_key_id", "retain_until", "finalised_at", "purged_at")
    fields = ("attempt", "master_key_id", "retain_until", "finalised_at", "aggregated_at",
              "purged_at")
    readonly_fields = fields


@admin.register(DeletionRecord)
class DeletionRecordAdmin(KeptRecordAdmin, admin.ModelAdmin):
    list_display = ("deleted_at", "attempt_id_ref", "exam_title", "reason", "deleted_by",
                    "bytes_deleted")
    readonly_fields = ("attempt_id_ref", "exam_title", "what", "reason", "deleted_at",
                       "deleted_by", "bytes_deleted")
