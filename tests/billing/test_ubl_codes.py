"""Issue 11: country codes in the Peppol UBL are ISO 3166-1 alpha-2 (CEN rule BR-CL-14): a country typed as
``UK`` goes out as ``GB``; a code that is no country is refused before anything is written."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from lxml import etree

from famhp.billing.models import Invoice, InvoiceKind
from famhp.billing.ogm import structured_communication
from famhp.billing.ubl import NS, CountryCodeError, invoice_ubl, iso_country
from tests.portal.factories import belgian

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("typed", "iso"), [("BE", "BE"), ("gb", "GB"), ("UK", "GB"), (" uk ", "GB"), ("EL", "GR"), ("DE", "DE")]
)
def test_iso_country_corrects_the_common_mistakes(typed: str, iso: str) -> None:
    assert iso_country(typed) == iso


@pytest.mark.parametrize("typed", ["", "XX", "EU", "BEL", "U.K."])
def test_iso_country_refuses_what_is_no_country(typed: str) -> None:
    with pytest.raises(CountryCodeError, match="ISO 3166-1"):
        iso_country(typed)


def _invoice(country: str) -> Invoice:
    operator = belgian("Brexit Devices NV")
    return Invoice.objects.create(
        year=2025,
        kind=InvoiceKind.ACTIVITY_TAX,
        number="AT2025-000001",
        sequence=1,
        structured_communication=structured_communication(year=2025, kind=InvoiceKind.ACTIVITY_TAX, sequence=1),
        operator=operator,
        debtor={
            "name": operator.name,
            "identifier": operator.identifier,
            "enterprise_number": operator.enterprise_number,
            "street": "1 High Street",
            "postal_code": "SW1A 1AA",
            "city": "London",
            "country": country,
        },
        language="en",
        issued_on=datetime.date(2025, 12, 1),
        due_on=datetime.date(2025, 12, 31),
        total=Decimal("415.74"),
        lines=[{"description": "activity_tax", "amount": "415.74", "rule": "D3", "explanation": []}],
        parameters={},
        rules_version="test",
    )


def test_a_debtor_typed_in_the_uk_goes_out_as_gb() -> None:
    document = etree.fromstring(invoice_ubl(_invoice("UK")))
    codes = document.findall(".//cac:PostalAddress/cac:Country/cbc:IdentificationCode", NS)
    assert [code.text for code in codes] == ["BE", "GB"]  # the agency, then the debtor


def test_a_debtor_whose_country_is_no_country_gets_no_ubl() -> None:
    with pytest.raises(CountryCodeError, match="'XK1'"):
        invoice_ubl(_invoice("XK1"))
