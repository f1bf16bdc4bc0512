"""Bulk declarations: CSV or JSON for many companies, checked as a whole, all or nothing, with certificates."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from famhp.api.services import token_create
from famhp.declarations.models import DeclarationVersion
from famhp.registry.models import Operator
from tests.accounts.conftest import manager_of
from tests.api.conftest import IN_A_YEAR, World
from tests.portal.factories import PDF, belgian, pdf, with_activity

pytestmark = pytest.mark.django_db
HEADER = "year,company,total_turnover,levied_turnover,below_threshold,not_liable,certifier_name,certifier_capacity,certifier_membership_number,certificate\n"


@pytest.fixture
def two(world: World) -> tuple[World, Operator, str]:
    """Alice acts for a second company; her token reaches both."""
    a2 = with_activity(belgian("Alpha Two BV"))
    manager_of(a2, world.alice)
    _row, token = token_create(
        person=world.alice, name="bulk", companies=[world.a, a2], read_write=True, expires_on=IN_A_YEAR
    )
    return world, a2, token


def csv_file(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("declarations.csv", text.encode(), content_type="text/csv")


def stored_certificates() -> list[Path]:
    return list(Path(settings.MEDIA_ROOT).rglob("*.pdf"))


def test_a_csv_for_two_companies_is_recorded_with_its_certificates(two: tuple[World, Operator, str]) -> None:
    world, a2, token = two
    upload = csv_file(
        HEADER
        + f"2025,{world.a.enterprise_number},100000.00,100000.00,,,An Peeters,external_accountant,12345,alpha\n"
        + f"2025,{a2.enterprise_number},60000.00,40000.00,false,false,An Peeters,company_auditor,,alpha-two.pdf\n"
    )
    response = world.api(token).post(
        "/api/v1/declarations/bulk/",
        {"declarations": upload, "alpha": pdf("a.pdf"), "certificates": pdf("alpha-two.pdf")},
    )
    assert response.status_code == 201, response.content
    assert response.json()["submitted"] == 2
    versions = DeclarationVersion.objects.order_by("declaration__operator__name")
    assert [
        (v.declaration.operator, v.levied_turnover, v.certifier_capacity)
        for v in versions
        if v.declaration.operator != world.b
    ] == [
        (world.a, Decimal("100000.00"), "external_accountant"),
        (a2, Decimal("40000.00"), "company_auditor"),
    ]


def test_one_bad_row_records_nothing_and_every_problem_is_named(two: tuple[World, Operator, str]) -> None:
    world, a2, token = two
    before, files_before = DeclarationVersion.objects.count(), len(stored_certificates())
    upload = csv_file(
        HEADER
        + f"2025,{world.a.enterprise_number},100000.00,100000.00,,,An Peeters,external_accountant,,alpha.pdf\n"
        + f"2025,{world.b.enterprise_number},1.00,1.00,,,An Peeters,external_accountant,,alpha.pdf\n"
        + f"2025,{a2.enterprise_number},60000.00,70000.00,,,An Peeters,external_accountant,,missing.pdf\n"
        + f"2025,{a2.enterprise_number},abc,1.00,,,,nobody,,alpha.pdf\n"
    )
    response = world.api(token).post(
        "/api/v1/declarations/bulk/", {"declarations": upload, "certificates": pdf("alpha.pdf")}
    )
    assert response.status_code == 400
    problems = {(e["row"], e["field"]) for e in response.json()["errors"]}
    assert problems == {
        (2, "company"),  # B: not a company Alice acts for (and said the same way whether it exists or not)
        (3, "levied_turnover"),  # levied above total (RULES §3)
        (3, "certificate"),  # no such file
        (4, "total_turnover"),
        (4, "certifier_name"),
        (4, "certifier_capacity"),
    }
    assert "Bravo" not in response.content.decode()
    assert DeclarationVersion.objects.count() == before
    assert len(stored_certificates()) == files_before  # row 1 was fine, and nothing of it was kept either


def test_json_with_exact_decimals(two: tuple[World, Operator, str]) -> None:
    world, a2, token = two
    rows = [
        {
            "year": 2025,
            "company": world.a.enterprise_number,
            "total_turnover": 100000.10,
            "levied_turnover": "99999.99",
            "certifier_name": "An Peeters",
            "certifier_capacity": "company_auditor",
            "certificate": "c1",
        },
        {
            "year": 2025,
            "company": a2.enterprise_number,
            "total_turnover": "1000.00",
            "levied_turnover": 0,
            "below_threshold": True,
            "certifier_name": "An Peeters",
            "certifier_capacity": "company_auditor",
            "certificate": "c2",
        },
    ]
    upload = SimpleUploadedFile("declarations.json", json.dumps(rows).encode(), content_type="application/json")
    response = world.api(token).post("/api/v1/declarations/bulk/", {"declarations": upload, "c1": pdf(), "c2": pdf()})
    assert response.status_code == 201, response.content
    version = DeclarationVersion.objects.get(declaration__operator=world.a)
    assert str(version.total_turnover) == "100000.10"  # read as a decimal, never through a float


def test_the_same_company_twice_and_a_read_only_token(two: tuple[World, Operator, str]) -> None:
    world, _a2, _token = two
    line = f"2025,{world.a.enterprise_number},100000.00,100000.00,,,An Peeters,external_accountant,,c\n"
    response = world.api().post(
        "/api/v1/declarations/bulk/", {"declarations": csv_file(HEADER + line + line), "c": pdf()}
    )
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [(2, "company")]
    _row, reader = token_create(
        person=world.alice, name="ro", companies=[world.a], read_write=False, expires_on=IN_A_YEAR
    )
    response = world.api(reader).post(
        "/api/v1/declarations/bulk/", {"declarations": csv_file(HEADER + line), "c": pdf()}
    )
    assert [(e["row"], e["field"]) for e in response.json()["errors"]] == [(1, "company")]
    assert not DeclarationVersion.objects.filter(declaration__operator=world.a).exists()


def test_the_portal_upload_page_does_the_same(two: tuple[World, Operator, str]) -> None:
    world, a2, _token = two
    client = world.session()
    assert client.get(reverse("api:bulk_upload")).status_code == 200
    upload = csv_file(
        HEADER + f"2025,{a2.enterprise_number},100.00,100.00,true,,An Peeters,external_accountant,,mine.pdf\n"
    )
    page = client.post(
        reverse("api:bulk_upload"),
        {"declarations": upload, "certificates": [SimpleUploadedFile("mine.pdf", PDF, content_type="application/pdf")]},
    )
    assert page.status_code == 200
    assert DeclarationVersion.objects.filter(declaration__operator=a2).count() == 1
    assert "Alpha Two BV" in page.content.decode()


def test_a_deeply_nested_json_is_bad_input_not_a_server_error(two: tuple[World, Operator, str]) -> None:
    world, _a2, token = two
    deep = ("[" * 100_000 + "]" * 100_000).encode()
    upload = SimpleUploadedFile("declarations.json", deep, content_type="application/json")
    bulk = world.api(token).post("/api/v1/declarations/bulk/", {"declarations": upload})
    assert bulk.status_code == 400 and bulk["Content-Type"] == "application/problem+json"
    body = world.api(token).post(
        f"/api/v1/companies/{world.a.pk}/declarations/2025/estimate/", deep, content_type="application/json"
    )
    assert body.status_code == 400 and body["Content-Type"] == "application/problem+json"
