"""Peppol BIS Billing 3.0 (UBL 2.1) invoices and credit notes, for debtors with a Belgian enterprise number.

Facts from shared/domain/PEPPOL.md: endpoint scheme 0208 with the 10-digit enterprise number; CustomizationID
and ProfileID of BIS 3.0; a buyer reference; credit transfer (code 30) with the structured communication as
PaymentID (BT-83); a levy outside the scope of VAT is tax category O with exemption reason VATEX-EU-O; credit
notes (381) refer to the invoice they correct; the PDF rides along as an embedded attachment.
"""

from __future__ import annotations

import base64
from decimal import Decimal

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from lxml import etree

from famhp import countries
from famhp.billing.models import LINE_LABELS, Invoice, InvoiceKind
from famhp.languages import document_language
from famhp.rules.money import ZERO
from famhp.text import one_line

NS = {
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cn": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"


def _cbc(parent: etree._Element, name: str, text: str, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{NS['cbc']}}}{name}", attrs)
    element.text = one_line(text)  # XML 1.0 forbids most control characters: a name with one still goes out
    return element


def _cac(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{NS['cac']}}}{name}")


def _amount(parent: etree._Element, name: str, value: Decimal) -> None:
    _cbc(parent, name, f"{value:.2f}", currencyID="EUR")


class CountryCodeError(ValueError):
    """A country that is not an ISO 3166-1 alpha-2 code: the UBL is not written (CEN rule BR-CL-14)."""


def iso_country(code: str) -> str:
    """BR-CL-14: the ISO 3166-1 alpha-2 code of ``code`` (famhp.countries, checked with pycountry), a common
    mistake corrected (``UK`` is ``GB``, ``EL`` is ``GR``); anything else raises CountryCodeError."""
    corrected = countries.iso_country(code)
    if corrected is None:
        raise CountryCodeError(f"{code!r} is not an ISO 3166-1 alpha-2 country code (BR-CL-14)")
    return corrected


def _party(
    parent: etree._Element, role: str, *, name: str, number: str, street: str, postal: str, city: str, country: str
) -> None:
    party = _cac(_cac(parent, role), "Party")
    _cbc(party, "EndpointID", number, schemeID="0208")
    _cbc(_cac(party, "PartyName"), "Name", name)
    address = _cac(party, "PostalAddress")
    if street:
        _cbc(address, "StreetName", street)
    if city:
        _cbc(address, "CityName", city)
    if postal:
        _cbc(address, "PostalZone", postal)
    _cbc(_cac(address, "Country"), "IdentificationCode", iso_country(country))
    legal = _cac(party, "PartyLegalEntity")
    _cbc(legal, "RegistrationName", name)
    _cbc(legal, "CompanyID", number, schemeID="0208")


def _tax_category(parent: etree._Element, name: str, reason: str | None = None) -> None:
    category = _cac(parent, name)
    _cbc(category, "ID", "O")
    if reason is not None:
        _cbc(category, "TaxExemptionReasonCode", "VATEX-EU-O")
        _cbc(category, "TaxExemptionReason", reason)
    _cbc(_cac(category, "TaxScheme"), "ID", "VAT")


def invoice_ubl(invoice: Invoice, pdf: bytes | None = None) -> bytes:
    """The invoice (or credit note) as a Peppol BIS 3.0 UBL document; the debtor needs an enterprise number."""
    number = invoice.debtor.get("enterprise_number")
    if not number:
        raise ValueError("Peppol needs the debtor's Belgian enterprise number (scheme 0208)")
    credit = invoice.kind == InvoiceKind.CREDIT_NOTE
    # The texts a person reads follow the invoice's language, as its PDF does. BR-O-10 (EN 16931) accepts the
    # exemption reason text (BT-120) "Not subject to VAT" "or the equivalent standard text in another language";
    # the code VATEX-EU-O (BT-121) says the same to a machine in every language.
    with translation.override(document_language(invoice.language)):
        note = invoice.reason or _("FAMHP medical-device contribution %(year)s") % {"year": invoice.year}
        exemption = _("Not subject to VAT: a contribution to the FAMHP under the law of 20 July 2006.")
        labels = [str(LINE_LABELS.get(line["description"], line["description"])) for line in invoice.lines]
    root = etree.Element(
        f"{{{NS['cn' if credit else 'inv']}}}{'CreditNote' if credit else 'Invoice'}",
        nsmap={None: NS["cn" if credit else "inv"], "cac": NS["cac"], "cbc": NS["cbc"]},
    )
    _cbc(root, "CustomizationID", CUSTOMIZATION)
    _cbc(root, "ProfileID", PROFILE)
    _cbc(root, "ID", invoice.number)
    _cbc(root, "IssueDate", invoice.issued_on.isoformat())
    if not credit:
        _cbc(root, "DueDate", invoice.due_on.isoformat())
    _cbc(root, "CreditNoteTypeCode" if credit else "InvoiceTypeCode", "381" if credit else "380")
    _cbc(root, "Note", note)
    _cbc(root, "DocumentCurrencyCode", "EUR")
    _cbc(root, "BuyerReference", f"{invoice.debtor['identifier']}-{invoice.year}")
    if credit and invoice.credits is not None:
        reference = _cac(_cac(root, "BillingReference"), "InvoiceDocumentReference")
        _cbc(reference, "ID", invoice.credits.number)
        _cbc(reference, "IssueDate", invoice.credits.issued_on.isoformat())
    if pdf is not None:
        document = _cac(root, "AdditionalDocumentReference")
        _cbc(document, "ID", invoice.number)
        _cbc(
            _cac(document, "Attachment"),
            "EmbeddedDocumentBinaryObject",
            base64.b64encode(pdf).decode(),
            mimeCode="application/pdf",
            filename=f"{invoice.number}.pdf",
        )
    street, postal, city, country = settings.FAMHP_CREDITOR_ADDRESS
    _party(
        root,
        "AccountingSupplierParty",
        name=settings.FAMHP_CREDITOR_NAME,
        number=settings.FAMHP_CREDITOR_ENTERPRISE_NUMBER,
        street=street,
        postal=postal,
        city=city,
        country=country,
    )
    debtor = invoice.debtor
    _party(
        root,
        "AccountingCustomerParty",
        name=debtor["name"],
        number=number,
        street=debtor.get("street", ""),
        postal=debtor.get("postal_code", ""),
        city=debtor.get("city", ""),
        country=debtor.get("country") or "BE",
    )
    means = _cac(root, "PaymentMeans")
    _cbc(means, "PaymentMeansCode", "30")
    _cbc(means, "PaymentID", invoice.formatted_communication)
    account = _cac(means, "PayeeFinancialAccount")
    _cbc(account, "ID", settings.FAMHP_IBAN)
    _cbc(_cac(account, "FinancialInstitutionBranch"), "ID", settings.FAMHP_BIC)
    total = Decimal(invoice.total)
    tax = _cac(root, "TaxTotal")
    _amount(tax, "TaxAmount", ZERO)
    subtotal = _cac(tax, "TaxSubtotal")
    _amount(subtotal, "TaxableAmount", total)
    _amount(subtotal, "TaxAmount", ZERO)
    _tax_category(subtotal, "TaxCategory", reason=exemption)
    monetary = _cac(root, "LegalMonetaryTotal")
    for name in ("LineExtensionAmount", "TaxExclusiveAmount", "TaxInclusiveAmount", "PayableAmount"):
        _amount(monetary, name, total)
    for index, (line, label) in enumerate(zip(invoice.lines, labels, strict=True), start=1):
        element = _cac(root, "CreditNoteLine" if credit else "InvoiceLine")
        _cbc(element, "ID", str(index))
        _cbc(element, "CreditedQuantity" if credit else "InvoicedQuantity", "1", unitCode="C62")
        _amount(element, "LineExtensionAmount", Decimal(line["amount"]))
        item = _cac(element, "Item")
        _cbc(item, "Name", label)
        _tax_category(item, "ClassifiedTaxCategory")
        _amount(_cac(element, "Price"), "PriceAmount", Decimal(line["amount"]))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
