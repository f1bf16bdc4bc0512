"""The workplace's bank pages (issue 12): import a statement, the queue of payments to allocate, refunds (D12).
Every role with the payments' view rights reads them; only ``accounts.manage_payments`` acts (docs/roles.md):
a POST by anyone else is refused (403) and changes nothing."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from famhp.billing.models import Invoice
from famhp.declarations.amounts import format_euro
from famhp.payments.forms import amount_parse, id_or_none
from famhp.payments.models import BankLine, Refund, RefundExport, StatementFile
from famhp.payments.selectors import SECOND_PAYMENT, credit_balances, queue_reason, suggestions, twins_to_handle
from famhp.payments.services import (
    line_mark_handled,
    refund_cancel,
    refund_record,
    refunds_export,
    refunds_held,
    refunds_mark_sent,
    twins_mark_handled,
)
from famhp.registry.models import Operator
from famhp.rules.money import ZERO
from famhp.workplace.access import staff_page
from famhp.workplace.banking import (
    REASONS,
    allocated_on,
    allocation_search,
    bank_import_retry,
    bank_import_start,
    import_stalled,
    import_summary,
    line_allocate,
    queue,
    queue_currencies,
)
from famhp.workplace.models import BankImport
from famhp.workplace.views import _context, _year

MANAGE = "accounts.manage_payments"
PAGE_SIZE = 50


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Bank statement (CODA or camt.053)"),
        help_text=gettext_lazy("The file as the bank sends it. The same file twice adds nothing."),
    )


class HandledForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("Why, without an allocation"), max_length=500)


def _page(request: HttpRequest, template: str, *, section: str = "bank", **extra: Any) -> HttpResponse:
    return render(request, template, _context(request, _year(request), section=section, **extra))


SEEN = re.compile(r"-?\d{1,12}(?:\.\d{1,2})?")


def _seen(text: str) -> Decimal:
    """What the page showed as allocated on the line (a figure it wrote itself, e.g. ``0.00``)."""
    if not SEEN.fullmatch(text.strip()):
        raise ValidationError(_("The page was incomplete: nothing was allocated. Open the line again."))
    return Decimal(text.strip())


def _error(request: HttpRequest, error: ValidationError) -> None:
    messages.error(request, " ".join(error.messages))


# --- import -----------------------------------------------------------------------------------------------------


@staff_page("payments.view_statementfile", MANAGE)
def bank_import(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        started = bank_import_start(data=upload.read(), name=upload.name, by=request.user)
        return redirect("workplace:bank_import_progress", pk=started.pk)
    recent = BankImport.objects.select_related("statement", "created_by")[:10]
    return _page(request, "workplace/bank_import.html", form=form, recent=recent)


@staff_page("payments.view_statementfile")
def bank_import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    upload = get_object_or_404(BankImport, pk=pk)
    if upload.finished:
        return redirect("workplace:bank_import_result", pk=pk)
    return _page(request, "workplace/bank_progress.html", upload=upload, stalled=import_stalled(upload))


@require_POST
@staff_page("payments.view_statementfile", MANAGE)
def bank_import_again(request: HttpRequest, pk: int) -> HttpResponse:
    """A stalled import (its worker died while it ran) started again."""
    get_object_or_404(BankImport, pk=pk)
    try:
        upload = bank_import_retry(import_id=pk)
    except ValidationError as error:
        _error(request, error)
        return redirect("workplace:bank_import_progress", pk=pk)
    messages.success(request, _("The import was started again."))
    if upload.finished:
        return redirect("workplace:bank_import_result", pk=pk)
    return redirect("workplace:bank_import_progress", pk=pk)


@staff_page("payments.view_statementfile", "payments.view_bankline")
def bank_import_result(request: HttpRequest, pk: int) -> HttpResponse:
    upload = get_object_or_404(BankImport.objects.select_related("statement", "created_by"), pk=pk)
    if not upload.finished:
        return redirect("workplace:bank_import_progress", pk=pk)
    return _page(request, "workplace/bank_result.html", upload=upload, summary=import_summary(upload))


# --- the queue --------------------------------------------------------------------------------------------------


@staff_page("payments.view_bankline", "payments.view_allocation")
def bank_queue(request: HttpRequest) -> HttpResponse:
    reason = request.GET.get("reason", "")
    currency = request.GET.get("currency", "")
    statement_id = id_or_none(request.GET.get("file"))
    statement = StatementFile.objects.filter(pk=statement_id).first() if statement_id is not None else None
    lines = queue(reason=reason, currency=currency, statement_id=statement.pk if statement else None)
    page = Paginator(lines, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(line, queue_reason(line), suggestions(line)) for line in page]
    query = request.GET.copy()
    query.pop("page", None)
    return _page(
        request,
        "workplace/bank_queue.html",
        page=page,
        rows=rows,
        reasons=[(key, label) for key, (label, _condition) in REASONS.items()],
        currencies=queue_currencies(),
        chosen={"reason": reason, "currency": currency},
        statement=statement,
        query=query.urlencode(),
    )


@staff_page("payments.view_bankline", "payments.view_statementfile")
def bank_duplicates(request: HttpRequest, pk: int) -> HttpResponse:
    """ADR 12 addendum: a file's possible duplicates handled as duplicates at once, after a page listing them;
    one posted with a note by whoever manages payments (``twins_mark_handled``: who and why on each line)."""
    statement = get_object_or_404(StatementFile, pk=pk)
    form = HandledForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm(MANAGE):
            raise PermissionDenied
        if not form.is_valid():
            messages.error(request, _("Say in a note why these lines are duplicates: nothing was changed."))
        else:
            try:
                count = twins_mark_handled(statement=statement, by=request.user, note=form.cleaned_data["note"])
            except ValidationError as error:
                _error(request, error)
            else:
                if count:
                    messages.success(
                        request,
                        ngettext(
                            "%(count)s possible duplicate of %(file)s handled as a duplicate: it leaves the queue.",
                            "%(count)s possible duplicates of %(file)s handled as duplicates: they leave the queue.",
                            count,
                        )
                        % {"count": count, "file": statement.name},
                    )
                else:
                    messages.warning(
                        request, _("No possible duplicate of %(file)s was left to handle.") % {"file": statement.name}
                    )
                return redirect("workplace:bank_queue")
    lines = twins_to_handle(statement)
    return _page(
        request,
        "workplace/bank_duplicates.html",
        statement=statement,
        form=form,
        count=lines.count(),
        lines=lines[: PAGE_SIZE * 10],
    )


@staff_page("payments.view_bankline", "payments.view_allocation")
def bank_line(request: HttpRequest, pk: int) -> HttpResponse:
    line = get_object_or_404(
        BankLine.objects.select_related("reverses_line", "statement_file", "twin_of__statement_file"), pk=pk
    )
    search = request.GET.get("q", "")
    allocated = allocated_on(line)
    return _page(
        request,
        "workplace/bank_line.html",
        line=line,
        reason=queue_reason(line),
        allocated=allocated,
        left=line.amount - allocated,
        allocations=line.allocations.select_related("invoice", "operator", "allocated_by").order_by("pk"),
        proposals=suggestions(line),
        search=search,
        candidates=allocation_search(search),
        twin_allocations=(
            line.twin_of.allocations.select_related("invoice", "operator").order_by("pk") if line.twin_of else []
        ),
        second_payment=SECOND_PAYMENT,
    )


def _back(request: HttpRequest, line: BankLine) -> HttpResponse:
    if request.POST.get("back") == "line":
        return redirect("workplace:bank_line", pk=line.pk)
    return redirect("workplace:bank_queue")


@require_POST
@staff_page("payments.view_bankline", MANAGE)
def bank_allocate(request: HttpRequest, pk: int) -> HttpResponse:
    """One click on a suggestion, or the manual allocation: to an invoice or to an operator's account."""
    line = get_object_or_404(BankLine, pk=pk)
    invoice_id, operator_id = id_or_none(request.POST.get("invoice")), id_or_none(request.POST.get("operator"))
    invoice = get_object_or_404(Invoice, pk=invoice_id) if invoice_id is not None else None
    operator = get_object_or_404(Operator, pk=operator_id) if operator_id is not None and not invoice else None
    try:
        amount = amount_parse(request.POST.get("amount", ""))
        seen = _seen(request.POST.get("seen", ""))
        allocation = line_allocate(
            line=line,
            invoice=invoice,
            operator=operator,
            amount=amount,
            seen=seen,
            by=request.user,
            third_party=request.POST.get("third_party") == "on" or None,
            second_payment=request.POST.get("second_payment") == "on",
        )
    except ValidationError as error:
        _error(request, error)
    else:
        messages.success(
            request,
            _("%(amount)s of the payment of %(payer)s allocated to %(what)s.")
            % {
                "amount": format_euro(allocation.amount),
                "payer": line.counterparty_name or line.counterparty_account or "—",
                "what": invoice.number
                if invoice
                else _("the account of %(operator)s") % {"operator": operator.name if operator else "—"},
            },
        )
    return _back(request, line)


@require_POST
@staff_page("payments.view_bankline", MANAGE)
def bank_handled(request: HttpRequest, pk: int) -> HttpResponse:
    line = get_object_or_404(BankLine, pk=pk)
    form = HandledForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say in a note why the line is handled without an allocation: nothing was changed."))
        return _back(request, line)
    try:
        line_mark_handled(line=line, by=request.user, note=form.cleaned_data["note"])
    except ValidationError as error:
        _error(request, error)
    else:
        messages.success(request, _("The line is handled without an allocation and leaves the queue."))
    return redirect("workplace:bank_queue")


# --- refunds (D12) ----------------------------------------------------------------------------------------------


@staff_page("payments.view_refund", "payments.view_allocation")
def bank_refunds(request: HttpRequest) -> HttpResponse:
    held = refunds_held()
    exports = list(RefundExport.objects.order_by("-pk")[:50])
    of_export: dict[int, list[Refund]] = {}
    for refund in Refund.objects.filter(export__in=exports).select_related("operator"):
        of_export.setdefault(refund.export_id, []).append(refund)  # type: ignore[arg-type]
    return _page(
        request,
        "workplace/bank_refunds.html",
        section="refunds",
        balances=credit_balances(),
        refunds=[
            (refund, held.get(refund.pk))
            for refund in Refund.objects.select_related("operator", "export").order_by("-pk")[:200]
        ],
        pending=Refund.objects.filter(state=Refund.State.RECORDED).count(),
        exports=[
            (export, of_export.get(export.pk, []), sum((r.amount for r in of_export.get(export.pk, [])), ZERO))
            for export in exports
        ],
    )


@require_POST
@staff_page("payments.view_refund", MANAGE)
def bank_refund_record(request: HttpRequest) -> HttpResponse:
    operator = get_object_or_404(Operator, pk=id_or_none(request.POST.get("operator")))
    try:
        refund = refund_record(operator=operator, by=request.user, iban=request.POST.get("iban", ""))
    except ValidationError as error:
        _error(request, error)
    else:
        messages.success(
            request,
            _("Refund of %(amount)s to %(operator)s recorded (%(iban)s): it is exported with the next file.")
            % {"amount": format_euro(refund.amount), "operator": operator.name, "iban": refund.iban},
        )
    return redirect("workplace:bank_refunds")


@require_POST
@staff_page("payments.view_refund", MANAGE)
def bank_refunds_export(request: HttpRequest) -> HttpResponse:
    export = refunds_export(by=request.user)
    held = len(refunds_held())
    if held:
        messages.warning(
            request,
            ngettext(
                "%(count)s refund is held: its account owes since it was recorded (D12). Cancel it, or export it "
                "once the account is in credit again.",
                "%(count)s refunds are held: their accounts owe since they were recorded (D12). Cancel them, or "
                "export them once the accounts are in credit again.",
                held,
            )
            % {"count": held},
        )
    if export is None:
        messages.warning(request, _("No recorded refund left to export: nothing new was exported."))
    else:
        messages.success(
            request,
            _("The recorded refunds are exported as %(id)s: download the file and hand it to the bank.")
            % {"id": export.message_id},
        )
    return redirect("workplace:bank_refunds")


@require_POST
@staff_page("payments.view_refund", MANAGE)
def bank_refund_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel a recorded refund not yet exported; the form's box "cancel this refund" must be ticked."""
    refund = get_object_or_404(Refund, pk=pk)
    if request.POST.get("confirm") != "yes":
        messages.error(request, _("Tick the box to cancel the refund: nothing changed."))
        return redirect("workplace:bank_refunds")
    try:
        refund_cancel(refund=refund, by=request.user)
    except ValidationError as error:
        _error(request, error)
    else:
        messages.success(
            request,
            _("The refund of %(amount)s to %(operator)s is cancelled: it no longer counts in the account.")
            % {"amount": format_euro(refund.amount), "operator": refund.operator.name},
        )
    return redirect("workplace:bank_refunds")


@require_POST
@staff_page("payments.view_refund", MANAGE)
def bank_export_sent(request: HttpRequest, pk: int) -> HttpResponse:
    export = get_object_or_404(RefundExport, pk=pk)
    count = refunds_mark_sent(export=export, today=timezone.localdate())
    if count:
        messages.success(
            request, _("%(count)s refunds of %(id)s marked sent.") % {"count": count, "id": export.message_id}
        )
    else:
        messages.warning(
            request, _("The refunds of %(id)s were marked sent already: nothing changed.") % {"id": export.message_id}
        )
    return redirect("workplace:bank_refunds")


@staff_page("payments.view_refund", MANAGE)
def bank_export_file(request: HttpRequest, pk: int) -> HttpResponseBase:
    export = get_object_or_404(RefundExport, pk=pk)
    response = HttpResponse(bytes(export.data), content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="{export.message_id}.xml"'
    response["Cache-Control"] = "private, no-store"
    return response
