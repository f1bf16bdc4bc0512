"""A world of two companies for the API's tests: A (the caller's) and B (someone else's)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from famhp.accounts.models import Person
from famhp.api.models import ApiToken
from famhp.api.services import token_create
from famhp.billing.models import Invoice
from famhp.declarations.models import Campaign, DeclarationVersion
from famhp.declarations.services import Figures
from famhp.registry.models import Operator
from tests.accounts.conftest import OIDC, manager_of, person
from tests.portal.factories import belgian, campaign, declare, invoice_for, with_activity

IN_A_YEAR = timezone.localdate() + datetime.timedelta(days=300)


@dataclass
class World:
    campaign: Campaign
    a: Operator
    b: Operator
    alice: Person  # A's main access manager
    bob: Person  # B's
    a_invoice: Invoice
    b_invoice: Invoice
    b_version: DeclarationVersion
    token: str  # Alice's read-write token for A
    token_row: ApiToken

    def api(self, token: str | None = None, language: str = "en") -> Client:
        return Client(HTTP_AUTHORIZATION=f"Bearer {token or self.token}", HTTP_ACCEPT_LANGUAGE=language)

    def session(self, who: Person | None = None) -> Client:
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(who or self.alice, backend=OIDC)
        return client


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    cache.clear()


@pytest.fixture
def world() -> World:
    c = campaign()
    a = with_activity(belgian("Alpha Medical NV"))
    b = with_activity(belgian("Bravo Devices NV"))
    alice = manager_of(a, person("alice", "alice@alpha.be"))
    bob = manager_of(b, person("bob", "bob@bravo.be"))
    b_version = declare(
        c,
        b,
        Figures(Decimal("123456.78"), Decimal("100000.00"), False, False),
        now=datetime.datetime(2025, 5, 1, 9, tzinfo=datetime.UTC),
    )
    row, text = token_create(person=alice, name="books", companies=[a], read_write=True, expires_on=IN_A_YEAR)
    return World(
        c,
        a,
        b,
        alice,
        bob,
        invoice_for(a, "1970.26", year=2025),
        invoice_for(b, "415.74", sequence=2, year=2025),
        b_version,
        text,
        row,
    )
