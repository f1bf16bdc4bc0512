"""The agency's roles and what each admin page needs (issue 10; the matrix for people is docs/roles.md).

One place holds the whole matrix:
- ``ROLES``: each role is a set of staff permissions (``accounts.<codename>``, on ``Person.Meta``), plus the
  view permission of every model: every role reads everything.
- ``WRITES``: for every model of the back office, which staff permission adds, changes and deletes it (any one
  of those named; none named: nobody but a superuser). ``famhp.admin_base`` enforces it on every ModelAdmin.
- ``CONTACT_FIELDS``: the only fields a person changes when it holds the change right through
  ``manage_contacts`` alone (support: contact details, never the facts that change amounts).
Admin actions and custom admin views name their staff permission where they are declared.

`manage.py setup_roles` creates or refreshes the roles as Django groups.
"""

from __future__ import annotations

from typing import NamedTuple

from django.contrib.auth.models import Group, Permission
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

MANAGE_YEAR = "manage_year"
ISSUE_INVOICES = "issue_invoices"
MANAGE_PAYMENTS = "manage_payments"
MANAGE_REGISTER = "manage_register"
MANAGE_CAMPAIGN = "manage_campaign"
MANAGE_CONTACTS = "manage_contacts"
MANAGE_STAFF = "manage_staff"
STAFF_PERMISSIONS = (
    MANAGE_YEAR,
    ISSUE_INVOICES,
    MANAGE_PAYMENTS,
    MANAGE_REGISTER,
    MANAGE_CAMPAIGN,
    MANAGE_CONTACTS,
    MANAGE_STAFF,
)

FINANCE_OFFICER, AUDITOR, SUPPORT, ADMINISTRATOR = "Finance officer", "Auditor", "Support", "Administrator"
ROLE_LABELS = {
    FINANCE_OFFICER: _("Finance officer"),
    AUDITOR: _("Auditor"),
    SUPPORT: _("Support"),
    ADMINISTRATOR: _("Administrator"),
}
ROLES: dict[str, frozenset[str]] = {
    FINANCE_OFFICER: frozenset({MANAGE_YEAR, ISSUE_INVOICES, MANAGE_PAYMENTS, MANAGE_REGISTER, MANAGE_CAMPAIGN}),
    AUDITOR: frozenset(),
    SUPPORT: frozenset({MANAGE_CONTACTS, MANAGE_CAMPAIGN}),
    ADMINISTRATOR: frozenset(STAFF_PERMISSIONS),
}

#: Apps whose models every role reads.
VIEW_APPS = (
    "registry",
    "declarations",
    "billing",
    "payments",
    "accounts",
    "auth",
    "otp_totp",
    "otp_static",
    "axes",
    "django_tasks_database",
)


class Writes(NamedTuple):
    """The staff permissions (any one of them) that add, change and delete a model in the admin."""

    add: tuple[str, ...] = ()
    change: tuple[str, ...] = ()
    delete: tuple[str, ...] = ()


def _all(*permissions: str) -> Writes:
    return Writes(permissions, permissions, permissions)


NOBODY = Writes()
WRITES: dict[str, Writes] = {
    # People, roles and second factors: the administrator. Support resets a company user's authenticator
    # (deleting it); a staff member's authenticator only the administrator (see famhp.admin_base).
    "accounts.person": _all(MANAGE_STAFF),
    "auth.group": _all(MANAGE_STAFF),
    "otp_totp.totpdevice": Writes(delete=(MANAGE_CONTACTS, MANAGE_STAFF)),
    "otp_static.staticdevice": Writes(delete=(MANAGE_CONTACTS, MANAGE_STAFF)),
    # Grants are made through the service (a company's first main access manager); never edited afterwards.
    "accounts.access": Writes(add=(MANAGE_CONTACTS, MANAGE_STAFF)),
    "accounts.auditevent": NOBODY,
    # Lockouts: support lifts one (deleting the attempt); the logs are facts.
    "axes.accessattempt": Writes(delete=(MANAGE_CONTACTS, MANAGE_STAFF)),
    "axes.accesslog": NOBODY,
    "axes.accessfailurelog": NOBODY,
    # The register: its facts change amounts; support corrects contact details only (CONTACT_FIELDS).
    "registry.operator": Writes((MANAGE_REGISTER,), (MANAGE_REGISTER, MANAGE_CONTACTS), (MANAGE_REGISTER,)),
    "registry.activity": _all(MANAGE_REGISTER),
    "registry.selfcontroldeclaration": _all(MANAGE_REGISTER),
    # The campaign; an invitation's address is a contact detail.
    "declarations.campaign": Writes((MANAGE_CAMPAIGN,), (MANAGE_CAMPAIGN,)),
    "declarations.invitation": Writes((MANAGE_CAMPAIGN,), (MANAGE_CAMPAIGN, MANAGE_CONTACTS)),
    # Declarations are the companies' own facts: nobody at the agency writes them.
    "declarations.declaration": NOBODY,
    "declarations.declarationversion": NOBODY,
    # The year: settings and the FPS Finance turnovers; runs and invoices are written by actions only.
    "billing.yearsettings": Writes((MANAGE_YEAR,), (MANAGE_YEAR,)),
    "billing.fpsturnover": _all(MANAGE_YEAR),
    "billing.assessmentrun": NOBODY,
    "billing.invoice": NOBODY,
    # Payments are imported facts, allocated through the queue and actions.
    "payments.statementfile": NOBODY,
    "payments.bankline": NOBODY,
    "payments.allocation": NOBODY,
    "payments.reminder": NOBODY,
    "payments.linereview": NOBODY,
    "payments.refund": NOBODY,
    # Background tasks (mass actions): their records are written by the workers only.
    "django_tasks_database.dbtaskresult": NOBODY,
}
#: Fields changed with ``manage_contacts`` alone; every other field stays read-only for it.
CONTACT_FIELDS: dict[str, tuple[str, ...]] = {
    "registry.operator": ("street", "postal_code", "city", "contact_email", "language"),
    "declarations.invitation": ("email", "language"),
}


def model_permissions(role_permissions: frozenset[str]) -> set[tuple[str, str]]:
    """The (app label, codename) of the model permissions a set of staff permissions carries, from WRITES."""
    result = set()
    for label, writes in WRITES.items():
        app, model = label.split(".")
        for action, needed in writes._asdict().items():
            if role_permissions & set(needed):
                result.add((app, f"{action}_{model}"))
    return result


def agency_roles_setup() -> dict[str, Group]:
    """Create or refresh the four roles as groups: the views of every model, the role's staff permissions
    and the model permissions those carry."""
    views = Permission.objects.filter(content_type__app_label__in=VIEW_APPS, codename__startswith="view_")
    groups = {}
    for name, staff in ROLES.items():
        wanted = Q(content_type__app_label="accounts", codename__in=staff)
        for app, codename in model_permissions(staff):
            wanted |= Q(content_type__app_label=app, codename=codename)
        group, _created = Group.objects.get_or_create(name=name)
        group.permissions.set(views | Permission.objects.filter(wanted) if staff else views)
        groups[name] = group
    return groups
