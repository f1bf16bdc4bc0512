"""The API's endpoints for companies and the agency, through a token, with amounts computed by hand."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from famhp.accounts.roles import AUDITOR
from famhp.api.services import token_create
from famhp.declarations.models import DeclarationVersion
from tests.accounts.conftest import staff
from tests.api.conftest import IN_A_YEAR, World
from tests.portal.factories import pdf

pytestmark = pytest.mark.django_db


def declaration(world: World) -> str:
    return f"/api/v1/companies/{world.a.pk}/declarations/2025/"


def test_the_estimate_is_the_engines_result_with_its_explanation(world: World) -> None:
    response = world.api().post(
        declaration(world) + "estimate/",
        {"total_turnover": "100000.00", "levied_turnover": "100000.00"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    estimate = response.json()
    # Built-in 2025 parameters: manufacturer of MDR IIa = 4 entities (D1); 4 × 415.74 = 1,662.96 (D3);
    # 100,000.00 × 0.3073 % = 307.30 (D5); total 1,662.96 + 307.30 = 1,970.26.
    assert (estimate["entities"], estimate["activity_tax"], estimate["turnover_levy"], estimate["total"]) == (
        4,
        "1662.96",
        "307.30",
        "1970.26",
    )
    rules = [line["rule"] for line in estimate["explanation"]]
    assert {"D1", "D3", "D5"} <= set(rules)
    d3 = next(line for line in estimate["explanation"] if line["rule"] == "D3")
    assert d3["args"]["tax"] == "1,662.96 EUR" and "1,662.96 EUR" in d3["text"]
    assert DeclarationVersion.objects.filter(declaration__operator=world.a).count() == 0  # nothing recorded


def test_the_declarations_own_rules_name_their_field(world: World) -> None:
    response = world.api().post(
        declaration(world) + "estimate/",
        {"total_turnover": "60000.00", "levied_turnover": "70000.00"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["levied_turnover"]
    amounts_as_floats = world.api().post(
        declaration(world) + "estimate/",
        {"total_turnover": "1.005", "levied_turnover": "1"},
        content_type="application/json",
    )
    assert amounts_as_floats.status_code == 400  # three decimals: refused, never rounded
    assert amounts_as_floats.json()["errors"][0]["field"] == "total_turnover"


def submission(**extra: object) -> dict[str, object]:
    return {
        "total_turnover": "100000.00",
        "levied_turnover": "100000.00",
        "certifier_name": "An Peeters",
        "certifier_capacity": "external_accountant",
        "certifier_membership_number": "12345",
        "certificate": pdf(),
        **extra,
    }


def test_submit_then_correct_makes_versions(world: World) -> None:
    client = world.api()
    first = client.post(declaration(world), submission())
    assert first.status_code == 201, first.content
    assert first.json()["number"] == 1
    second = client.post(declaration(world), submission(total_turnover="120000.00", levied_turnover="95000.00"))
    assert second.status_code == 201 and second.json()["number"] == 2
    listed = client.get(declaration(world)).json()
    assert [(v["number"], v["total_turnover"], v["levied_turnover"]) for v in listed["versions"]] == [
        (2, "120000.00", "95000.00"),
        (1, "100000.00", "100000.00"),
    ]
    latest = DeclarationVersion.objects.get(declaration__operator=world.a, number=2)
    assert f"via API token {world.token_row.prefix}" in latest.submitted_by
    assert latest.certificate.read().startswith(b"%PDF-")


def test_a_certificate_that_is_not_a_pdf_is_named(world: World) -> None:
    fake = SimpleUploadedFile("certificate.pdf", b"GIF89a not a pdf", content_type="application/pdf")
    response = world.api().post(declaration(world), submission(certificate=fake))
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "certificate"
    assert not DeclarationVersion.objects.filter(declaration__operator=world.a).exists()


def test_invoices_as_json_pdf_and_ubl_and_the_statement(world: World) -> None:
    client = world.api()
    listed = client.get(f"/api/v1/companies/{world.a.pk}/invoices/").json()
    assert [(i["number"], i["total"], i["status"]) for i in listed] == [(world.a_invoice.number, "1970.26", "unpaid")]
    assert listed[0]["lines"][0]["amount"] == "1970.26"
    pdf_response = client.get(f"/api/v1/invoices/{world.a_invoice.pk}/pdf/")
    assert pdf_response.status_code == 200 and pdf_response.content.startswith(b"%PDF-")
    ubl = client.get(f"/api/v1/invoices/{world.a_invoice.pk}/ubl/")
    assert ubl.status_code == 200 and world.a_invoice.number.encode() in ubl.content
    statement = client.get(f"/api/v1/companies/{world.a.pk}/statement/").json()
    # one invoice of 1,970.26 and no payment: the balance owed is 1,970.26
    assert (statement["balance"], statement["outstanding"]) == ("1970.26", "1970.26")
    assert [(r["reference"], r["debit"], r["balance"]) for r in statement["rows"]] == [
        (world.a_invoice.number, "1970.26", "1970.26")
    ]


def test_agency_reads_need_an_agency_token_and_the_view_permission(world: World) -> None:
    auditor = staff("audrey", AUDITOR)
    _row, agency = token_create(
        person=auditor, name="audit", companies=[], read_write=True, agency=True, expires_on=IN_A_YEAR
    )
    assert _row.read_write is False  # an agency token only reads
    client = Client(HTTP_AUTHORIZATION=f"Bearer {agency}")
    operators = client.get("/api/v1/agency/operators/").json()
    assert {o["name"] for o in operators["results"]} == {"Alpha Medical NV", "Bravo Devices NV"}
    invoices = client.get("/api/v1/agency/invoices/?year=2025").json()
    assert sorted(i["total"] for i in invoices["results"]) == ["1970.26", "415.74"]
    assert client.get("/api/v1/agency/payments/").json()["results"] == []
    assert client.get("/api/v1/agency/operators/?offset=99999999999999999999999&limit=-5").json()["results"] == []
    assert client.get("/api/v1/agency/assessments/2025/").json() == {
        "year": 2025,
        "run": None,
        "created_at": None,
        "results": [],
    }
    # a staff member without a role reads nothing; a company user's token never reaches the agency's endpoints
    nobody = staff("nemo", None)
    _row, none = token_create(
        person=nobody, name="n", companies=[], read_write=False, agency=True, expires_on=IN_A_YEAR
    )
    assert Client(HTTP_AUTHORIZATION=f"Bearer {none}").get("/api/v1/agency/operators/").status_code == 403
    assert world.api().get("/api/v1/agency/operators/").status_code == 403


def test_the_schema_and_its_docs_page_are_served(world: World) -> None:
    schema = Client().get("/api/v1/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/declarations/bulk/" in paths
    problem = paths["/api/v1/companies/"]["get"]["responses"]["429"]["content"]
    assert list(problem) == ["application/problem+json"]
    docs = Client().get("/api/v1/docs/")
    assert docs.status_code == 200 and b"<script>" not in docs.content  # no inline script (CSP)
    assert Client().get("/api/v1/docs/?script=").status_code == 200


def test_an_address_the_api_does_not_have_is_a_problem_too(world: World) -> None:
    for path in ("/api/v1/nothing/", f"/api/v1/companies/{world.a.pk}/declarations/20250/", "/api/v1/invoices/9" * 3):
        response = world.api(language="fr").get(path)
        assert response.status_code == 404 and response["Content-Type"] == "application/problem+json", path
        assert response.json()["type"] == "urn:famhp:problem:not-found"


def test_a_company_not_liable_declares_without_certificate_others_need_one(world: World) -> None:
    from tests.accounts.conftest import manager_of
    from tests.portal.factories import foreign

    abroad = foreign("Orthotec GmbH", active=False)
    manager_of(abroad, world.alice)
    _row, token = token_create(person=world.alice, name="de", companies=[abroad], read_write=True, expires_on=IN_A_YEAR)
    url = f"/api/v1/companies/{abroad.pk}/declarations/2025/"
    response = world.api(token).post(url, {"total_turnover": "0", "levied_turnover": "0", "not_liable": "true"})
    assert response.status_code == 201, response.content
    assert (response.json()["not_liable"], response.json()["certifier_name"]) == (True, "")  # FAQ 7

    missing = world.api().post(declaration(world), {"total_turnover": "100000.00", "levied_turnover": "100000.00"})
    assert missing.status_code == 400
    assert {e["field"] for e in missing.json()["errors"]} == {"certifier_name", "certifier_capacity", "certificate"}
