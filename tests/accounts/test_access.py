"""Access: grants and revocations by main access managers, pending grants, the audit log, agency roles."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from famhp.accounts.models import Access, AccessRole, AuditEvent, OidcIdentity
from famhp.accounts.roles import ADMINISTRATOR, AUDITOR, FINANCE_OFFICER, SUPPORT, agency_roles_setup
from famhp.accounts.selectors import operators_for
from famhp.accounts.services import access_grant, access_revoke, person_from_oidc
from tests.accounts.conftest import manager_of, person
from tests.portal.factories import belgian

pytestmark = pytest.mark.django_db


def test_an_oidc_identity_maps_to_a_person_never_to_a_company() -> None:
    claims = {"sub": "85073003328", "given_name": "An", "family_name": "Peeters", "email": "an@medilab.be"}
    first = person_from_oidc(issuer="https://idp.example", claims=claims)
    again = person_from_oidc(issuer="https://idp.example", claims={**claims, "email": "an.peeters@medilab.be"})
    assert first.pk == again.pk and again.email == "an.peeters@medilab.be"
    assert OidcIdentity.objects.get().subject == "85073003328"
    assert list(operators_for(first)) == []  # logging in gives access to no company


def test_a_pending_grant_binds_at_first_login_by_email() -> None:
    operator = belgian()
    access_grant(operator=operator, email="An.Peeters@medilab.be", role=AccessRole.ENTERPRISE_USER, granted_by=None)
    an = person_from_oidc(issuer="https://idp.example", claims={"sub": "1", "email": "an.peeters@medilab.be"})
    assert list(operators_for(an)) == [operator]


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
    assert kinds == [("grant", None), ("grant", "boss"), ("revoke", "boss")]


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
