"""The invoice PDFs made faster (ADR 17) are the same documents in substance: number, amounts, communication and
language in the text of the PDF, the EPC payment QR code with the payload of the EPC069-12 guideline, whether a
document is rendered here or by the pool of worker processes."""

from __future__ import annotations

import decimal
import io

import pytest
import segno
from django.core import mail
from PIL import Image
from pypdf import PdfReader

from famhp.billing.documents import invoice_pdf, invoices_send
from famhp.billing.models import Invoice
from famhp.billing.rendering import invoices_pdfs
from tests.portal.factories import belgian, invoice_for

pytestmark = pytest.mark.django_db


def text_of(pdf: bytes) -> str:
    """The PDF's text, its spaces (WeasyPrint keeps the non-breaking ones of the number formats) made plain."""
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return text.replace("\xa0", " ").replace("\u202f", " ")


def qr_modules(pdf: bytes) -> list[list[bool]]:
    """The QR code's image in the PDF (one pixel a module, quiet zone included) as rows of dark modules."""
    (page,) = PdfReader(io.BytesIO(pdf)).pages
    (image,) = page.images
    assert isinstance(image.image, Image.Image)
    bitmap = image.image.convert("L")
    width, height = bitmap.size
    return [[bitmap.getpixel((x, y)) == 0 for x in range(width)] for y in range(height)]


def expected_modules(payload: bytes) -> list[list[bool]]:
    code = segno.make_qr(payload, error="m", boost_error=False)
    return [[bool(module) for module in row] for row in code.matrix_iter(scale=1, border=4)]


@pytest.fixture
def invoices() -> list[Invoice]:
    return [
        invoice_for(belgian("Medilab NV", language="nl"), "1234.56", sequence=1),
        invoice_for(belgian("Orthomed SA", language="fr"), "1234.56", sequence=2),
        invoice_for(belgian("Surgica BV", language="en"), "1234.56", sequence=3),
    ]


# the figure 1234.56 in each language's number format (CLDR: nl 1.234,56; fr 1 234,56; en 1,234.56)
AMOUNTS = {"nl": "1.234,56 €", "fr": "1 234,56 €", "en": "1,234.56 €"}
# the template's words in each language (the "Total — to pay" line and the payment box)
WORDS = {
    "nl": ("te betalen", "met de gestructureerde mededeling", "Bijdragejaar"),
    "fr": ("à payer", "avec la communication structurée", "Année de contribution"),
    "en": ("to pay", "with the structured communication", "Contribution year"),
}


def test_each_pdf_names_number_amount_communication_in_its_language(invoices: list[Invoice]) -> None:
    for invoice in invoices:
        text = text_of(invoice_pdf(invoice))
        assert invoice.number in text and invoice.formatted_communication in text
        assert invoice.debtor["name"] in text and "BE71096123456769" in text
        assert text.count(AMOUNTS[invoice.language]) == 2  # the line and the total
        assert all(words in text for words in WORDS[invoice.language]), invoice.language
        others = {language for language in WORDS if language != invoice.language}
        assert not any(WORDS[other][1] in text for other in others)


def test_the_qr_code_holds_the_epc_payload(invoices: list[Invoice]) -> None:
    invoice = invoices[0]
    # EPC069-12: service tag, version 002, character set 2 (ISO 8859-1: the text is Latin-1), SCT, BIC, name,
    # IBAN, EUR and the amount, no purpose, the structured reference, nothing more
    payload = "\n".join(
        [
            "BCD",
            "002",
            "2",
            "SCT",
            "GKCCBEBB",
            "FAGG - AFMPS (demo)",
            "BE71096123456769",
            "EUR1234.56",
            "",
            invoice.structured_communication,
        ]
    ).encode("iso-8859-1")
    assert qr_modules(invoice_pdf(invoice)) == expected_modules(payload)


def test_the_pool_renders_the_same_documents_in_order(invoices: list[Invoice]) -> None:
    here = [text_of(invoice_pdf(invoice)) for invoice in invoices]
    pooled = list(invoices_pdfs(invoices, workers=2))
    assert [invoice for invoice, _ in pooled] == invoices
    assert [text_of(pdf.result()) for _, pdf in pooled] == here
    assert [qr_modules(pdf.result()) for _, pdf in pooled] == [qr_modules(invoice_pdf(i)) for i in invoices]


def test_a_document_that_cannot_be_rendered_fails_alone(invoices: list[Invoice]) -> None:
    broken = invoices[1]
    broken.lines = [{"description": "activity_tax", "amount": "not a number", "explanation": []}]
    results = list(invoices_pdfs(invoices, workers=2))
    assert results[0][1].result().startswith(b"%PDF-") and results[2][1].result().startswith(b"%PDF-")
    with pytest.raises(decimal.InvalidOperation):
        results[1][1].result()


def test_a_batch_goes_out_with_each_pdf_attached(invoices: list[Invoice]) -> None:
    sent, failures = invoices_send(invoices)
    assert (sent, failures) == (3, [])
    for invoice, message in zip(invoices, mail.outbox, strict=True):
        ((name, pdf, mimetype),) = message.attachments
        assert (name, mimetype) == (f"{invoice.number}.pdf", "application/pdf")
        assert invoice.number in text_of(pdf) and AMOUNTS[invoice.language] in text_of(pdf)
