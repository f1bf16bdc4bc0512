"""The Peppol UBL speaks the invoice's language where a person reads it, as the PDF does: the VAT exemption
reason (BT-120; EN 16931 BR-O-10 accepts "Not subject to VAT" "or the equivalent standard text in another
language") and the line names. The codes a machine reads (category O, VATEX-EU-O) stay the same."""

from __future__ import annotations

import pytest
from lxml import etree

from famhp.billing.models import Invoice
from famhp.billing.ubl import NS, invoice_ubl
from tests.billing.test_ubl_codes import _invoice

pytestmark = pytest.mark.django_db


def _in(language: str, invoice: Invoice | None = None) -> Invoice:
    invoice = invoice or _invoice("BE")
    invoice.language = language  # read by invoice_ubl only: an issued invoice is never saved again
    return invoice


@pytest.mark.parametrize(
    ("language", "reason"),
    [
        ("nl", "Niet onderworpen aan btw"),
        ("fr", "Non soumis à la TVA"),
        ("en", "Not subject to VAT"),
        ("de", "Not subject to VAT"),  # documents speak nl, fr, en: anything else gets English
    ],
)
def test_the_vat_exemption_reason_follows_the_invoice_language(language: str, reason: str) -> None:
    document = etree.fromstring(invoice_ubl(_in(language)))
    category = document.find("cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory", NS)
    assert category is not None
    assert category.findtext("cbc:ID", namespaces=NS) == "O"
    assert category.findtext("cbc:TaxExemptionReasonCode", namespaces=NS) == "VATEX-EU-O"
    assert (category.findtext("cbc:TaxExemptionReason", namespaces=NS) or "").startswith(reason)


def test_the_line_name_follows_the_invoice_language_and_the_line_carries_no_reason() -> None:
    invoice = _invoice("BE")
    english = etree.fromstring(invoice_ubl(_in("en", invoice)))
    french = etree.fromstring(invoice_ubl(_in("fr", invoice)))
    path = "cac:InvoiceLine/cac:Item/cbc:Name"
    assert english.findtext(path, namespaces=NS) != french.findtext(path, namespaces=NS)
    line_category = french.find("cac:InvoiceLine/cac:Item/cac:ClassifiedTaxCategory", NS)
    assert line_category is not None and line_category.find("cbc:TaxExemptionReason", NS) is None
