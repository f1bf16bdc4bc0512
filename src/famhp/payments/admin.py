"""The agency's payment pages: import, the queue with reasons and suggestions, allocation, refunds (D12).
Every page and action that writes needs ``accounts.manage_payments``; the queue and lists need the view right."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from famhp.admin_base import ReadOnlyAdmin, require_permission
from famhp.billing.models import Invoice
from famhp.payments.forms import amount_parse, id_or_none, seen_parse
from famhp.payments.models import Allocation, BankLine, LineReview, Refund, RefundExport, Reminder, StatementFile
from famhp.payments.selectors import (
    SECOND_PAYMENT,
    allocated_total,
    credit_balances,
    queue_reason,
    suggestions,
    unmatched_lines,
)
from famhp.payments.services import (
    allocation_reverse,
    line_mark_handled,
    payment_allocate,
    refund_record,
    refunds_export,
    refunds_mark_sent,
    statement_import,
)
from famhp.registry.models import Operator

PERMISSION = "manage_payments"


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Bank statement (CODA or camt.053)"))


def _may_view(request: HttpRequest) -> None:
    if not request.user.has_perm("payments.view_bankline"):
        raise PermissionDenied


@admin.register(StatementFile)
class StatementFileAdmin(ReadOnlyAdmin):
    list_display = ("name", "format", "imported_at", "lines_new", "lines_matched")
    change_list_template = "admin/payments/statementfile/change_list.html"

    def get_urls(self) -> list[Any]:
        site = self.admin_site
        return [
            path("import/", site.admin_view(self.import_file), name="payments_statement_import"),
            path("queue/", site.admin_view(self.queue), name="payments_queue"),
            path("allocate/<int:line_id>/", site.admin_view(self.allocate), name="payments_allocate"),
            path("accept/<int:line_id>/", site.admin_view(require_POST(self.accept)), name="payments_accept"),
            path("handled/<int:line_id>/", site.admin_view(require_POST(self.handled)), name="payments_handled"),
            path("refunds/", site.admin_view(self.refunds), name="payments_refunds"),
            path("refunds/export/<int:export_id>/", site.admin_view(self.export_file), name="payments_refund_file"),
            *super().get_urls(),
        ]

    def import_file(self, request: HttpRequest) -> HttpResponse:
        require_permission(request, PERMISSION)
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                statement, new = statement_import(data=upload.read(), name=upload.name, imported_by=request.user)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                if new:
                    messages.success(
                        request,
                        _("%(lines)s bank lines imported, %(matched)s matched to their invoice.")
                        % {"lines": statement.lines_new, "matched": statement.lines_matched},
                    )
                    if statement.lines_twin:
                        messages.warning(
                            request,
                            _(
                                "%(twins)s of them are the same movements as lines of a file imported before (the "
                                "same statement in another format?): they wait in the queue as possible duplicates."
                            )
                            % {"twins": statement.lines_twin},
                        )
                else:
                    messages.warning(request, _("This file was already imported: nothing was added."))
                return redirect("admin:payments_queue")
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "errors": [],
            "title": _("Import a bank statement"),
        }
        return render(request, "admin/registry/operator/import.html", context)

    def queue(self, request: HttpRequest) -> HttpResponse:
        """The lines waiting for staff: payer, IBAN, why, and the suggestions ranked, each one click away."""
        _may_view(request)
        lines = list(unmatched_lines().select_related("reverses_line")[:500])
        rows = [(line, queue_reason(line), suggestions(line)) for line in lines]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Payments to allocate"),
            "rows": rows,
            "may_write": request.user.has_perm(f"accounts.{PERMISSION}"),
        }
        return render(request, "payments/admin/queue.html", context)

    def accept(self, request: HttpRequest, line_id: int) -> HttpResponse:
        """One click: allocate the line to a suggested invoice or account, for the suggested amount. Never a
        possible duplicate (ADR 12 addendum): its allocation page asks whether it is a second payment."""
        require_permission(request, PERMISSION)
        line = get_object_or_404(BankLine, pk=line_id)
        invoice_id, operator_id = id_or_none(request.POST.get("invoice")), id_or_none(request.POST.get("operator"))
        invoice = Invoice.objects.filter(pk=invoice_id).first() if invoice_id is not None else None
        operator = Operator.objects.filter(pk=operator_id).first() if operator_id is not None and not invoice else None
        try:
            amount = amount_parse(request.POST.get("amount", ""))
            payment_allocate(
                line=line,
                invoice=invoice,
                operator=operator,
                amount=amount,
                by=request.user,
                seen=seen_parse(request.POST.get("seen")),
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Allocated."))
        return redirect("admin:payments_queue")

    def handled(self, request: HttpRequest, line_id: int) -> HttpResponse:
        require_permission(request, PERMISSION)
        line = get_object_or_404(BankLine, pk=line_id)
        try:
            line_mark_handled(line=line, by=request.user, note=request.POST.get("note", ""))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Marked as handled."))
        return redirect("admin:payments_queue")

    def allocate(self, request: HttpRequest, line_id: int) -> HttpResponse:
        _may_view(request)
        line = get_object_or_404(BankLine, pk=line_id)
        if request.method == "POST":
            require_permission(request, PERMISSION)
            reference = request.POST.get("invoice", "").strip()
            digits = "".join(c for c in reference if c.isdigit())
            invoice = (
                Invoice.objects.filter(number=reference).first()
                or Invoice.objects.filter(structured_communication=digits).first()
            )
            try:
                amount = amount_parse(request.POST.get("amount", ""))
                if invoice is None:
                    raise ValidationError(_("No invoice with this number or structured communication."))
                payment_allocate(
                    line=line,
                    invoice=invoice,
                    amount=amount,
                    by=request.user,
                    third_party=request.POST.get("third_party") == "on" or None,
                    seen=seen_parse(request.POST.get("seen")),
                    second_payment=request.POST.get("second_payment") == "on",
                )
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(request, _("Allocated."))
                return redirect("admin:payments_queue")
        context = {
            **self.admin_site.each_context(request),
            "title": _("Allocate a payment"),
            "line": line,
            "allocations": line.allocations.select_related("invoice"),
            "allocated": allocated_total(line),
            "second_payment": SECOND_PAYMENT,
        }
        return render(request, "admin/payments/allocate.html", context)

    def refunds(self, request: HttpRequest) -> HttpResponse:
        """D12: credit balances to refund, recorded refunds, exports (once each) and marking them sent."""
        _may_view(request)
        if request.method == "POST":
            require_permission(request, PERMISSION)
            action = request.POST.get("action")
            try:
                if action == "record":
                    operator = get_object_or_404(Operator, pk=id_or_none(request.POST.get("operator")))
                    refund = refund_record(operator=operator, by=request.user, iban=request.POST.get("iban", ""))
                    messages.success(request, _("Refund of %(amount)s euro recorded.") % {"amount": refund.amount})
                elif action == "export":
                    export = refunds_export(by=request.user)
                    if export is None:
                        messages.warning(request, _("No recorded refund left to export: nothing new was exported."))
                    else:
                        messages.success(request, _("Exported as %(id)s.") % {"id": export.message_id})
                elif action == "sent":
                    export = get_object_or_404(RefundExport, pk=id_or_none(request.POST.get("export")))
                    count = refunds_mark_sent(export=export, today=timezone.localdate())
                    messages.success(request, _("%(count)s refunds marked sent.") % {"count": count})
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            return redirect("admin:payments_refunds")
        context = {
            **self.admin_site.each_context(request),
            "title": _("Refunds"),
            "balances": credit_balances(),
            "refunds": Refund.objects.select_related("operator", "export")[:200],
            "exports": RefundExport.objects.all()[:50],
            "may_write": request.user.has_perm(f"accounts.{PERMISSION}"),
        }
        return render(request, "payments/admin/refunds.html", context)

    def export_file(self, request: HttpRequest, export_id: int) -> HttpResponse:
        require_permission(request, PERMISSION)
        export = get_object_or_404(RefundExport, pk=export_id)
        response = HttpResponse(bytes(export.data), content_type="application/xml")
        response["Content-Disposition"] = f'attachment; filename="{export.message_id}.xml"'
        return response


@admin.register(BankLine)
class BankLineAdmin(ReadOnlyAdmin):
    list_display = (
        "booked_on",
        "amount",
        "currency",
        "status",
        "reversal",
        "counterparty_name",
        "counterparty_account",
        "structured_communication",
        "free_text",
        "allocate_link",
    )
    list_filter = ("booked_on", "status", "currency", "reversal", "statement_file")
    search_fields = ("counterparty_name", "counterparty_account", "structured_communication", "free_text")

    @admin.display(description=_("allocate"))
    def allocate_link(self, line: BankLine) -> str:
        return format_html('<a href="{}">{}</a>', reverse("admin:payments_allocate", args=[line.pk]), _("allocate"))


@admin.register(Allocation)
class AllocationAdmin(ReadOnlyAdmin):
    list_display = (
        "bank_line",
        "invoice",
        "operator",
        "amount",
        "automatic",
        "third_party",
        "payer_name",
        "allocated_at",
    )
    list_filter = ("automatic", "third_party")
    search_fields = ("invoice__number", "payer_name")
    actions = ["reverse"]

    @admin.action(permissions=[PERMISSION], description=_("Reverse the selected allocations"))
    def reverse(self, request: HttpRequest, queryset: QuerySet[Allocation]) -> None:
        for allocation in queryset:
            try:
                allocation_reverse(allocation=allocation, by=request.user)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))

    def has_manage_payments_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(f"accounts.{PERMISSION}"))


@admin.register(LineReview)
class LineReviewAdmin(ReadOnlyAdmin):
    list_display = ("bank_line", "note", "reviewed_by", "reviewed_at")


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ("operator", "amount", "iban", "state", "recorded_on", "export", "sent_on")
    list_filter = ("state",)


@admin.register(Reminder)
class ReminderAdmin(ReadOnlyAdmin):
    list_display = ("operator", "sent_on", "amount", "interest")
