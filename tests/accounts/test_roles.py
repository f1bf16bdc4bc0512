"""The role matrix of docs/roles.md, walked over every admin address and every admin action, for each role.

The expected matrix is written out below from docs/roles.md (not imported from famhp.accounts.roles, which it
checks). Every address of the admin site is collected from the URL resolver and every action from the site's
ModelAdmins: one that the tables below do not know fails the first tests, so a page or action added later is
covered like the portal's URL patterns in test_isolation.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.db import models, transaction
from django.forms.models import model_to_dict
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, reverse
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from famhp.accounts.models import Person
from famhp.accounts.roles import ADMINISTRATOR, AUDITOR, FINANCE_OFFICER, SUPPORT
from famhp.registry.models import Operator
from tests.accounts.conftest import person, staff, staff_client

pytestmark = pytest.mark.django_db

F, A, S, X = FINANCE_OFFICER, AUDITOR, SUPPORT, ADMINISTRATOR
EVERY_ROLE = frozenset({F, A, S, X})
NOBODY: frozenset[str] = frozenset()
FINANCE = frozenset({F, X})  # manage_year, issue_invoices, manage_payments, manage_register
CAMPAIGN = frozenset({F, S, X})  # manage_campaign
CONTACTS = frozenset({S, X})  # manage_contacts
STAFF = frozenset({X})  # manage_staff


@dataclass(frozen=True)
class Writes:
    """Which roles add, change and delete a model (docs/roles.md); every role reads every model."""

    add: frozenset[str] = NOBODY
    change: frozenset[str] = NOBODY
    delete: frozenset[str] = NOBODY


def every(roles: frozenset[str]) -> Writes:
    return Writes(roles, roles, roles)


MODELS: dict[str, Writes] = {
    "accounts.person": every(STAFF),
    "auth.group": every(STAFF),
    "otp_totp.totpdevice": Writes(delete=CONTACTS),  # a company user's (a staff member's: STAFF only)
    "otp_static.staticdevice": Writes(delete=CONTACTS),
    "accounts.access": Writes(add=CONTACTS),
    "accounts.auditevent": Writes(),
    "axes.accessattempt": Writes(delete=CONTACTS),
    "axes.accesslog": Writes(),
    "axes.accessfailurelog": Writes(),
    "registry.operator": Writes(FINANCE, FINANCE | CONTACTS, FINANCE),  # support: contact fields only
    "registry.activity": every(FINANCE),
    "registry.selfcontroldeclaration": every(FINANCE),
    "declarations.campaign": Writes(CAMPAIGN, CAMPAIGN),
    "declarations.invitation": Writes(CAMPAIGN, CAMPAIGN | CONTACTS),
    "declarations.declaration": Writes(),
    "declarations.declarationversion": Writes(),
    "billing.yearsettings": Writes(FINANCE, FINANCE),
    "billing.fpsturnover": every(FINANCE),
    "billing.assessmentrun": Writes(),
    "billing.invoice": Writes(),
    "payments.statementfile": Writes(),
    "payments.bankline": Writes(),
    "payments.allocation": Writes(),
    "payments.reminder": Writes(),
    "payments.linereview": Writes(),
    "payments.refund": Writes(),
    "django_tasks_database.dbtaskresult": Writes(),
}
#: Admin actions: "app.model.action" → the roles that may run it (delete_selected follows MODELS' delete).
ACTIONS: dict[str, frozenset[str]] = {
    "declarations.campaign.send_invitations": CAMPAIGN,
    "declarations.campaign.send_reminders": CAMPAIGN,
    "billing.yearsettings.run_assessment": FINANCE,
    "billing.yearsettings.apply_corrections": FINANCE,
    "billing.yearsettings.close_year": FINANCE,
    "billing.assessmentrun.fix_cost": FINANCE,
    "billing.assessmentrun.issue_activity_tax": FINANCE,
    "billing.assessmentrun.issue_turnover_levy": FINANCE,
    "billing.invoice.credit": FINANCE,
    "payments.allocation.reverse": FINANCE,
    "axes.accessattempt.cleanup_expired_attempts": NOBODY,  # django-axes' own: names no permission
}
#: Custom admin pages: URL name → (roles for GET, roles for POST), or a reason the walk leaves it out.
PAGES: dict[str, tuple[frozenset[str], frozenset[str]] | str] = {
    "index": (EVERY_ROLE, EVERY_ROLE),
    "app_list": (EVERY_ROLE, EVERY_ROLE),
    "jsi18n": (EVERY_ROLE, NOBODY),  # GET only
    "password_change": (EVERY_ROLE, EVERY_ROLE),  # one's own password
    "password_change_done": (EVERY_ROLE, NOBODY),  # GET only
    "login": "sends a logged-in member on to the admin",
    "logout": "ends the caller's own session",
    "autocomplete": "no ModelAdmin has autocomplete fields",
    "view_on_site": "redirects to a model's own page: no model has one",
    "auth_user_password_change": (STAFF, STAFF),  # UserAdmin's name for a person's password page
    "registry_operator_import": (FINANCE, FINANCE),
    "billing_fps_import": (FINANCE, FINANCE),
    "billing_year_status": (EVERY_ROLE, NOBODY),  # a read page (GET only)
    "billing_year_closing": (FINANCE, FINANCE),  # the closing decision (D5): manage_year
    "payments_statement_import": (FINANCE, FINANCE),
    "payments_queue": (EVERY_ROLE, EVERY_ROLE),  # a list; allocating is its own page
    "payments_allocate": (EVERY_ROLE, FINANCE),  # the line and its allocations are read; allocating is a POST
    "payments_accept": (NOBODY, FINANCE),  # POST only
    "payments_handled": (NOBODY, FINANCE),  # POST only
    "payments_refunds": (EVERY_ROLE, FINANCE),  # the list; recording, exporting, marking sent
    "payments_refund_file": (FINANCE, FINANCE),
}
#: Variants of a page that need more than the page (query string → roles).
PAGE_VARIANTS: dict[str, dict[str, frozenset[str]]] = {}
STANDARD = ("changelist", "add", "change", "delete", "history", "simple_history")


def admin_patterns(entries: list[URLResolver | URLPattern] | None = None) -> Iterator[URLPattern]:
    for entry in entries if entries is not None else admin.site.get_urls():
        if isinstance(entry, URLResolver):
            yield from admin_patterns(entry.url_patterns)
        elif entry.name:
            yield entry


def model_page(name: str) -> tuple[str, str] | None:
    """``registry_operator_change`` → ("registry.operator", "change"); None for a custom page."""
    for model in admin.site._registry:
        prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
        if name.startswith(prefix) and name.removeprefix(prefix) in STANDARD:
            return model._meta.label_lower, name.removeprefix(prefix)
    return None


def expected_for_model_page(label: str, kind: str, method: str) -> frozenset[str]:
    writes = MODELS[label]
    if kind == "add":
        return writes.add
    if kind == "delete":
        return writes.delete
    if kind == "change" and method == "post":
        return writes.change
    if kind == "simple_history" and method == "post":
        return NOBODY  # a past version is read, never posted back (it would bypass every field right)
    return EVERY_ROLE


def an_object(model: type[models.Model]) -> models.Model | None:
    queryset = model._default_manager.order_by("pk")
    if model in (TOTPDevice, StaticDevice):
        queryset = queryset.filter(user__is_staff=False)  # a company user's authenticator
    return queryset.first()


def url_of(pattern: URLPattern) -> str | None:
    """The address of a pattern with an existing object of its model in each argument (None: none exists)."""
    kwargs: dict[str, Any] = {}
    found = model_page(pattern.name or "")
    if found and found[1] == "simple_history":  # django-simple-history's pattern: unnamed groups
        obj = an_object(_model(found[0]))
        history = getattr(obj, "history", None)
        if obj is None or history is None or not history.exists():
            return None
        return reverse(f"admin:{pattern.name}", args=[obj.pk, history.order_by("pk").first().pk])
    arguments = getattr(pattern.pattern, "converters", {}) or pattern.pattern.regex.groupindex  # path() or re_path()
    for argument in arguments:
        if argument == "object_id" and found:
            obj = an_object(_model(found[0]))
            if obj is None:
                return None
            kwargs[argument] = obj.pk
        elif argument == "app_label":
            kwargs[argument] = "registry"
        elif argument in ARGUMENTS:
            value = ARGUMENTS[argument]()
            if value is None:
                return None
            kwargs[argument] = value
        else:
            raise AssertionError(f"admin page {pattern.name}: no value known for <{argument}>")
    return reverse(f"admin:{pattern.name}", kwargs=kwargs)


def _model(label: str) -> type[models.Model]:
    return next(m for m in admin.site._registry if m._meta.label_lower == label)


def _first_pk(label: str) -> Callable[[], int | None]:
    def pk() -> int | None:
        obj = an_object(_model(label))
        return None if obj is None else int(obj.pk)

    return pk


def _first_pk_of(app: str, model: str) -> int | None:
    from django.apps import apps

    obj = apps.get_model(app, model)._default_manager.order_by("pk").first()
    return None if obj is None else int(obj.pk)


#: Values for the arguments of custom pages.
ARGUMENTS: dict[str, Callable[[], int | None]] = {
    "line_id": _first_pk("payments.bankline"),
    "export_id": lambda: _first_pk_of("payments", "RefundExport"),
    "id": _first_pk("accounts.person"),
    "year": lambda: 2025,
}


@pytest.fixture
def world() -> dict[str, Client]:
    from famhp.demo import load_demo

    load_demo(count=12)
    company_user = person("clerk", "clerk@company.example")
    TOTPDevice.objects.create(user=company_user, name="app", confirmed=True)
    StaticDevice.objects.create(user=company_user, name="recovery codes", confirmed=True)
    Client().post(reverse("accounts:password_login"), {"username": "clerk", "password": "wrong"})  # an attempt
    return {role: staff_client(staff(f"matrix-{index}", role)) for index, role in enumerate(sorted(EVERY_ROLE))}


def allowed(response: Any) -> bool:
    if response.status_code in {403, 405}:  # 405: a POST-only page answers no GET, to anyone
        return False
    location = response.get("Location", "") if response.status_code == 302 else ""
    assert "/login/" not in location and "/code/" not in location, (response.status_code, location)
    return True


def test_every_admin_page_is_in_the_matrix() -> None:
    names = {p.name or "" for p in admin_patterns()}
    custom = {name for name in names if model_page(name) is None}
    assert custom == set(PAGES), (
        f"not in the matrix: {sorted(custom - set(PAGES))}; stale: {sorted(set(PAGES) - custom)}"
    )
    registered = {model._meta.label_lower for model in admin.site._registry}
    assert registered == set(MODELS), (
        f"not in the matrix: {sorted(registered - set(MODELS))}; stale: {sorted(set(MODELS) - registered)}"
    )


def every_action() -> Iterator[tuple[str, Any, str]]:
    for model, model_admin in admin.site._registry.items():
        for action in model_admin._get_base_actions():  # type: ignore[attr-defined]
            yield model._meta.label_lower, model_admin, action[1]


def test_every_admin_action_is_in_the_matrix_and_names_its_permission() -> None:
    seen = set()
    for label, model_admin, name in every_action():
        if name == "delete_selected":
            continue
        seen.add(f"{label}.{name}")
        function = model_admin.get_action(name)[0]
        if not label.startswith("axes."):
            assert getattr(function, "allowed_permissions", None), f"{label}.{name} names no permission"
    assert seen == set(ACTIONS), (
        f"not in the matrix: {sorted(seen - set(ACTIONS))}; stale: {sorted(set(ACTIONS) - seen)}"
    )


def test_each_role_reaches_exactly_its_admin_pages(world: dict[str, Client]) -> None:
    surplus, missing = [], []
    for pattern in admin_patterns():
        name = pattern.name or ""
        page = PAGES.get(name)
        if isinstance(page, str):
            continue
        url = url_of(pattern)
        if url is None:
            continue
        found = model_page(name)
        for role, client in world.items():
            for method in ("get", "post"):
                if found is not None:
                    expected = expected_for_model_page(*found, method)
                else:
                    assert page is not None
                    expected = page[0] if method == "get" else page[1]
                variants = [("", expected)]
                variants += [(f"?{query}", roles) for query, roles in PAGE_VARIANTS.get(name, {}).items()]
                for query, roles in variants:
                    if method == "post" and query:
                        continue
                    with transaction.atomic():
                        response = getattr(client, method)(url + query, {"post": "yes"} if method == "post" else {})
                        transaction.set_rollback(True)
                    if allowed(response) and role not in roles:
                        surplus.append((role, method, name + query))
                    if not allowed(response) and role in roles:
                        missing.append((role, method, name + query))
    assert not surplus and not missing, f"surplus rights: {surplus}\nmissing rights: {missing}"


def test_each_role_runs_exactly_its_admin_actions(world: dict[str, Client]) -> None:
    factory = RequestFactory()
    surplus, missing = [], []
    members = {role: Person.objects.get(username=f"matrix-{index}") for index, role in enumerate(sorted(EVERY_ROLE))}
    for label, model_admin, name in every_action():
        expected = MODELS[label].delete if name == "delete_selected" else ACTIONS[f"{label}.{name}"]
        obj = an_object(model_admin.model)
        for role, client in world.items():
            request = factory.get("/")
            request.user = members[role]
            offered = name in model_admin.get_actions(request)
            if offered and role not in expected:
                surplus.append((role, label, name))
            if not offered and role in expected:
                missing.append((role, label, name))
            if obj is None or role in expected:
                continue
            # Posted anyway, a refused action does nothing: no message but Django's "No action selected", and
            # the selected record is still there unchanged.
            url = reverse(f"admin:{model_admin.model._meta.app_label}_{model_admin.model._meta.model_name}_changelist")
            before = model_to_dict(obj)
            with transaction.atomic():
                response = client.post(url, {"action": name, "_selected_action": [obj.pk], "index": 0, "post": "yes"})
                texts = [str(m) for m in get_messages(response.wsgi_request)]
                after = model_admin.model._default_manager.filter(pk=obj.pk).first()
                transaction.set_rollback(True)
            assert response.status_code in {200, 302, 403}, (role, label, name, response.status_code)
            assert set(texts) <= {"No action selected."}, (role, label, name, texts)
            assert after is not None and model_to_dict(after) == before, (role, label, name)
    assert not surplus and not missing, f"surplus rights: {surplus}\nmissing rights: {missing}"


def test_support_changes_an_operators_contact_details_never_its_facts(world: dict[str, Client]) -> None:
    operator = Operator.objects.filter(established_in_belgium=True).order_by("pk").first()
    assert operator is not None
    page = world[S].get(reverse("admin:registry_operator_change", args=[operator.pk]))
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert set(form.fields) == {"street", "postal_code", "city", "contact_email", "language"}
    data = {
        "street": "Nieuwe straat 1",
        "postal_code": "1000",
        "city": "Brussel",
        "contact_email": "new@company.example",
        "language": "fr",
        "established_in_belgium": "",  # an attempt to change a fact that changes amounts
        "active_in_belgium": "",
        "name": "Renamed",
    }
    for prefix in ("activities", "selfcontroldeclaration_set"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    response = world[S].post(reverse("admin:registry_operator_change", args=[operator.pk]), data)
    assert response.status_code in {200, 302}
    operator.refresh_from_db()
    assert operator.established_in_belgium and operator.active_in_belgium and operator.name != "Renamed"


def test_a_finance_officer_cannot_make_itself_superuser(world: dict[str, Client]) -> None:
    officer = Person.objects.get(username=f"matrix-{sorted(EVERY_ROLE).index(F)}")
    url = reverse("admin:accounts_person_change", args=[officer.pk])
    assert world[F].get(url).status_code == 200  # it reads people
    response = world[F].post(
        url, {"username": officer.username, "is_staff": "on", "is_active": "on", "is_superuser": "on"}
    )
    assert response.status_code == 403
    officer.refresh_from_db()
    assert not officer.is_superuser and officer.groups.get().name == F
    assert world[F].post(reverse("admin:auth_group_change", args=[officer.groups.get().pk]), {}).status_code == 403


def test_the_finance_officer_reaches_billing_and_payments(world: dict[str, Client]) -> None:
    for name in ("admin:billing_invoice_changelist", "admin:payments_bankline_changelist", "admin:payments_queue"):
        assert world[F].get(reverse(name)).status_code == 200, name


def workplace_names(prefix: str) -> set[str]:
    """The workplace's URL names that start with ``prefix``: a matrix must name every one of them."""
    from django.urls import get_resolver

    return {
        p.name or ""
        for entry in get_resolver().url_patterns
        if isinstance(entry, URLResolver) and entry.namespace == "workplace"
        for p in entry.url_patterns
        if isinstance(p, URLPattern) and (p.name or "").startswith(prefix)
    }


def walk_workplace_matrix(
    world: dict[str, Client],
    matrix: dict[str, tuple[frozenset[str], frozenset[str]]],
    arguments: Callable[[str], list[object]],
    counts: Callable[[], list[int]],
) -> None:
    """GET and POST every page of ``matrix`` as every role; each answer allowed exactly for the roles the matrix
    names, and nothing written by any of them (``counts`` the same before and after)."""
    surplus, missing = [], []
    for name, (get_roles, post_roles) in matrix.items():
        url = reverse(f"workplace:{name}", args=arguments(name))
        for role, client in world.items():
            for method, roles in (("get", get_roles), ("post", post_roles)):
                before = counts()
                with transaction.atomic():
                    response = getattr(client, method)(url, {"post": "yes"} if method == "post" else {})
                    transaction.set_rollback(True)
                if allowed(response) and role not in roles:
                    surplus.append((role, method, name))
                if not allowed(response) and role in roles:
                    missing.append((role, method, name))
                assert counts() == before
    assert not surplus and not missing, f"surplus rights: {surplus}\nmissing rights: {missing}"


#: The workplace's bank pages (issue 12; docs/roles.md, "The staff workplace"): URL name → (roles for GET, for POST).
WORKPLACE_BANK: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "bank_import": (FINANCE, FINANCE),
    "bank_import_progress": (EVERY_ROLE, EVERY_ROLE),  # redirects to the result once finished
    "bank_import_result": (EVERY_ROLE, EVERY_ROLE),  # a read page
    "bank_import_again": (NOBODY, FINANCE),  # POST only: a stalled import started again
    "bank_duplicates": (EVERY_ROLE, FINANCE),  # the list of a file's possible duplicates; handling them posts
    "bank_queue": (EVERY_ROLE, EVERY_ROLE),  # a list; each action posts to its own address
    "bank_line": (EVERY_ROLE, EVERY_ROLE),  # the line, its allocations and the search
    "bank_allocate": (NOBODY, FINANCE),  # POST only
    "bank_handled": (NOBODY, FINANCE),  # POST only
    "bank_refunds": (EVERY_ROLE, EVERY_ROLE),  # the list
    "bank_refund_record": (NOBODY, FINANCE),  # POST only
    "bank_refunds_export": (NOBODY, FINANCE),  # POST only
    "bank_refund_cancel": (NOBODY, FINANCE),  # POST only, with its box ticked
    "bank_export_sent": (NOBODY, FINANCE),  # POST only
    "bank_export_file": (FINANCE, FINANCE),  # the pain.001 file
}


def test_each_role_reaches_exactly_its_workplace_bank_pages(world: dict[str, Client]) -> None:

    from famhp.payments.models import BankLine, Refund, RefundExport
    from famhp.payments.selectors import credit_balances
    from famhp.payments.services import refund_record, refunds_export
    from famhp.workplace.models import BankImport

    names = workplace_names("bank_")
    assert names == set(WORKPLACE_BANK), f"not in the matrix: {sorted(names - set(WORKPLACE_BANK))}"
    officer = Person.objects.get(username=f"matrix-{sorted(EVERY_ROLE).index(F)}")
    if not RefundExport.objects.exists():
        operator = next(iter(credit_balances()), (None,))[0]
        if operator is not None:
            refund_record(operator=operator, by=officer, iban="BE68539007547034")
        refunds_export(by=officer)
    line, export = BankLine.objects.order_by("pk").first(), RefundExport.objects.order_by("pk").first()
    upload = BankImport.objects.create(name="seen.cod", size=1, created_by=officer, state=BankImport.State.DONE)
    assert line is not None and export is not None  # the demo has an account in credit
    arguments: dict[str, list[object]] = {
        "bank_import_progress": [upload.pk],
        "bank_import_result": [upload.pk],
        "bank_import_again": [upload.pk],
        "bank_duplicates": [line.statement_file_id],
        "bank_line": [line.pk],
        "bank_allocate": [line.pk],
        "bank_handled": [line.pk],
        "bank_export_sent": [export.pk],
        "bank_export_file": [export.pk],
        "bank_refund_cancel": [Refund.objects.values_list("pk", flat=True).first()],
    }
    counts = (BankLine, Refund, RefundExport, BankImport)
    walk_workplace_matrix(
        world, WORKPLACE_BANK, lambda name: arguments.get(name, []), lambda: [m.objects.count() for m in counts]
    )


#: The workplace's year settings pages (issue 12; docs/roles.md): every role reads, manage_year changes.
WORKPLACE_SETTINGS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "settings": (EVERY_ROLE, NOBODY),  # a read page: GET only
    "settings_edit": (FINANCE, FINANCE),  # the form, its confirmation step and the save: manage_year
    "settings_prepare": (FINANCE, FINANCE),  # "prepare the next year": manage_year
    "settings_campaign": (CAMPAIGN, CAMPAIGN),  # the campaign's dates: manage_campaign
}


def test_each_role_reaches_exactly_its_workplace_settings_pages(world: dict[str, Client]) -> None:

    from famhp.billing.models import YearSettings
    from famhp.declarations.models import Campaign

    names = workplace_names("settings")
    assert names == set(WORKPLACE_SETTINGS), f"not in the matrix: {sorted(names - set(WORKPLACE_SETTINGS))}"
    year = YearSettings.objects.order_by("-year").values_list("year", flat=True).first()
    assert year is not None  # the demo has its year's settings
    history = YearSettings.history.model
    walk_workplace_matrix(
        world,
        WORKPLACE_SETTINGS,
        lambda name: [year],
        lambda: [YearSettings.objects.count(), history.objects.count(), Campaign.history.count()],
    )
