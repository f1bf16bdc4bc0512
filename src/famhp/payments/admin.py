from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from famhp.admin_base import ReadOnlyAdmin
from famhp.billing.models import Invoice
from famhp.payments.models import Allocation, BankLine, Reminder, StatementFile
from famhp.payments.selectors import overpaid, unmatched_lines
from famhp.payments.sepa import refunds_pain001
from famhp.payments.services import allocation_reverse, payment_allocate, statement_import


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Bank statement (CODA or camt.053)"))


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
            path("refunds/", site.admin_view(self.refunds), name="payments_refunds"),
            *super().get_urls(),
        ]

    def import_file(self, request: HttpRequest) -> HttpResponse:
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
        context = {
            **self.admin_site.each_context(request),
            "title": _("Payments to allocate"),
            "lines": unmatched_lines()[:500],
        }
        return render(request, "admin/payments/queue.html", context)

    def allocate(self, request: HttpRequest, line_id: int) -> HttpResponse:
        line = get_object_or_404(BankLine, pk=line_id)
        if request.method == "POST":
            reference = request.POST.get("invoice", "").strip()
            digits = "".join(c for c in reference if c.isdigit())
            invoice = (
                Invoice.objects.filter(number=reference).first()
                or Invoice.objects.filter(structured_communication=digits).first()
            )
            try:
                amount = Decimal(request.POST.get("amount", "").replace(",", "."))
                if invoice is None:
                    raise ValidationError(_("No invoice with this number or structured communication."))
                payment_allocate(
                    line=line,
                    invoice=invoice,
                    amount=amount,
                    by=request.user,
                    third_party=request.POST.get("third_party") == "on" or None,
                )
            except (InvalidOperation, ValidationError) as error:
                text = " ".join(error.messages) if isinstance(error, ValidationError) else str(_("Not an amount."))
                messages.error(request, text)
            else:
                messages.success(request, _("Allocated."))
                return redirect("admin:payments_queue")
        context = {
            **self.admin_site.each_context(request),
            "title": _("Allocate a payment"),
            "line": line,
            "allocations": line.allocations.select_related("invoice"),
        }
        return render(request, "admin/payments/allocate.html", context)

    def refunds(self, request: HttpRequest) -> HttpResponse:
        rows = overpaid()
        if request.GET.get("export") == "pain001":
            today = timezone.localdate()
            data = refunds_pain001(rows, message_id=f"FAMHP-REFUND-{today:%Y%m%d}", execution=today)
            response = HttpResponse(data, content_type="application/xml")
            response["Content-Disposition"] = f'attachment; filename="refunds-{today:%Y%m%d}.xml"'
            return response
        context = {**self.admin_site.each_context(request), "title": _("Overpayments to refund"), "rows": rows}
        return render(request, "admin/payments/refunds.html", context)


@admin.register(BankLine)
class BankLineAdmin(ReadOnlyAdmin):
    list_display = (
        "booked_on",
        "amount",
        "counterparty_name",
        "structured_communication",
        "free_text",
        "allocate_link",
    )
    list_filter = ("booked_on", "statement_file")
    search_fields = ("counterparty_name", "structured_communication", "free_text", "bank_reference")

    @admin.display(description=_("allocate"))
    def allocate_link(self, line: BankLine) -> str:
        return format_html('<a href="{}">{}</a>', reverse("admin:payments_allocate", args=[line.pk]), _("allocate"))


@admin.register(Allocation)
class AllocationAdmin(ReadOnlyAdmin):
    list_display = ("bank_line", "invoice", "amount", "automatic", "third_party", "payer_name", "allocated_at")
    list_filter = ("automatic", "third_party")
    search_fields = ("invoice__number", "payer_name")
    actions = ["reverse"]

    @admin.action(description=_("Reverse the selected allocations"))
    def reverse(self, request: HttpRequest, queryset: QuerySet[Allocation]) -> None:
        for allocation in queryset:
            try:
                allocation_reverse(allocation=allocation, by=request.user)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))


@admin.register(Reminder)
class ReminderAdmin(ReadOnlyAdmin):
    list_display = ("operator", "sent_on", "amount", "interest")
