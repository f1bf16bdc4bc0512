"""A company's account statement in the portal and as PDF: invoices, credit notes, payments, balance, interest."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from famhp.payments.selectors import STATUS_LABELS, account_statement, invoice_rows
from famhp.portal import access
from famhp.portal.pages import denied, found
from famhp.registry.models import Operator
from famhp.rules.money import ZERO


def _statement_context(request: HttpRequest, operator_id: int) -> dict[str, object] | HttpResponse:
    operator = found(Operator, pk=operator_id)
    if operator is None or not access.may_see_accounts(request, operator):
        return denied(request, _("You have no access to this account statement."))
    statement = account_statement(operator, today=timezone.localdate())
    return {
        "operator": operator,
        "statement": statement,
        "labels": STATUS_LABELS,
        # issue 13: what is left to pay, interest included, and how (IBAN, structured communication, EPC QR)
        "total_due": max(statement.balance, ZERO) + statement.interest,
        "to_pay": [row for row in invoice_rows(operator) if row.open > 0],
        "creditor": {"name": settings.FAMHP_CREDITOR_NAME, "iban": settings.FAMHP_IBAN, "bic": settings.FAMHP_BIC},
    }


@require_GET
def statement(request: HttpRequest, operator_id: int) -> HttpResponse:
    context = _statement_context(request, operator_id)
    if isinstance(context, HttpResponse):
        return context
    return render(request, "payments/statement.html", context)


@require_GET
def statement_pdf(request: HttpRequest, operator_id: int) -> HttpResponse:
    context = _statement_context(request, operator_id)
    if isinstance(context, HttpResponse):
        return context
    from weasyprint import HTML

    html = render_to_string("payments/statement_pdf.html", context, request=request)
    response = HttpResponse(HTML(string=html).write_pdf(), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="account-{context["operator"].identifier}.pdf"'  # type: ignore[attr-defined]
    response["Cache-Control"] = "private, no-store"
    return response
