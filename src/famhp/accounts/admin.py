from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from famhp.accounts.models import Access, AuditEvent, OidcIdentity, Person
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
    list_display = ("operator", "email", "person", "role", "granted_at", "revoked_at")
    list_filter = ("role", "revoked_at")
    search_fields = ("email", "operator__name", "operator__enterprise_number")
    raw_id_fields = ("operator", "person", "granted_by", "revoked_by")


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The log is append-only: read here, written only by the services."""

    list_display = ("at", "kind", "actor", "person", "operator")
    list_filter = ("kind",)
    search_fields = ("actor__username", "person__username", "operator__name")
