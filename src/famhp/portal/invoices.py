"""Companies see and download their invoices in the portal (PDF, and UBL for Peppol)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from famhp.billing.documents import invoice_pdf
from famhp.billing.models import Invoice
from famhp.billing.ubl import invoice_ubl
from famhp.payments.selectors import STATUS_LABELS, invoice_rows
from famhp.portal import access
from famhp.portal.pages import denied, found
from famhp.registry.models import Operator


@require_GET
def invoices(request: HttpRequest, operator_id: int) -> HttpResponse:
    operator = found(Operator, pk=operator_id)
    if operator is None or not access.may_see_accounts(request, operator):
        return denied(request, _("You have no access to these invoices."))
    return render(
        request,
        "billing/invoices.html",
        {
            "operator": operator,
            "rows": invoice_rows(operator),
            "labels": STATUS_LABELS,
        },
    )


def _invoice(request: HttpRequest, pk: int) -> Invoice | HttpResponse:
    invoice = Invoice.objects.select_related("operator", "credits").filter(pk=pk).first()
    if invoice is None or not access.may_see_accounts(request, invoice.operator):
        return denied(request, _("You have no access to this invoice."))
    return invoice


@require_GET
def invoice_pdf_view(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _invoice(request, pk)
    if isinstance(invoice, HttpResponse):
        return invoice
    response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def invoice_ubl_view(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _invoice(request, pk)
    if isinstance(invoice, HttpResponse):
        return invoice
    if not invoice.debtor.get("enterprise_number"):
        return denied(request, _("A Peppol e-invoice exists only for a company with a Belgian enterprise number."))
    response = HttpResponse(invoice_ubl(invoice), content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="{invoice.number}.xml"'
    response["Cache-Control"] = "private, no-store"
    return response
