"""The invoice as a PDF in the debtor's language, with an EPC payment QR code (segno), and its delivery by
e-mail.

The PDF is the page WeasyPrint makes of templates/billing/invoice_pdf.html; the common invoice is laid out and
written directly (billing/pdfdirect.py, from invoice_texts: the template's words), eight times cheaper, and what
that does not lay out exactly (another script, a second page) is rendered by WeasyPrint (ADR 17 and its
addendum). What does not change between documents is made once per process: the reduced fonts, WeasyPrint's
font configuration and the parsed stylesheet (templates/billing/invoice_pdf.css); Django compiles and caches the
template itself. A batch is rendered by a pool of worker processes (billing/rendering.py)."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from segno import helpers

from famhp.billing import pdfdirect
from famhp.billing.models import LINE_LABELS, Invoice, InvoiceKind
from famhp.billing.pdfdirect import InvoiceTexts, Page
from famhp.languages import document_language
from famhp.mailing import SendFailure, send_each
from famhp.rules import Line

if TYPE_CHECKING:
    from segno import QRCode

STYLESHEET = Path(__file__).resolve().parent.parent / "templates" / "billing" / "invoice_pdf.css"


def epc_payment(invoice: Invoice) -> tuple[str, str, str, str, str]:
    """What the EPC QR code holds: the creditor's name, IBAN and BIC, the amount, the structured reference."""
    return (
        settings.FAMHP_CREDITOR_NAME[:70],
        settings.FAMHP_IBAN,
        settings.FAMHP_BIC,
        str(invoice.total),
        invoice.structured_communication,
    )


def epc_qr_code(payment: tuple[str, str, str, str, str]) -> QRCode:
    """The EPC (SEPA credit transfer) QR code of a payment (epc_payment)."""
    name, iban, bic, amount, reference = payment
    return helpers.make_epc_qr(name=name, iban=iban, bic=bic, amount=Decimal(amount), reference=reference)


def epc_qr(invoice: Invoice) -> QRCode:
    """The EPC (SEPA credit transfer) QR code with the amount and the structured communication."""
    return epc_qr_code(epc_payment(invoice))


def epc_qr_png(invoice: Invoice) -> str:
    """The EPC QR code as a PNG data URI, one pixel a module with its quiet zone; the stylesheet scales it to
    32 mm without smoothing (a bitmap is drawn at once where an SVG path of a few hundred strokes is not)."""
    return str(epc_qr(invoice).png_data_uri(scale=1, border=4))


def invoice_context(invoice: Invoice, *, qr: bool = True) -> dict[str, object]:
    """What the invoice's templates show; ``qr``: with the EPC QR code (the PDF; the e-mail's text has none)."""
    lines = [
        {
            "label": LINE_LABELS.get(line["description"], line["description"]),
            "amount": Decimal(line["amount"]),
            "explanation": [Line(rule, template, args) for rule, template, args in line["explanation"]],
        }
        for line in invoice.lines
    ]
    return {
        "invoice": invoice,
        "lines": lines,
        "creditor": {
            "name": settings.FAMHP_CREDITOR_NAME,
            "enterprise_number": settings.FAMHP_CREDITOR_ENTERPRISE_NUMBER,
            "address": settings.FAMHP_CREDITOR_ADDRESS,
            "iban": settings.FAMHP_IBAN,
            "bic": settings.FAMHP_BIC,
        },
        "qr": epc_qr_png(invoice) if qr and invoice.kind != InvoiceKind.CREDIT_NOTE and invoice.total > 0 else "",
        "support_email": settings.FAMHP_SUPPORT_EMAIL,
    }


def invoice_html(invoice: Invoice) -> str:
    with translation.override(document_language(invoice.language)):
        return render_to_string("billing/invoice_pdf.html", invoice_context(invoice))


def _qr_modules(payment: tuple[str, str, str, str, str]) -> tuple[int, bytes]:
    """The EPC QR code as the PDF's image: one byte a module (0 dark, 255 light), its quiet zone included, one
    pixel a module like the PNG of the HTML."""
    rows = list(epc_qr_code(payment).matrix_iter(scale=1, border=4))
    return len(rows), bytes(0 if module else 255 for row in rows for module in row)


def invoice_texts(invoice: Invoice) -> InvoiceTexts:
    """What invoice_pdf.html shows, word for word, for the PDF written directly (billing/pdfdirect.py): a
    change to the template's text must be made here too (tests/billing/test_invoice_pdf_layout.py compares
    the two documents' text runs)."""
    from django.template.defaultfilters import date, floatformat

    from famhp.declarations.templatetags.famhp import explain

    def euros(value: object) -> str:
        return f"{floatformat(value, '2g')} €"

    def shown(value: object) -> str:  # how a template shows a value: None as "None", nothing as ""
        return "" if value == "" else str(value)

    debtor = invoice.debtor
    with translation.override(document_language(invoice.language)):
        context = invoice_context(invoice, qr=False)
        creditor: Any = context["creditor"]
        credit_note = invoice.kind == InvoiceKind.CREDIT_NOTE
        kind = str(invoice.get_kind_display())
        pays = not credit_note and invoice.total > 0
        # the template prints a missing part of the address as nothing: so does the direct writer
        street, postal_code, city = (*(str(part) for part in creditor["address"]), "", "", "")[:3]
        return InvoiceTexts(
            title=f"{kind} {invoice.number}",
            heading=kind,
            number=invoice.number,
            creditor=[
                creditor["name"],
                street,
                f"{postal_code} {city}",
                f"{_('Enterprise number')}: {creditor['enterprise_number']}",
            ],
            debtor=[
                shown(debtor.get("name", "")),
                shown(debtor.get("street", "")),
                f"{shown(debtor.get('postal_code', ''))} {shown(debtor.get('city', ''))} "
                f"({shown(debtor.get('country', ''))})",
                f"{_('Identifier')}: {shown(debtor.get('identifier', ''))}",
            ],
            facts=[
                (_("Number"), invoice.number, _("Contribution year"), str(invoice.year)),
                (
                    _("Issued on"),
                    date(invoice.issued_on, "DATE_FORMAT"),
                    _("Credits") if credit_note else _("Due on"),
                    shown(invoice.credits.number if invoice.credits else "")
                    if credit_note
                    else date(invoice.due_on, "DATE_FORMAT"),
                ),
            ],
            reason=(_("Reason"), invoice.reason) if invoice.reason else None,
            columns=(_("Description"), _("Amount")),
            lines=[
                (str(line["label"]), euros(line["amount"]), [explain(why) for why in line["explanation"]])
                for line in context["lines"]  # type: ignore[attr-defined]
            ],
            total=(_("Total") if credit_note else f"{_('Total')} — {_('to pay')}", euros(invoice.total)),
            vat=_("Not subject to VAT: a contribution to the FAMHP under the law of 20 July 2006."),
            pay=(
                _("Pay by transfer to"),
                creditor["iban"],
                f" (BIC {creditor['bic']})",
                _("with the structured communication"),
                invoice.formatted_communication,
                _("A third party may pay for you; the amount stays yours to pay (FAQ 19)."),
            )
            if pays
            else None,
            payment=epc_payment(invoice) if pays else None,
            questions=f"{_('Questions')}: {context['support_email']}",
        )


_RENDERER: dict[int, tuple[Any, Any]] = {}


def _renderer() -> tuple[Any, Any]:
    """This process's font configuration and parsed stylesheet, made at its first document (a worker forked
    from a process that had one makes its own: fontconfig's state is not shared across a fork)."""
    made = _RENDERER.get(os.getpid())
    if made is None:
        from weasyprint import CSS  # imported late: WeasyPrint loads Pango at import
        from weasyprint.text.fonts import FontConfiguration

        fonts = FontConfiguration()
        made = _RENDERER[os.getpid()] = (fonts, CSS(string=STYLESHEET.read_text(encoding="utf-8"), font_config=fonts))
    return made


def html_pdf(html: str) -> bytes:
    """One invoice's HTML (invoice_html) as a PDF. Needs no database: the worker processes run it."""
    from weasyprint import HTML

    fonts, stylesheet = _renderer()
    return bytes(HTML(string=html).write_pdf(stylesheets=[stylesheet], font_config=fonts))


def invoice_draft(invoice: Invoice) -> Page | str:
    """What a worker turns into the invoice's PDF (draft_pdf): the page laid out for the PDF written directly
    (billing/pdfdirect.py, ADR 17 addendum), or, for a document only WeasyPrint lays out exactly (a letter of
    another script, a second page), its HTML."""
    try:
        return pdfdirect.layout(invoice_texts(invoice))
    except pdfdirect.Unsupported:
        return invoice_html(invoice)


def draft_pdf(draft: Page | str) -> bytes:
    """The PDF of a draft (invoice_draft), its EPC QR code made here. Needs no database: the worker processes
    run it."""
    if isinstance(draft, str):
        return html_pdf(draft)
    return pdfdirect.write(draft, _qr_modules(draft.payment) if draft.payment else None)


def invoice_pdf(invoice: Invoice) -> bytes:
    return draft_pdf(invoice_draft(invoice))


def invoice_message(invoice: Invoice, *, pdf: bytes | None = None) -> EmailMessage:
    """The invoice with its PDF (rendered here unless given), to the debtor's contact address, in the debtor's
    language."""
    if pdf is None:
        pdf = invoice_pdf(invoice)
    with translation.override(document_language(invoice.language)):
        subject = _("FAMHP: %(document)s %(number)s") % {
            "document": invoice.get_kind_display(),
            "number": invoice.number,
        }
        body = render_to_string("billing/email/invoice.txt", invoice_context(invoice, qr=False))
    message = EmailMessage(subject=subject, body=body, to=[invoice.debtor["email"]])
    message.attach(f"{invoice.number}.pdf", pdf, "application/pdf")
    return message


def invoice_send(invoice: Invoice) -> None:
    """E-mail the invoice with its PDF to the debtor's contact address, in the debtor's language."""
    invoice_message(invoice).send()


def invoices_send(
    invoices: list[Invoice], *, progress: Callable[[int, int], None] | None = None
) -> tuple[int, list[SendFailure]]:
    """E-mail each invoice; one that cannot be made or sent is logged and reported (its operator named), the
    others go out. The PDFs are rendered by a pool of worker processes a few documents ahead of the mail
    (billing/rendering.py). Returns how many were sent and the failures."""
    from famhp.billing.rendering import invoices_pdfs  # it imports this module

    def builder(index: int, invoice: Invoice, pdf: Future[bytes]) -> Callable[[], tuple[EmailMessage, Invoice]]:
        def build() -> tuple[EmailMessage, Invoice]:
            if progress:
                progress(index, len(invoices))
            return invoice_message(invoice, pdf=pdf.result()), invoice

        return build

    # one document is rendered here: a pool is worth its start for a batch
    rendered = invoices_pdfs(invoices, workers=1 if len(invoices) < 2 else None)
    sent, failures = send_each(
        (f"{invoice.debtor.get('name', '')} ({invoice.number})", builder(index, invoice, pdf))
        for index, (invoice, pdf) in enumerate(rendered, start=1)
    )
    return len(sent), failures
