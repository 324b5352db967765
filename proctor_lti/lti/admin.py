"""Admin for LTI registrations and who-is-who. Tool private keys are never shown."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from proctor_lti.core.admin_mixins import KeptRecordAdmin
from proctor_lti.core.audit import audit_record
from proctor_lti.core.models import AuditEntry

from .keys import tool_key_rotate
from .middleware import forget_frame_origins
from .models import Context, Deployment, LtiIdentity, Membership, Platform, ResourceLink, ToolKey
from .services import validate_platform_url


class PlatformForm(forms.ModelForm):
    class Meta:
        model = Platform
        fields = ("name", "issuer", "client_id", "is_active", "auth_login_url",
                  "auth_token_url", "key_set_url", "auth_audience", "frame_origins",
                  "auto_add_deployments", "canvas_api_base_url")

    def clean_frame_origins(self) -> list[str]:
        value = self.cleaned_data.get("frame_origins") or []
        if not isinstance(value, list):
            raise ValidationError("Give a list of origins, e.g. [\"https://school.instructure.com\"].")
        origins = []
        for item in value:
            parts = urlsplit(item) if isinstance(item, str) else None
            if (parts is None or parts.scheme not in ("https", "http") or not parts.netloc
                    or parts.path not in ("", "/") or parts.query or parts.fragment):
                raise ValidationError(
                    f"{item!r} is not an origin: write scheme and host only, like "
                    "https://school.instructure.com (no path, no wildcard).")
            origins.append(f"{parts.scheme}://{parts.netloc}")
        return origins

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for field in ("issuer", "auth_login_url", "auth_token_url", "key_set_url"):
            if data.get(field):
                try:
                    validate_platform_url(name=field, url=data[field])
                except ValidationError as exc:
                    self.add_error(field, exc)
        return data


class DeploymentInline(admin.TabularInline):
    model = Deployment
    extra = 1
    fields = ("deployment_id", "created_at")
    readonly_fields = ("created_at",)


@admin.register(Platform)
class PlatformAdmin(admin.ModelAdmin):
    list_display = ("name", "issuer", "client_id", "is_active", "auto_add_deployments",
                    "updated_at")
    list_filter = ("is_active",)
    search_fields = ("name", "issuer", "client_id")
    inlines = [DeploymentInline]
    form = PlatformForm
    fieldsets = (
        (None, {"fields": ("name", "issuer", "client_id", "is_active")}),
        ("Endpoints", {"fields": ("auth_login_url", "auth_token_url", "key_set_url",
                                  "auth_audience")}),
        ("Framing and deployments", {"fields": ("frame_origins", "auto_add_deployments")}),
        ("Canvas", {"fields": ("canvas_api_base_url",), "classes": ("collapse",)}),
    )

    # A registration decides whose signatures we trust (key set URL) and who may frame us:
    # every change goes to the audit log, with who and which fields.
    def save_model(self, request: HttpRequest, obj: Platform, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        forget_frame_origins()
        audit_record(actor=request.user, action=AuditEntry.Action.ADMIN, target=obj,
                     request=request, detail={"platform": obj.issuer, "created": not change,
                                              "changed": list(form.changed_data)})

    def delete_model(self, request: HttpRequest, obj: Platform) -> None:
        issuer, pk = obj.issuer, obj.pk
        super().delete_model(request, obj)
        forget_frame_origins()
        audit_record(actor=request.user, action=AuditEntry.Action.ADMIN,
                     target=f"lti.platform:{pk}", request=request, detail={"deleted": issuer})

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Platform]) -> None:
        gone = list(queryset.values_list("pk", "issuer"))
        super().delete_queryset(request, queryset)
        forget_frame_origins()
        for pk, issuer in gone:
            audit_record(actor=request.user, action=AuditEntry.Action.ADMIN,
                         target=f"lti.platform:{pk}", request=request, detail={"deleted": issuer})


@admin.register(ToolKey)
class ToolKeyAdmin(KeptRecordAdmin, admin.ModelAdmin):
    """Public parts only: kid, state and dates. The private key is excluded from every view."""

    list_display = ("kid", "state", "created_at", "activated_at", "retired_at")
    list_filter = ("state",)
    fields = ("kid", "state", "created_at", "activated_at", "retired_at")
    readonly_fields = fields
    actions = ["rotate"]

    # No add or delete (KeptRecordAdmin): platforms cache our key set, so keys come and
    # leave only through rotation (next -> active -> retired).
    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[ToolKey]:
        return super().get_queryset(request).defer("private_key_sealed")

    @admin.action(description="Rotate: publish a next key, or activate the published next key")
    def rotate(self, request: HttpRequest, queryset: QuerySet[ToolKey]) -> None:
        key = tool_key_rotate()
        audit_record(actor=request.user, action=AuditEntry.Action.KEY, target=key,
                     request=request, detail={"kid": key.kid, "state": key.state})
        if key.state == ToolKey.State.NEXT:
            self.message_user(request, f"Published next key {key.kid}. Rotate again in an hour "
                                       "or more to start signing with it.")
        else:
            self.message_user(request, f"Key {key.kid} is now active; the old key is retired.")


@admin.register(LtiIdentity)
class LtiIdentityAdmin(admin.ModelAdmin):
    list_display = ("name", "email", "platform", "sub", "user", "updated_at")
    list_filter = ("platform",)
    search_fields = ("name", "email", "sub", "lms_user_id", "user__username")
    raw_id_fields = ("user",)
    list_select_related = ("platform", "user")


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ("user", "role", "lti_roles", "updated_at")
    readonly_fields = ("updated_at",)
    raw_id_fields = ("user",)


@admin.register(Context)
class ContextAdmin(admin.ModelAdmin):
    list_display = ("title", "label", "context_id", "platform", "updated_at")
    list_filter = ("platform",)
    search_fields = ("title", "label", "context_id", "lms_course_id")
    inlines = [MembershipInline]
    list_select_related = ("platform",)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "context", "role", "updated_at")
    list_filter = ("role", "context__platform")
    search_fields = ("user__username", "context__title", "context__context_id")
    raw_id_fields = ("user", "context")
    list_select_related = ("user", "context")


@admin.register(ResourceLink)
class ResourceLinkAdmin(admin.ModelAdmin):
    list_display = ("title", "resource_link_id", "context", "updated_at")
    search_fields = ("title", "resource_link_id", "context__title")
    raw_id_fields = ("context",)
    list_select_related = ("context",)
