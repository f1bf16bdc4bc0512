"""The invoice PDF written directly (billing/pdfdirect.py, ADR 17 addendum) is the document WeasyPrint makes of
invoice_pdf.html: every text run, the same text at the same place on the page, for both kinds, credit notes, the
three languages, long names and reasons that wrap. What the direct writer does not lay out (a letter of another
script, a second page) WeasyPrint still renders."""

from __future__ import annotations

import io
import re
import subprocess
from decimal import Decimal
from typing import Any

import pytest
from pypdf import PageObject, PdfReader
from pypdf.generic import ContentStream

from famhp.billing import pdfdirect
from famhp.billing.documents import draft_pdf, html_pdf, invoice_draft, invoice_html, invoice_pdf
from famhp.billing.models import Invoice, InvoiceKind
from famhp.rules.assessment import ACTIVITY_TAX, LEVY, NOT_EXEMPT
from famhp.rules.sanctions import FINE
from tests.portal.factories import belgian, invoice_for

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not pdfdirect.available(), reason="fontconfig does not give the DejaVu fonts here"),
]

CMAP_PAIR = re.compile(r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>")


def unicode_maps(page: PageObject) -> dict[str, dict[int, str]]:
    """Each font of the page: its glyphs' characters (its ToUnicode map)."""
    fonts = {}
    resources: Any = page["/Resources"]
    for name, font in resources["/Font"].items():
        data = font.get_object()["/ToUnicode"].get_object().get_data().decode("ascii")
        fonts[name] = {int(code, 16): bytes.fromhex(text).decode("utf-16-be") for code, text in CMAP_PAIR.findall(data)}
    return fonts


def runs(pdf: bytes) -> list[tuple[str, float, float]]:
    """Each text run of the PDF's pages (a Tm then its TJ, as both writers draw them): its text through the
    font's ToUnicode map and its position in CSS px (both writers draw in px, y downwards)."""
    reader = PdfReader(io.BytesIO(pdf))
    found = []
    for number, page in enumerate(reader.pages):
        fonts = unicode_maps(page)
        font: dict[int, str] = {}
        x = y = 0.0
        for operands, operator in ContentStream(page.get_contents(), reader).operations:
            if operator == b"Tf":
                font = fonts[operands[0]]
            elif operator == b"Tm":
                x, y = float(operands[4]), float(operands[5])
            elif operator in (b"TJ", b"Tj"):
                parts = operands[0] if operator == b"TJ" else operands
                codes = b"".join(
                    part.original_bytes if hasattr(part, "original_bytes") else bytes(part)
                    for part in parts
                    if not isinstance(part, (int, float))
                )
                text = "".join(font.get(int.from_bytes(codes[i : i + 2], "big"), "?") for i in range(0, len(codes), 2))
                if text.strip():
                    found.append((text.replace("\xa0", " ").strip(), round(x, 3), round(y + 2000 * number, 3)))
    return sorted(found, key=lambda run: (run[2], run[1]))


def assert_same_layout(invoice: Invoice) -> None:
    draft = invoice_draft(invoice)
    assert isinstance(draft, pdfdirect.Page), "written directly"
    direct, weasyprint = runs(draft_pdf(draft)), runs(html_pdf(invoice_html(invoice)))
    assert [text for text, _, _ in direct] == [text for text, _, _ in weasyprint]
    for (text, x, y), (_, expected_x, expected_y) in zip(direct, weasyprint, strict=True):
        # a hundredth of a px is 0.0075 pt: the same place
        assert abs(x - expected_x) <= 0.01 and abs(y - expected_y) <= 0.01, (text, x, y, expected_x, expected_y)


def euros(value: str) -> str:
    return f"{value} EUR"  # how famhp.rules writes an amount in an explanation's arguments


def levy_invoice(name: str, language: str, sequence: int) -> Invoice:
    # levy 1,653,735.20 × 0.29438 % = 4,868.27 (half-up); the fine 1,500.00 of a late filer; total 6,368.27
    invoice = invoice_for(belgian(name, language=language), "6368.27", sequence=sequence, kind="turnover_levy")
    invoice.lines = [
        {
            "description": "turnover_levy",
            "amount": "4868.27",
            "explanation": [
                ["D4", NOT_EXEMPT, {"turnover": euros("2,067,169.00"), "threshold": euros("50,290.17")}],
                ["D5", LEVY, {"turnover": euros("1,653,735.20"), "rate": "0.29438 %", "levy": euros("4,868.27")}],
            ],
        },
        {
            "description": "administrative_fine",
            "amount": "1500.00",
            "explanation": [["D7", FINE, {"fine": euros("1,500.00")}]],
        },
    ]
    return invoice  # not saved: an issued invoice is immutable, and rendering reads only the instance


def notice(name: str, language: str, sequence: int) -> Invoice:
    # 4 entities × 227.27 = 909.08
    invoice = invoice_for(belgian(name, language=language), "909.08", sequence=sequence)
    invoice.lines = [
        {
            "description": "activity_tax",
            "amount": "909.08",
            "explanation": [["D3", ACTIVITY_TAX, {"entities": "4", "cost": euros("227.27"), "tax": euros("909.08")}]],
        }
    ]
    return invoice  # not saved: an issued invoice is immutable, and rendering reads only the instance


def credit_note(credited: Invoice, sequence: int) -> Invoice:
    """A credit note of the whole notice, with a reason long enough to wrap (not saved: rendering reads only
    the instance)."""
    return Invoice(
        year=credited.year,
        kind=InvoiceKind.CREDIT_NOTE,
        number=f"CN{credited.year}-{sequence:06d}",
        sequence=sequence,
        structured_communication=credited.structured_communication,
        operator=credited.operator,
        debtor=credited.debtor,
        language=credited.language,
        issued_on=credited.issued_on,
        due_on=credited.due_on,
        total=-credited.total,
        lines=[{**line, "amount": f"-{line['amount']}"} for line in credited.lines],
        credits=credited,
        reason=(
            "The operator's activities were registered twice by mistake in the register of economic operators; "
            "the corrected notice follows with the right number of entities."
        ),
    )


LONG_NAME = "Vereniging voor de Ontwikkeling van Medische Hulpmiddelen en In-Vitro-Diagnostica Vlaanderen-Brussel VZW"


def test_the_pdf_written_directly_is_the_document_weasyprint_lays_out() -> None:
    """13 documents: both kinds and a credit note in the three languages, long names that wrap, a name with
    the letters of Latin Extended-A, a line without explanation."""
    documents = []
    for index, language in enumerate(["nl", "fr", "en"]):
        documents.append(levy_invoice("Medilab NV", language, 10 + index))
        documents.append(first := notice("Orthomed SA", language, 20 + index))
        documents.append(credit_note(first, 30 + index))
    documents.append(levy_invoice(LONG_NAME, "fr", 40))
    documents.append(notice(LONG_NAME, "nl", 41))
    documents.append(levy_invoice("Łódź Medical Sp. z o.o. — Ščťřů Öztürk", "en", 42))
    documents.append(invoice_for(belgian("Surgica BV", language="en"), "1234.56", sequence=43))  # no explanation
    assert {(d.kind, d.language) for d in documents} >= {
        (kind, language) for kind in InvoiceKind.values for language in ("nl", "fr", "en")
    }
    for document in documents:
        assert_same_layout(document)


def test_a_reason_breaks_where_pango_breaks_it() -> None:
    """Line breaks by UAX 14 as Pango applies them: never before French "; : ! ?" nor between two em dashes,
    before and after an attached em dash, after a hyphen before a letter, never inside "14/17" or "ABC-123"."""
    first = notice("Orthomed SA", "fr", 60)
    for index, reason in enumerate(
        [
            "Erreur d'enregistrement : les activités « distributeur » et « fabricant » ont été comptées deux fois ; "
            "voir le registre, chap. III ; Vlaanderen-Brussel—Wallonie — — correction (art. 14/17) ! Référence "
            "ABC-123 et/ou e-santé ? La notice corrigée suit ; rien d'autre ne change.",
            "Dubbele registratie—rechtgezet: de activiteiten van verdeler en fabrikant werden tweemaal geteld in het "
            "register van marktdeelnemers (art. 14/17 van de wet van 20 juli 2006); zie ook de nieuwe aanslag.",
        ]
    ):
        note = credit_note(first, 61 + index)
        note.reason = reason
        assert_same_layout(note)


def test_a_latin_extended_name_keeps_its_letters() -> None:
    invoice = levy_invoice("Łódź Medical Sp. z o.o. — Ščťřů Öztürk", "en", 50)
    assert isinstance(invoice_draft(invoice), pdfdirect.Page)
    texts = [text for text, _, _ in runs(invoice_pdf(invoice))]
    assert "Łódź Medical Sp. z o.o. — Ščťřů Öztürk" in texts


def test_a_name_in_another_script_is_rendered_by_weasyprint_with_its_glyphs() -> None:
    name = "Ωmega Łódź 株式会社"
    invoice = notice(name, "fr", 51)
    assert isinstance(invoice_draft(invoice), str)  # the reduced fonts have no Greek or CJK: WeasyPrint's
    pdf = invoice_pdf(invoice)
    assert name in [text for text, _, _ in runs(pdf)]
    # each letter is drawn with a glyph of its own, not the missing glyph (0), where a font of this machine
    # has it (fontconfig's fallback, as for every page): DejaVu has the Greek and Polish letters
    (page,) = PdfReader(io.BytesIO(pdf)).pages
    glyphs = {character: code for font in unicode_maps(page).values() for code, character in font.items()}
    assert all(glyphs.get(character, 0) != 0 for character in "Ωmega Łódź"), glyphs
    if subprocess.run(["fc-list", ":lang=ja"], check=False, capture_output=True, text=True).stdout.strip():
        assert all(glyphs.get(character, 0) != 0 for character in "株式会社")


def test_a_document_of_two_pages_is_rendered_by_weasyprint() -> None:
    invoice = levy_invoice("Medilab NV", "nl", 52)
    # 12 × (4,868.27 + 1,500.00) = 76,419.24
    invoice.lines = invoice.lines * 12
    invoice.total = Decimal("76419.24")
    assert isinstance(invoice_draft(invoice), str)
    pdf = invoice_pdf(invoice)
    assert len(PdfReader(io.BytesIO(pdf)).pages) > 1
    texts = [text for text, _, _ in runs(pdf)]
    # each levy line shows 4.868,27 € twice: its amount and the end of its explanation
    assert sum(text.count("4.868,27 €") for text in texts) == 24 and "76.419,24 €" in texts


def test_a_page_of_payment_is_written_with_its_qr_code_only() -> None:
    invoice = notice("Medilab NV", "en", 53)
    draft = invoice_draft(invoice)
    assert isinstance(draft, pdfdirect.Page) and draft.image is not None
    with pytest.raises(ValueError):
        pdfdirect.write(draft)
