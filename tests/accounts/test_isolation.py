"""Strict isolation, proven on every URL pattern: a user of company A gets nothing of company B.

Every named URL pattern of the portal must appear in COVERAGE below, which says how a user of A attacks B's
objects through it. A new pattern without an entry fails the first test, so nothing is added uncovered.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.core import signing
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from famhp.accounts.models import Access
from famhp.accounts.services import CLAIM_SALT, access_grant
from famhp.billing.models import Invoice
from famhp.declarations.models import Campaign, DeclarationVersion
from famhp.declarations.services import INVITATION_SALT, Figures
from famhp.registry.models import Operator
from tests.accounts.conftest import OIDC, manager_of, person
from tests.portal.factories import belgian, campaign, declare, invoice_for, with_activity

pytestmark = pytest.mark.django_db
#: Namespaces that are not the portal's own: Django's admin (staff only) is checked separately below; the API's
#: every route (and its token and bulk pages) has its own coverage test in tests/api/test_isolation.py; the staff
#: workplace's every route refuses a company user in tests/workplace/test_access.py.
FOREIGN_NAMESPACES = {"admin", "api", "workplace"}
#: Third-party login endpoints and Django's language switch: they hold no company's data.
NOT_COMPANY_DATA = {"set_language", "oidc_authentication_init", "oidc_authentication_callback", "oidc_logout"}


def named_patterns(resolvers: list[URLResolver | URLPattern] | None = None, namespace: str = "") -> Iterator[str]:
    for entry in resolvers if resolvers is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            if entry.namespace not in FOREIGN_NAMESPACES:
                yield from named_patterns(entry.url_patterns, inner)
        elif entry.name:
            yield f"{namespace}{entry.name}"


@dataclass
class World:
    campaign: Campaign
    a: Operator
    b: Operator
    b_version: DeclarationVersion
    b_access: Access
    b_invoice: Invoice
    client: Client  # logged in as A's manager, through the federal authentication service


Attack = Callable[[World], list[tuple[str, str, dict[str, Any]]]]


def forged_token(w: World) -> str:
    # A token for B signed with another key: the signature cannot be produced without the server's secret.
    return signing.dumps({"c": w.campaign.pk, "o": w.b.pk}, key="not-the-secret", salt=INVITATION_SALT)


def forged_claim(w: World) -> str:
    # B's pending grant's link, signed with another key.
    return signing.dumps({"a": w.b_access.pk, "e": w.b_access.email}, key="not-the-secret", salt=CLAIM_SALT)


COVERAGE: dict[str, Attack | str] = {
    "home": "public page: holds no company's data",
    "accounts:login": "public page: holds no company's data",
    "accounts:password_login": "public page: holds no company's data",
    "accounts:code": "pending login step: tied to the person who gave the password",
    "accounts:enrol": "pending login step: tied to the person who gave the password",
    "accounts:logout": "acts on the caller's own session only",
    "accounts:logout_everywhere": "acts on the caller's own sessions only",
    "accounts:set_password": "needs a token made for one person's account",
    "accounts:companies": lambda w: [],  # checked by content below: lists A only
    "accounts:claim": lambda w: [
        ("get", reverse("accounts:claim", args=[forged_claim(w)]), {}),
        ("post", reverse("accounts:claim", args=[forged_claim(w)]), {}),
    ],
    "accounts:company_users": lambda w: [
        ("get", reverse("accounts:company_users", args=[w.b.pk]), {}),
        (
            "post",
            reverse("accounts:company_users", args=[w.b.pk]),
            {"action": "grant", "grant-email": "x@a.be", "grant-role": "manager"},
        ),
    ],
    "accounts:access_revoke": lambda w: [
        ("post", reverse("accounts:access_revoke", args=[w.b.pk, w.b_access.pk]), {}),
        ("post", reverse("accounts:access_revoke", args=[w.a.pk, w.b_access.pk]), {}),  # B's access via A's page
    ],
    "accounts:authenticator_reset": lambda w: [
        ("post", reverse("accounts:authenticator_reset", args=[w.b.pk, w.b_access.pk]), {}),
        ("post", reverse("accounts:authenticator_reset", args=[w.a.pk, w.b_access.pk]), {}),
    ],
    "declarations:invitation": lambda w: [("get", reverse("declarations:invitation", args=[forged_token(w)]), {})],
    "declarations:figures": lambda w: [
        ("get", reverse("declarations:figures", args=[w.campaign.year, w.b.pk]), {}),
        (
            "post",
            reverse("declarations:figures", args=[w.campaign.year, w.b.pk]),
            {"total_turnover": "1", "levied_turnover": "1"},
        ),
    ],
    "declarations:confirm": lambda w: [
        ("get", reverse("declarations:confirm", args=[w.campaign.year, w.b.pk]), {}),
        ("post", reverse("declarations:confirm", args=[w.campaign.year, w.b.pk]), {"certifier_name": "x"}),
    ],
    "declarations:versions": lambda w: [("get", reverse("declarations:versions", args=[w.campaign.year, w.b.pk]), {})],
    "declarations:certificate": lambda w: [("get", reverse("declarations:certificate", args=[w.b_version.pk]), {})],
    "billing:invoices": lambda w: [("get", reverse("billing:invoices", args=[w.b.pk]), {})],
    "billing:invoice_pdf": lambda w: [("get", reverse("billing:invoice_pdf", args=[w.b_invoice.pk]), {})],
    "billing:invoice_ubl": lambda w: [("get", reverse("billing:invoice_ubl", args=[w.b_invoice.pk]), {})],
    "payments:statement": lambda w: [("get", reverse("payments:statement", args=[w.b.pk]), {})],
    "payments:statement_pdf": lambda w: [("get", reverse("payments:statement_pdf", args=[w.b.pk]), {})],
}


@pytest.fixture
def world() -> World:
    c = campaign()
    a, b = with_activity(belgian("Alpha Medical NV")), with_activity(belgian("Bravo Devices NV"))
    boss_a = manager_of(a, person("alpha", "boss@alpha.be"))
    boss_b = manager_of(b, person("bravo", "boss@bravo.be"))
    b_access = access_grant(operator=b, email="clerk@bravo.be", granted_by=boss_b)
    version = declare(
        c,
        b,
        Figures(Decimal("123456.78"), Decimal("100000.00"), False, False),
        now=datetime.datetime(2025, 5, 1, 9, tzinfo=datetime.UTC),
    )
    invoice = invoice_for(b, "415.74")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(boss_a, backend=OIDC)
    return World(c, a, b, version, b_access, invoice, client)


def test_every_url_pattern_is_covered() -> None:
    patterns = set(named_patterns()) - NOT_COMPANY_DATA
    assert patterns == set(COVERAGE), (
        f"not covered: {sorted(patterns - set(COVERAGE))}; stale: {sorted(set(COVERAGE) - patterns)}"
    )


@pytest.mark.parametrize("name", sorted(k for k, v in COVERAGE.items() if callable(v)))
def test_a_user_of_a_is_refused_everything_of_b(name: str, world: World) -> None:
    attack = COVERAGE[name]
    assert callable(attack)
    before = (DeclarationVersion.objects.count(), Access.objects.filter(revoked_at=None).count())
    for method, url, data in attack(world):
        response = getattr(world.client, method)(url, data)
        assert response.status_code in {403, 404}, (name, method, url, response.status_code)
        body = response.content.decode(errors="replace") if not response.streaming else ""
        assert "Bravo" not in body and "123456" not in body and "123.456" not in body, (name, url)
    assert (DeclarationVersion.objects.count(), Access.objects.filter(revoked_at=None).count()) == before


def test_pages_without_company_objects_never_show_b(world: World) -> None:
    for name in ("home", "accounts:login", "accounts:password_login", "accounts:companies"):
        body = world.client.get(reverse(name)).content.decode()
        assert "Bravo" not in body, name
    assert "Alpha Medical NV" in world.client.get(reverse("accounts:companies")).content.decode()
    own = world.client.get(reverse("billing:invoices", args=[world.a.pk]))
    assert own.status_code == 200 and world.b_invoice.number not in own.content.decode()


def test_the_admin_is_closed_to_company_users(world: World) -> None:
    response = world.client.get(reverse("admin:registry_operator_change", args=[world.b.pk]))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
