"""The agency's roles (issue 4): finance officer (everything), auditor (read-only), support (read, no
amounts changed). Kept as Django groups; `manage.py setup_roles` creates or refreshes them."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

APPS = ("registry", "declarations", "accounts", "otp_totp", "otp_static")
FINANCE_OFFICER, AUDITOR, SUPPORT = "Finance officer", "Auditor", "Support"
#: Support may correct an operator's contact details and reset a lost authenticator; never an amount.
SUPPORT_CHANGES = ("registry.change_operator", "otp_totp.delete_totpdevice", "otp_static.delete_staticdevice")


def agency_roles_setup() -> dict[str, Group]:
    ours = Permission.objects.filter(content_type__app_label__in=APPS)
    views = ours.filter(codename__startswith="view_")
    support_changes = Q()
    for name in SUPPORT_CHANGES:
        app, codename = name.split(".")
        support_changes |= Q(content_type__app_label=app, codename=codename)
    groups = {}
    for name, permissions in (
        (FINANCE_OFFICER, ours),
        (AUDITOR, views),
        (SUPPORT, views | ours.filter(support_changes)),
    ):
        group, _created = Group.objects.get_or_create(name=name)
        group.permissions.set(permissions)
        groups[name] = group
    return groups
