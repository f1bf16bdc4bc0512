from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from famhp.accounts.models import Access, AuditEvent, OidcIdentity, Person
from famhp.accounts.services import access_grant, send_claim_link, totp_reset
from famhp.admin_base import ReadOnlyAdmin


class IdentityInline(admin.TabularInline):  # type: ignore[type-arg]
    model = OidcIdentity
    extra = 0
    readonly_fields = ("issuer", "subject", "created_at")


@admin.register(Person)
class PersonAdmin(UserAdmin):  # type: ignore[type-arg]
    inlines = [IdentityInline]
    list_display = ("username", "email", "first_name", "last_name", "is_staff")


@admin.register(Access)
class AccessAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Grants are made through the service (the agency sets up a company's first main access manager): it binds
    them to one identity only; never edited afterwards (famhp.accounts.roles.WRITES)."""

    list_display = ("operator", "email", "person", "role", "granted_at", "revoked_at")
    list_filter = ("role", "revoked_at")
    search_fields = ("email", "operator__name", "operator__enterprise_number")
    raw_id_fields = ("operator",)
    fields = ("operator", "email", "subject", "role")

    def save_model(self, request: HttpRequest, obj: Access, form: Any, change: bool) -> None:
        granted = access_grant(
            operator=obj.operator,
            email=obj.email,
            role=obj.role,
            subject=obj.subject,
            granted_by=request.user,  # type: ignore[arg-type]
        )
        if granted.person is None:
            send_claim_link(granted, obj.operator.language)
        obj.pk = granted.pk
        obj.refresh_from_db()


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The log is append-only: read here, written only by the services."""

    list_display = ("at", "kind", "actor", "person", "operator")
    list_filter = ("kind",)
    search_fields = ("actor__username", "person__username", "operator__name")


class AuthenticatorAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Second factors, instead of django-otp's own pages, which show a device's secret key and QR code to
    anyone who may view it. Here they are listed, never shown or edited; deleting one is an authenticator
    reset (famhp.accounts.services.totp_reset: every one of the person's devices, logged, sessions ended)."""

    list_display = ("user", "name", "confirmed")
    list_filter = ("confirmed",)
    search_fields = ("user__username", "user__email")
    fields = ("user", "name", "confirmed")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: TOTPDevice | StaticDevice) -> None:
        totp_reset(person=obj.user, reset_by=request.user)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[TOTPDevice | StaticDevice]) -> None:
        for person in {device.user for device in queryset.select_related("user")}:
            totp_reset(person=person, reset_by=request.user)  # type: ignore[arg-type]


for _device in (TOTPDevice, StaticDevice):
    admin.site.unregister(_device)
    admin.site.register(_device, AuthenticatorAdmin)
