"""What the agency's back office shares across apps: the admin site that enforces the role matrix.

Every ModelAdmin registered on the admin site (ours and Django's, django-otp's, django-axes') is wrapped in
``StaffPermissionsMixin``: adding, changing and deleting need the staff permission that
``famhp.accounts.roles.WRITES`` names for the model (a model it does not name: superusers only), on top of the
model's own rule (read-only facts stay read-only); an admin action must name its permission
(``@admin.action(permissions=[...])``), else only a superuser sees it. The site itself is closed to a session
without a second factor (issue 10).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class StaffAdminConfig(AdminConfig):
    """django.contrib.admin with famhp's site as the default (``admin.site``, ``@admin.register``)."""

    default_site = "famhp.admin_base.StaffAdminSite"


def require_permission(request: HttpRequest, codename: str) -> None:
    """For custom admin views: answer 403 unless the staff member holds ``accounts.<codename>``."""
    if not request.user.has_perm(f"accounts.{codename}"):
        raise PermissionDenied


def _writes_staff_account(obj: object) -> bool:
    """A second factor or an account of a staff member: only the administrator touches those."""
    person = getattr(obj, "user", None)
    return bool(getattr(person, "is_staff", False))


class StaffPermissionsMixin:
    """The role matrix (famhp.accounts.roles) on top of a ModelAdmin's own permissions."""

    model: type[Model]

    def _holds_any(self, request: HttpRequest, codenames: tuple[str, ...]) -> bool:
        user = request.user
        return bool(user.is_superuser) or any(user.has_perm(f"accounts.{codename}") for codename in codenames)

    def _writes(self) -> Any:
        from famhp.accounts.roles import NOBODY, WRITES

        return WRITES.get(self.model._meta.label_lower, NOBODY)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return super().has_add_permission(request, *args) and self._holds_any(  # type: ignore[misc]
            request, self._writes().add
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not super().has_change_permission(request, obj):  # type: ignore[misc]
            return False
        if obj is not None and _writes_staff_account(obj) and not self._holds_any(request, ("manage_staff",)):
            return False
        return self._holds_any(request, self._writes().change)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not super().has_delete_permission(request, obj):  # type: ignore[misc]
            return False
        if obj is not None and _writes_staff_account(obj) and not self._holds_any(request, ("manage_staff",)):
            return False
        return self._holds_any(request, self._writes().delete)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        """With the change right through ``manage_contacts`` alone, only the contact fields change."""
        from famhp.accounts.roles import CONTACT_FIELDS

        readonly = list(super().get_readonly_fields(request, obj))  # type: ignore[misc]
        contacts = CONTACT_FIELDS.get(self.model._meta.label_lower)
        if contacts is None or self._holds_any(
            request, tuple(p for p in self._writes().change if p != "manage_contacts")
        ):
            return readonly
        editable = [f.name for f in self.model._meta.get_fields() if getattr(f, "editable", False) and f.concrete]
        return [*readonly, *(name for name in editable if name not in contacts and name not in readonly)]

    def history_form_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """django-simple-history's page of one past version saves what is posted to it, whatever the rights:
        it is for reading only here (SIMPLE_HISTORY_REVERT_DISABLED), and refuses every POST."""
        if request.method != "GET":
            raise PermissionDenied
        return super().history_form_view(request, *args, **kwargs)  # type: ignore[misc,no-any-return]

    def get_actions(self, request: HttpRequest) -> Any:
        """An action that names no permission is a superuser's only."""
        actions = super().get_actions(request)  # type: ignore[misc]
        if request.user.is_superuser:
            return actions
        return {name: entry for name, entry in actions.items() if getattr(entry[0], "allowed_permissions", None)}

    # Django's convention for `@admin.action(permissions=["manage_year"])`: has_<name>_permission.
    def has_manage_year_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("accounts.manage_year"))

    def has_issue_invoices_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("accounts.issue_invoices"))

    def has_manage_payments_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("accounts.manage_payments"))

    def has_manage_register_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("accounts.manage_register"))

    def has_manage_campaign_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("accounts.manage_campaign"))

    def has_manage_contacts_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("accounts.manage_contacts"))

    def has_manage_staff_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("accounts.manage_staff"))


class StaffAdminSite(admin.AdminSite):
    """The agency's back office: staff only, and only after the second factor (authenticator code or the
    federal login); its login is the portal's own."""

    site_header = _("FAMHP contributions: agency")
    site_title = _("FAMHP contributions")

    def has_permission(self, request: HttpRequest) -> bool:
        from famhp.accounts.selectors import strongly_authenticated

        return super().has_permission(request) and strongly_authenticated(request)

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        from famhp.accounts.second_factor import safe_next, second_factor_redirect

        target = safe_next(request, request.GET.get("next")) or reverse("admin:index")
        if self.has_permission(request):
            return redirect(target)
        if request.user.is_authenticated and request.user.is_staff:
            return second_factor_redirect(request, request.user, target)
        return redirect(f"{reverse('accounts:password_login')}?{urlencode({'next': target})}")

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        from famhp.text import OneLineTextAdmin  # one-line text fields refuse control characters (ADR 14)

        base = admin_class or admin.ModelAdmin
        guarded = type(base.__name__, (StaffPermissionsMixin, OneLineTextAdmin, base), {"__module__": base.__module__})
        super().register(model_or_iterable, guarded, **options)


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """For facts (invoices, bank lines, allocations, the audit log): read in the admin, written by services."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
