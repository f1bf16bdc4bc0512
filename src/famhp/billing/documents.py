"""The invoice as a PDF in the debtor's language (WeasyPrint), with an EPC payment QR code (segno), and its
delivery by e-mail."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

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


def epc_qr_svg(invoice: Invoice) -> str:
    """The EPC (SEPA credit transfer) QR code with the amount and the structured communication."""
    qr = helpers.make_epc_qr(
        name=settings.FAMHP_CREDITOR_NAME[:70],
        iban=settings.FAMHP_IBAN,
        bic=settings.FAMHP_BIC,
        amount=Decimal(invoice.total),
        reference=invoice.structured_communication,
    )
    return str(qr.svg_inline(scale=3))


def invoice_context(invoice: Invoice) -> dict[str, object]:
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
        "qr": epc_qr_svg(invoice) if invoice.kind != InvoiceKind.CREDIT_NOTE and invoice.total > 0 else "",
        "support_email": settings.FAMHP_SUPPORT_EMAIL,
    }


def invoice_html(invoice: Invoice) -> str:
    with translation.override(document_language(invoice.language)):
        return render_to_string("billing/invoice_pdf.html", invoice_context(invoice))


def invoice_pdf(invoice: Invoice) -> bytes:
    from weasyprint import HTML  # imported late: WeasyPrint loads Pango at import

    return bytes(HTML(string=invoice_html(invoice)).write_pdf())


def invoice_message(invoice: Invoice) -> EmailMessage:
    """The invoice with its PDF, to the debtor's contact address, in the debtor's language."""
    pdf = invoice_pdf(invoice)
    with translation.override(document_language(invoice.language)):
        subject = _("FAMHP: %(document)s %(number)s") % {
            "document": invoice.get_kind_display(),
            "number": invoice.number,
        }
        body = render_to_string("billing/email/invoice.txt", invoice_context(invoice))
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
    others go out. Returns how many were sent and the failures."""

    def builder(index: int, invoice: Invoice) -> Callable[[], tuple[EmailMessage, Invoice]]:
        def build() -> tuple[EmailMessage, Invoice]:
            if progress:
                progress(index, len(invoices))
            return invoice_message(invoice), invoice

        return build

    sent, failures = send_each(
        (f"{invoice.debtor.get('name', '')} ({invoice.number})", builder(index, invoice))
        for index, invoice in enumerate(invoices, start=1)
    )
    return len(sent), failures
