"""Access: grants and revocations by main access managers, pending grants, the audit log, agency roles."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from famhp.accounts.models import Access, AccessRole, AuditEvent, OidcIdentity
from famhp.accounts.roles import ADMINISTRATOR, AUDITOR, FINANCE_OFFICER, SUPPORT, agency_roles_setup
from famhp.accounts.selectors import operators_for
from famhp.accounts.services import (
    access_claim,
    access_claim_link,
    access_from_claim,
    access_grant,
    access_revoke,
    foreign_account_create,
    person_from_oidc,
)
from tests.accounts.conftest import manager_of, person
from tests.portal.factories import belgian, campaign, foreign, with_activity

pytestmark = pytest.mark.django_db
ISSUER = "http://localhost:8100"  # the settings' federal issuer (tests/settings.py keeps famhp's default)


def test_an_oidc_identity_maps_to_a_person_never_to_a_company() -> None:
    claims = {"sub": "85073003328", "given_name": "An", "family_name": "Peeters", "email": "an@medilab.be"}
    first = person_from_oidc(issuer="https://idp.example", claims=claims)
    again = person_from_oidc(issuer="https://idp.example", claims={**claims, "email": "an.peeters@medilab.be"})
    assert first.pk == again.pk and again.email == "an.peeters@medilab.be"
    assert OidcIdentity.objects.get().subject == "85073003328"
    assert list(operators_for(first)) == []  # logging in gives access to no company


def test_a_pending_grant_binds_at_the_federal_login_by_subject_never_by_email_alone() -> None:
    operator = belgian()
    access_grant(
        operator=operator, email="An.Peeters@medilab.be", role=AccessRole.ENTERPRISE_USER, granted_by=None, subject="1"
    )
    impostor = person_from_oidc(issuer=ISSUER, claims={"sub": "2", "email": "an.peeters@medilab.be"})
    assert list(operators_for(impostor)) == []  # the same e-mail, another identity: nothing
    an = person_from_oidc(issuer=ISSUER, claims={"sub": "1", "email": "an@elsewhere.example"})
    assert list(operators_for(an)) == [operator]  # the subject the grant names, whatever its e-mail


def test_a_grant_without_subject_binds_to_whoever_opens_its_link_logged_in() -> None:
    operator = belgian("B NV")
    boss = manager_of(operator, person("boss", "boss@b.be"))
    access = access_grant(operator=operator, email="clerk@b.be", granted_by=boss)
    clerk = person_from_oidc(issuer=ISSUER, claims={"sub": "3", "email": "clerk@b.be"})
    assert access.person is None and list(operators_for(clerk)) == []  # an e-mail alone binds nothing
    link = access_claim_link(access)
    found = access_from_claim(link.rsplit("/", 2)[-2])
    assert found == access
    access_claim(access=found, person=clerk)
    assert list(operators_for(clerk)) == [operator]
    assert access_from_claim(link.rsplit("/", 2)[-2]) is None  # used: the link is spent
    assert AuditEvent.objects.filter(kind="grant_bound", person=clerk, operator=operator).exists()


def test_takeover_across_companies_is_refused() -> None:
    """Issue 10: X's manager creates an account for an address of company B; B's manager later grants that
    address. The grant must not bind to X's account, and X's manager must not open B's declaration."""
    x, b = with_activity(foreign("X GmbH")), with_activity(belgian("B NV"))
    c = campaign()
    boss_x = manager_of(x, person("boss-x", "boss@x.example"))
    boss_b = manager_of(b, person("boss-b", "boss@b.be"))
    planted, _link = foreign_account_create(operator=x, username="planted", email="finance@b.be", created_by=boss_x)
    access = access_grant(operator=b, email="finance@b.be", granted_by=boss_b)
    assert access.person is None  # not bound to X's account, though it has that e-mail
    assert list(operators_for(planted)) == [x]
    with pytest.raises(ValidationError):  # even X's manager holding B's link cannot bind it to X's account
        access_claim(access=access, person=planted)
    # X's manager logs in as the planted account (it chose its password) with an authenticator: nothing of B.
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(planted, backend="famhp.accounts.oidc.PersonOIDCBackend")
    assert client.get(reverse("declarations:figures", args=[c.year, b.pk])).status_code == 403
    assert "B NV" not in client.get(reverse("accounts:companies")).content.decode()


def test_the_managers_page_mails_the_link_of_a_pending_grant(mailoutbox: list[Any]) -> None:
    operator = belgian("B NV")
    boss = manager_of(operator, person("boss", "boss@b.be"))
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(boss, backend="famhp.accounts.oidc.PersonOIDCBackend")
    response = client.post(
        reverse("accounts:company_users", args=[operator.pk]),
        {"action": "grant", "grant-email": "clerk@b.be", "grant-role": "enterprise_user", "confirmed": "yes"},
    )
    assert response.status_code == 302
    assert [m.to for m in mailoutbox] == [["clerk@b.be"]]
    token = mailoutbox[0].body.split("/access/")[1].split("/")[0]
    clerk = person_from_oidc(issuer=ISSUER, claims={"sub": "9", "email": "someone@else.example"})
    other = Client(HTTP_ACCEPT_LANGUAGE="en")
    other.force_login(clerk, backend="famhp.accounts.oidc.PersonOIDCBackend")
    assert other.get(reverse("accounts:claim", args=[token])).status_code == 200
    assert other.post(reverse("accounts:claim", args=[token])).status_code == 302
    assert list(operators_for(clerk)) == [operator]


def test_only_a_manager_grants_and_every_grant_and_revocation_is_logged() -> None:
    a, b = belgian("A NV"), belgian("B NV")
    boss = manager_of(a, person("boss", "boss@a.be"))
    stranger = person("stranger", "x@b.be")
    with pytest.raises(PermissionDenied):
        access_grant(operator=a, email="new@a.be", granted_by=stranger)
    with pytest.raises(PermissionDenied):
        access_grant(operator=b, email="new@b.be", granted_by=boss)  # manager of A, not of B
    access = access_grant(operator=a, email="new@a.be", granted_by=boss)
    with pytest.raises(ValidationError):
        access_grant(operator=a, email="NEW@a.be", granted_by=boss)  # already has it
    access_revoke(access=access, revoked_by=boss)
    kinds = list(AuditEvent.objects.filter(operator=a).order_by("pk").values_list("kind", "actor__username"))
    assert kinds == [("grant", None), ("grant_bound", "boss"), ("grant", "boss"), ("revoke", "boss")]


def test_a_company_keeps_a_main_access_manager() -> None:
    a = belgian()
    boss = manager_of(a, person("boss", "boss@a.be"))
    with pytest.raises(ValidationError):
        access_revoke(access=Access.objects.get(person=boss), revoked_by=boss)


def test_agency_roles() -> None:
    groups = agency_roles_setup()

    def codes(role: str) -> set[str]:
        return set(groups[role].permissions.values_list("codename", flat=True))

    finance, auditor, support, administrator = (
        codes(FINANCE_OFFICER),
        codes(AUDITOR),
        codes(SUPPORT),
        codes(ADMINISTRATOR),
    )
    assert {"manage_year", "issue_invoices", "manage_payments", "manage_register", "manage_campaign"} <= finance
    assert {"change_yearsettings", "change_activity", "view_invoice", "view_declarationversion"} <= finance
    assert not {"manage_staff", "manage_contacts", "change_person", "change_group"} & finance
    assert auditor and all(code.startswith("view_") for code in auditor)
    assert {"view_invoice", "view_bankline", "view_person", "view_auditevent"} <= auditor
    assert {"manage_contacts", "manage_campaign", "change_operator", "delete_totpdevice"} <= support
    assert (
        not {"change_activity", "change_yearsettings", "manage_register", "issue_invoices", "change_person"} & support
    )
    assert {"manage_staff", "change_person", "change_group"} <= administrator


def test_support_sets_up_a_companys_first_manager_in_the_admin(mailoutbox: list[Any]) -> None:
    from tests.accounts.conftest import staff, staff_client

    operator = belgian("B NV")
    planted = person("planted", "boss@b.be")  # an existing account with that e-mail: never bound by e-mail
    client = staff_client(staff("helpdesk", SUPPORT))
    response = client.post(
        reverse("admin:accounts_access_add"),
        {"operator": operator.pk, "email": "Boss@B.be", "subject": "", "role": AccessRole.MANAGER},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    access = Access.objects.get(operator=operator)
    assert (access.email, access.role, access.person, access.granted_by.username) == (  # type: ignore[union-attr]
        "boss@b.be",
        AccessRole.MANAGER,
        None,
        "helpdesk",
    )
    assert [m.to for m in mailoutbox] == [["boss@b.be"]] and planted.pk
    denied = staff_client(staff("reader", AUDITOR)).post(
        reverse("admin:accounts_access_add"), {"operator": operator.pk, "email": "x@b.be", "role": "manager"}
    )
    assert denied.status_code == 403
