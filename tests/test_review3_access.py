"""Review 3: access rules that must hold twice in a row and twice at once."""

from __future__ import annotations

import uuid

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from famhp.accounts.models import Access, AccessRole, Person
from famhp.accounts.services import access_claim, access_revoke
from famhp.api.services import token_create
from famhp.registry.models import Operator
from tests.accounts.conftest import manager_of, person
from tests.accounts.test_roles import (
    CAMPAIGN,
    CONTACTS,
    EVERY_ROLE,
    FINANCE,
    NOBODY,
    walk_workplace_matrix,
    workplace_names,
)
from tests.accounts.test_roles import world as world  # noqa: PLC0414 - the fixture
from tests.api.conftest import IN_A_YEAR, World
from tests.api.conftest import world as api_world  # noqa: F401 - the fixture
from tests.concurrency import POSTGRESQL, at_once
from tests.portal.factories import belgian


def _two_managers() -> tuple[Access, Access]:
    company = belgian("Managers NV")
    first = manager_of(company, person("first", "first@managers.example"))
    second = manager_of(company, person("second", "second@managers.example"))
    return Access.objects.get(person=first), Access.objects.get(person=second)


@pytest.mark.django_db
def test_a_company_keeps_one_main_access_manager_twice_in_a_row() -> None:
    first, second = _two_managers()
    access_revoke(access=second, revoked_by=first.person)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="at least one main access manager"):
        access_revoke(access=first, revoked_by=first.person)  # type: ignore[arg-type]
    with pytest.raises(PermissionDenied):  # a revoked manager manages nothing any more
        access_revoke(access=first, revoked_by=second.person)  # type: ignore[arg-type]
    assert list(Access.objects.filter(role=AccessRole.MANAGER, revoked_at=None)) == [first]


@POSTGRESQL
@pytest.mark.django_db(transaction=True)
def test_two_managers_revoking_each_other_at_once_leave_one() -> None:
    """FAQ 23, the service's own rule: a company keeps at least one main access manager, also when its two
    managers revoke each other at the same moment."""
    first, second = _two_managers()
    results, errors = at_once(
        lambda: access_revoke(access=second, revoked_by=first.person),  # type: ignore[arg-type]
        lambda: access_revoke(access=first, revoked_by=second.person),  # type: ignore[arg-type]
    )
    assert len(results) == 1 and len(errors) == 1, errors
    assert isinstance(errors[0], PermissionDenied | ValidationError)
    assert Access.objects.filter(role=AccessRole.MANAGER, revoked_at=None).count() == 1
    assert connection.vendor == "postgresql"


# --- the workplace's other pages, walked as every role (docs/roles.md) ---------------------------------------


@pytest.mark.django_db
def test_each_role_reaches_exactly_its_other_workplace_pages(world: dict[str, Client]) -> None:
    """The bank and settings pages have their own walk (tests/accounts/test_roles.py): every other page of the
    workplace, GET and POST, as every role: reading for all, acting by the staff permission it needs."""
    from famhp.billing.models import AssessmentRun, Invoice
    from famhp.declarations.models import DeclarationVersion
    from famhp.workplace.models import ActionKind, MassAction

    year = Invoice.objects.order_by("-year").values_list("year", flat=True).first() or 2025
    operator = Operator.objects.filter(invoices__isnull=False).order_by("pk").first()
    assert operator is not None
    invoice = Invoice.objects.filter(operator=operator).order_by("pk").first()
    run = AssessmentRun.objects.order_by("pk").first()
    version = DeclarationVersion.objects.order_by("pk").first()
    assert invoice is not None and run is not None and version is not None
    creator = Person.objects.filter(is_staff=True).first()
    assert creator is not None
    action = MassAction.objects.create(
        key=uuid.uuid4(),
        kind=ActionKind.NOTICES,
        year=year,
        state="done",
        created_by=creator,
        finished_at=timezone.now(),
    )
    names = {n for n in workplace_names("") if not n.startswith(("bank_", "settings"))}
    matrix: dict[str, tuple[frozenset[str], frozenset[str]]] = {
        "dashboard": (EVERY_ROLE, EVERY_ROLE),
        "dashboard_year": (EVERY_ROLE, EVERY_ROLE),
        "operator": (EVERY_ROLE, EVERY_ROLE),
        "resend": (CAMPAIGN | CONTACTS, CAMPAIGN | CONTACTS),  # manage_contacts or manage_campaign
        "correct": (NOBODY, FINANCE),  # issue_invoices, POST only
        "credit": (NOBODY, FINANCE),  # issue_invoices, POST only
        "list": (EVERY_ROLE, EVERY_ROLE),
        "runs": (EVERY_ROLE, EVERY_ROLE),
        "run_assessment": (NOBODY, FINANCE),  # manage_year, POST only
        "run": (EVERY_ROLE, EVERY_ROLE),
        "closing": (FINANCE, FINANCE),  # manage_year
        "whatif": (EVERY_ROLE, EVERY_ROLE),
        "whatif_save": (NOBODY, FINANCE),  # manage_year, POST only
        "action": (FINANCE, FINANCE),  # the notices: issue_invoices
        "progress": (FINANCE, FINANCE),  # an action's pages: who may run it
        "result": (FINANCE, FINANCE),
        "resume": (NOBODY, FINANCE),
        "certificate": (EVERY_ROLE, EVERY_ROLE),
    }
    assert names == set(matrix), f"not walked: {sorted(names - set(matrix))}; stale: {sorted(set(matrix) - names)}"
    arguments: dict[str, list[object]] = {
        "dashboard_year": [year],
        "operator": [operator.pk],
        "resend": [operator.pk, year],
        "correct": [operator.pk, year],
        "credit": [invoice.pk],
        "list": ["invoices"],
        "runs": [year],
        "run_assessment": [year],
        "run": [run.pk],
        "closing": [year],
        "whatif": [year],
        "whatif_save": [year],
        "action": [year, ActionKind.NOTICES.value],
        "progress": [action.pk],
        "result": [action.pk],
        "resume": [action.pk],
        "certificate": [version.pk],
    }
    walk_workplace_matrix(
        world,
        matrix,
        lambda name: arguments.get(name, []),
        lambda: [Invoice.objects.count(), AssessmentRun.objects.count(), MassAction.objects.count()],
    )


# --- access revoked in the middle of a session ----------------------------------------------------------------


@pytest.mark.django_db
def test_access_revoked_mid_session_closes_the_company_at_the_next_request(
    api_world: World,  # noqa: F811 - the fixture
) -> None:
    """FAQ 23: a user sees only the companies that granted them access; a revoked grant closes them at once, in a
    browser session already open and for a token made before (never at the next login only)."""
    from famhp.accounts.services import access_grant

    w = api_world
    clerk = person("clerk", "clerk@alpha.be")
    access = access_claim(access=access_grant(operator=w.a, email=clerk.email, granted_by=w.alice), person=clerk)
    _row, token = token_create(person=clerk, name="books", companies=[w.a], read_write=False, expires_on=IN_A_YEAR)
    browser = w.session(clerk)
    pages = [
        reverse("payments:statement", args=[w.a.pk]),
        reverse("billing:invoices", args=[w.a.pk]),
        reverse("billing:invoice_pdf", args=[w.a_invoice.pk]),
    ]
    api = [
        reverse("api:statement", args=[w.a.pk]),
        reverse("api:company_invoices", args=[w.a.pk]),
        reverse("api:invoice", args=[w.a_invoice.pk]),
    ]
    for _twice in range(2):
        assert [browser.get(url).status_code for url in pages] == [200, 200, 200]
        assert [w.api(token).get(url).status_code for url in api] == [200, 200, 200]
    access_revoke(access=access, revoked_by=w.alice)
    for _twice in range(2):
        assert all(browser.get(url).status_code in {403, 404} for url in pages), pages
        assert all(w.api(token).get(url).status_code in {403, 404} for url in api), api
        assert w.api(token).get(reverse("api:companies")).json() == []


@POSTGRESQL
@pytest.mark.django_db(transaction=True)
def test_one_grant_posted_twice_at_once_grants_once_and_says_so() -> None:
    """A double click on "grant": one access, and the second click gets the service's clear refusal, not a
    database error."""
    from famhp.accounts.services import access_grant

    company = belgian("Grant NV")
    manager = manager_of(company, person("boss", "boss@grant.example"))
    results, errors = at_once(
        lambda: access_grant(operator=company, email="new@grant.example", granted_by=manager),
        lambda: access_grant(operator=company, email="new@grant.example", granted_by=manager),
    )
    assert len(results) == 1 and len(errors) == 1, errors
    assert isinstance(errors[0], ValidationError) and "already has this access" in str(errors[0]), errors
    assert Access.objects.filter(email="new@grant.example", revoked_at=None).count() == 1


@POSTGRESQL
@pytest.mark.django_db(transaction=True)
def test_one_foreign_account_posted_twice_at_once_is_created_once() -> None:
    from famhp.accounts.services import foreign_account_create

    company = belgian("Account NV")
    manager = manager_of(company, person("chief", "chief@account.example"))

    def create() -> object:
        return foreign_account_create(
            operator=company, username="hans", email="hans@account.example", created_by=manager
        )

    results, errors = at_once(create, create)
    assert len(results) == 1 and len(errors) == 1, errors
    assert isinstance(errors[0], ValidationError) and "username is taken" in str(errors[0]), errors
    assert Person.objects.filter(username="hans").count() == 1


# --- invitations sent twice at once (the admin action or the command, twice) -----------------------------------


@POSTGRESQL
@pytest.mark.django_db(transaction=True)
def test_invitations_sent_twice_at_once_mail_each_operator_once() -> None:
    from django.core import mail

    from famhp.declarations.models import Invitation
    from famhp.declarations.services import campaign_send_invitations
    from tests.portal.factories import campaign, with_activity

    c = campaign(2025)
    for name in ("Alpha NV", "Bravo NV", "Charlie NV"):
        with_activity(belgian(name))
    results, errors = at_once(
        lambda: campaign_send_invitations(campaign=c, batch=1),
        lambda: campaign_send_invitations(campaign=c, batch=1),
    )
    assert not errors, errors
    assert sorted(results) == [0, 3]
    assert len(mail.outbox) == 3 and Invitation.objects.count() == 3
