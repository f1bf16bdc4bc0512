"""The invoice as a PDF in the debtor's language (WeasyPrint), with an EPC payment QR code (segno), and its
delivery by e-mail.

What does not change between documents is made once per process (ADR 17): WeasyPrint's font configuration and
the parsed stylesheet (templates/billing/invoice_pdf.css); Django compiles and caches the template itself. A
batch is rendered by a pool of worker processes (billing/rendering.py)."""

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

from famhp.billing.models import LINE_LABELS, Invoice, InvoiceKind
from famhp.languages import document_language
from famhp.mailing import SendFailure, send_each
from famhp.rules import Line

if TYPE_CHECKING:
    from segno import QRCode

STYLESHEET = Path(__file__).resolve().parent.parent / "templates" / "billing" / "invoice_pdf.css"


def epc_qr(invoice: Invoice) -> QRCode:
    """The EPC (SEPA credit transfer) QR code with the amount and the structured communication."""
    return helpers.make_epc_qr(
        name=settings.FAMHP_CREDITOR_NAME[:70],
        iban=settings.FAMHP_IBAN,
        bic=settings.FAMHP_BIC,
        amount=Decimal(invoice.total),
        reference=invoice.structured_communication,
    )


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


def invoice_pdf(invoice: Invoice) -> bytes:
    return html_pdf(invoice_html(invoice))


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
