"""Review 3: every UBL document of a year (notices, levy invoices at a lowered rate, a D9 invoice, credit notes
and their re-issues) against the UBL 2.1 schemas and the Peppol BIS 3.0 / EN 16931 rules."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from lxml import etree
from peppol.rules import check_rules  # type: ignore[import-untyped]

from famhp.billing.models import Invoice, InvoiceKind
from famhp.billing.services import corrections_apply
from famhp.billing.ubl import invoice_ubl
from famhp.declarations.models import Campaign
from famhp.registry.models import Operator
from tests.billing.test_invoicing import SCHEMAS, declare
from tests.billing.test_invoicing import year as year  # noqa: PLC0414 - the fixture
from tests.billing.test_year_cycle import levies_out

pytestmark = pytest.mark.django_db
NS = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
}


def _enterprise_number_valid(number: str) -> bool:
    """PEPPOL-COMMON-R043: ten digits, the last two 97 − (the first eight mod 97)."""
    return len(number) == 10 and number.isdigit() and 97 - int(number[:8]) % 97 == int(number[8:])


def test_every_document_of_a_year_is_valid_peppol(year: dict[str, Operator]) -> None:
    levies_out(lowered="0.0029438")
    declare(Campaign.objects.get(year=2025), year["a"], "120000.00", "110000.00")  # Alpha corrects: D8
    corrections_apply(year=2025, issued_on=datetime.date(2026, 4, 15))
    documents = list(Invoice.objects.filter(operator__enterprise_number__isnull=False).order_by("pk"))
    assert {d.kind for d in documents} == {
        InvoiceKind.ACTIVITY_TAX,
        InvoiceKind.TURNOVER_LEVY,
        InvoiceKind.CREDIT_NOTE,
    }
    schemas = {
        name: etree.XMLSchema(etree.parse(str(SCHEMAS / f"UBL-{name}-2.1.xsd"))) for name in ("Invoice", "CreditNote")
    }
    for document in documents:
        data = invoice_ubl(document, pdf=b"%PDF-1.4 test")
        root = etree.fromstring(data)
        credit = document.kind == InvoiceKind.CREDIT_NOTE
        schemas["CreditNote" if credit else "Invoice"].assertValid(root)
        fatal = [str(f) for f in check_rules(data) if f.severity == "fatal"]
        assert not fatal, (document.number, fatal)
        # decimals ≤ 2 on every amount (BR-DEC-*), lines adding up to the totals (BR-CO-10, BR-CO-13, BR-CO-15)
        amounts = root.xpath("//*[@currencyID]")
        assert amounts and all(len(a.text.partition(".")[2]) <= 2 for a in amounts)
        line = "cac:CreditNoteLine" if credit else "cac:InvoiceLine"
        lines = sum(
            (Decimal(x) for x in root.xpath(f"{line}/cbc:LineExtensionAmount/text()", namespaces=NS)), Decimal(0)
        )
        payable = Decimal(root.findtext("cac:LegalMonetaryTotal/cbc:PayableAmount", namespaces=NS) or "")
        assert lines == payable == document.total >= 0
        # endpoints with scheme 0208 and a valid Belgian enterprise number (PEPPOL-COMMON-R043)
        for party in ("AccountingSupplierParty", "AccountingCustomerParty"):
            endpoint = root.find(f"cac:{party}/cac:Party/cbc:EndpointID", NS)
            assert endpoint is not None and endpoint.get("schemeID") == "0208"
            assert _enterprise_number_valid(endpoint.text or ""), (party, endpoint.text)
        assert root.findtext("cbc:BuyerReference", namespaces=NS)  # PEPPOL-EN16931-R003
        # BR-O-*: one VAT breakdown of category O, tax 0, exemption reason; no rate on a line (BR-O-05)
        assert root.xpath("cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:ID/text()", namespaces=NS) == ["O"]
        assert not root.xpath("//cac:ClassifiedTaxCategory/cbc:Percent", namespaces=NS)
        if credit:  # BG-3: the invoice it credits, by number and issue date
            assert document.credits is not None
            reference = root.find("cac:BillingReference/cac:InvoiceDocumentReference", NS)
            assert reference is not None
            assert reference.findtext("cbc:ID", namespaces=NS) == document.credits.number
            assert reference.findtext("cbc:IssueDate", namespaces=NS) == document.credits.issued_on.isoformat()
        else:  # BR-CO-25: an amount due with its due date (BT-9)
            assert root.findtext("cbc:DueDate", namespaces=NS) == document.due_on.isoformat()
