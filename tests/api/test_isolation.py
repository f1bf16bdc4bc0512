"""Strict isolation through the API, proven on every route: a user of company A, with a token or logged in,
gets nothing of company B, and writes nothing.

Every named route of the API (the ``api`` namespace: /api/v1/ and the portal's token and bulk pages) must appear
in COVERAGE, which says how A attacks B's objects through it. A new route without an entry fails the first
test, so nothing is added uncovered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from famhp.accounts.models import AuditEvent
from famhp.api.models import ApiToken
from famhp.api.services import TOKEN_USED, token_create
from famhp.declarations.models import DeclarationVersion
from tests.api.conftest import IN_A_YEAR, World
from tests.portal.factories import pdf

pytestmark = pytest.mark.django_db
REFUSED = {403, 404}
Attack = Callable[[World, ApiToken], list[tuple[str, str, dict[str, Any], set[int]]]]


def api_routes() -> set[str]:
    for entry in get_resolver().url_patterns:
        if isinstance(entry, URLResolver) and entry.namespace == "api":
            return {f"api:{p.name}" for p in entry.url_patterns if isinstance(p, URLPattern) and p.name}
    raise AssertionError("the API is not mounted")


def submission() -> dict[str, Any]:
    return {
        "total_turnover": "1.00",
        "levied_turnover": "1.00",
        "certifier_name": "Mallory",
        "certifier_capacity": "external_accountant",
        "certificate": pdf(),
    }


def bulk_for_b(w: World, field: str) -> dict[str, Any]:
    text = (
        "year,company,total_turnover,levied_turnover,certifier_name,certifier_capacity,certificate\n"
        f"2025,{w.b.enterprise_number},1.00,1.00,Mallory,external_accountant,c.pdf\n"
    )
    return {"declarations": SimpleUploadedFile("d.csv", text.encode(), "text/csv"), field: pdf("c.pdf")}


def declaration_of_b(w: World) -> str:
    return reverse("api:declaration", args=[w.b.pk, 2025])


COVERAGE: dict[str, Attack | str] = {
    "api:schema": "public: the API's description, no company's data",
    "api:docs": "public: the API's documentation page, no company's data",
    "api:not_found": "answers 404 to any address the API does not have, with nothing of anyone",
    "api:companies": lambda w, bt: [("get", reverse("api:companies"), {}, {200})],  # content checked below
    "api:campaigns": lambda w, bt: [("get", reverse("api:campaigns"), {}, {200})],
    "api:declaration": lambda w, bt: [
        ("get", declaration_of_b(w), {}, REFUSED),
        ("post", declaration_of_b(w), submission(), REFUSED),
        ("get", reverse("api:declaration", args=[w.b.pk + 1000, 2025]), {}, REFUSED),  # no such company: the same
    ],
    "api:estimate": lambda w, bt: [
        ("post", reverse("api:estimate", args=[w.b.pk, 2025]), {"total_turnover": "1", "levied_turnover": "1"}, REFUSED)
    ],
    # a bulk upload names B in a row: the row is refused as a company the caller does not act for
    "api:bulk": lambda w, bt: [("post", reverse("api:bulk"), bulk_for_b(w, "certificates"), {400})],
    "api:bulk_upload": lambda w, bt: [("post", reverse("api:bulk_upload"), bulk_for_b(w, "certificates"), {200, 302})],
    "api:company_invoices": lambda w, bt: [("get", reverse("api:company_invoices", args=[w.b.pk]), {}, REFUSED)],
    "api:statement": lambda w, bt: [("get", reverse("api:statement", args=[w.b.pk]), {}, REFUSED)],
    "api:invoice": lambda w, bt: [("get", reverse("api:invoice", args=[w.b_invoice.pk]), {}, REFUSED)],
    "api:invoice_pdf": lambda w, bt: [("get", reverse("api:invoice_pdf", args=[w.b_invoice.pk]), {}, REFUSED)],
    "api:invoice_ubl": lambda w, bt: [("get", reverse("api:invoice_ubl", args=[w.b_invoice.pk]), {}, REFUSED)],
    "api:agency_operators": lambda w, bt: [("get", reverse("api:agency_operators"), {}, REFUSED)],
    "api:agency_assessments": lambda w, bt: [("get", reverse("api:agency_assessments", args=[2025]), {}, REFUSED)],
    "api:agency_invoices": lambda w, bt: [("get", reverse("api:agency_invoices"), {}, REFUSED)],
    "api:agency_payments": lambda w, bt: [("get", reverse("api:agency_payments"), {}, REFUSED)],
    "api:tokens": lambda w, bt: [("get", reverse("api:tokens"), {}, {200, 302})],  # lists the caller's own only
    "api:token_revoke": lambda w, bt: [("post", reverse("api:token_revoke", args=[bt.pk]), {}, REFUSED | {302})],
}
#: The portal's pages answer a token with the login page (302): they are for a person in a browser.
PORTAL_PAGES = {"api:tokens", "api:token_revoke", "api:bulk_upload"}


def test_every_api_route_is_covered() -> None:
    routes = api_routes()
    assert routes == set(COVERAGE), (
        f"not covered: {sorted(routes - set(COVERAGE))}; stale: {sorted(set(COVERAGE) - routes)}"
    )


def state() -> tuple[int, int, int]:
    return (
        DeclarationVersion.objects.count(),
        ApiToken.objects.filter(revoked_at=None).count(),
        AuditEvent.objects.exclude(kind=TOKEN_USED).count(),
    )


@pytest.mark.parametrize("how", ["token", "session"])
@pytest.mark.parametrize("name", sorted(k for k, v in COVERAGE.items() if callable(v)))
def test_a_user_of_a_gets_nothing_of_b(name: str, how: str, world: World) -> None:
    b_token, _text = token_create(
        person=world.bob, name="bravo-books", companies=[world.b], read_write=True, expires_on=IN_A_YEAR
    )
    client: Client = world.api() if how == "token" else world.session()
    attack = COVERAGE[name]
    assert callable(attack)
    before = state()
    for method, url, data, expected in attack(world, b_token):
        response = getattr(client, method)(url, data)
        allowed = expected | ({302} if how == "token" and name in PORTAL_PAGES else set())
        assert response.status_code in allowed, (name, how, method, url, response.status_code, response.content[:300])
        body = response.content.decode(errors="replace")
        for secret in ("Bravo", "123456", world.b_invoice.number, world.b.enterprise_number, "bravo-books"):
            assert secret not in body, (name, how, url, secret)
        if response.status_code in REFUSED and url.startswith("/api/v1/"):
            assert response["Content-Type"] == "application/problem+json"
        if name == "api:campaigns":
            assert all(c["company"] != world.b.pk for row in response.json() for c in row["companies"])
    assert state() == before, name


def test_a_token_of_a_does_not_reach_b_even_when_the_person_acts_for_both(world: World) -> None:
    """The token's scope is a subset: Alice, made B's user too, still reaches only A with her A token."""
    from tests.accounts.conftest import manager_of

    manager_of(world.b, world.alice)
    client = world.api()
    assert [c["id"] for c in client.get(reverse("api:companies")).json()] == [world.a.pk]
    assert client.get(reverse("api:company_invoices", args=[world.b.pk])).status_code == 404
    assert client.get(reverse("api:invoice", args=[world.b_invoice.pk])).status_code == 404
    assert client.get(reverse("api:declaration", args=[world.b.pk, 2025])).status_code == 404
