from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from famhp.admin_base import ReadOnlyAdmin
from famhp.billing.models import AssessmentRun, FpsTurnover, Invoice, InvoiceKind, YearSettings
from famhp.billing.services import (
    assessment_run,
    cost_per_entity_fix,
    credit_note_issue,
    fps_turnover_import,
    invoices_issue,
)


@admin.register(YearSettings)
class YearSettingsAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = ("year", "budget", "cost_per_entity", "max_levy_rate", "effective_levy_rate", "confirmed")
    actions = ["run_assessment"]

    @admin.action(description=_("Run the assessment of the year"))
    def run_assessment(self, request: HttpRequest, queryset: QuerySet[YearSettings]) -> None:
        for settings in queryset:
            try:
                run, changes = assessment_run(year=settings.year)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
                continue
            messages.success(
                request,
                _("%(year)s: %(count)s operators assessed, %(changes)s changed since the previous run.")
                % {"year": settings.year, "count": run.results.count(), "changes": len(changes)},
            )


class FpsImportForm(forms.Form):
    year = forms.IntegerField(label=_("Contribution year"))
    file = forms.FileField(label=_("FPS Finance turnover file (CSV: enterprise_number, total_turnover)"))


@admin.register(FpsTurnover)
class FpsTurnoverAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("year", "enterprise_number", "total_turnover", "imported_at")
    list_filter = ("year",)
    search_fields = ("enterprise_number",)
    change_list_template = "admin/billing/fpsturnover/change_list.html"

    def get_urls(self) -> list[Any]:
        return [
            path("import/", self.admin_site.admin_view(self.import_file), name="billing_fps_import"),
            *super().get_urls(),
        ]

    def import_file(self, request: HttpRequest) -> HttpResponse:
        form = FpsImportForm(request.POST or None, request.FILES or None)
        errors: list[Any] = []
        if request.method == "POST" and form.is_valid():
            count, errors = fps_turnover_import(year=form.cleaned_data["year"], data=form.cleaned_data["file"].read())
            if not errors:
                messages.success(request, _("%(count)s turnovers imported.") % {"count": count})
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "errors": errors,
            "title": _("Import the FPS Finance turnover file"),
        }
        return render(request, "admin/registry/operator/import.html", context)


@admin.register(AssessmentRun)
class AssessmentRunAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("__str__", "year", "rules_version", "created_at")
    list_filter = ("year",)
    readonly_fields = ("year", "rules_version", "parameters", "summary", "created_at")
    actions = ["fix_cost", "issue_activity_tax", "issue_turnover_levy"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Fix the cost per entity at this run's proposal"))
    def fix_cost(self, request: HttpRequest, queryset: QuerySet[AssessmentRun]) -> None:
        for run in queryset:
            try:
                cost_per_entity_fix(run=run)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))

    def _issue(self, request: HttpRequest, queryset: QuerySet[AssessmentRun], kind: str) -> None:
        for run in queryset:
            try:
                issued = invoices_issue(run=run, kind=kind)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(request, _("%(count)s issued.") % {"count": len(issued)})

    @admin.action(description=_("Issue the activity-tax payment notices"))
    def issue_activity_tax(self, request: HttpRequest, queryset: QuerySet[AssessmentRun]) -> None:
        self._issue(request, queryset, InvoiceKind.ACTIVITY_TAX)

    @admin.action(description=_("Issue the turnover-levy invoices"))
    def issue_turnover_levy(self, request: HttpRequest, queryset: QuerySet[AssessmentRun]) -> None:
        self._issue(request, queryset, InvoiceKind.TURNOVER_LEVY)


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    """Issued invoices are read-only; a correction is a credit note (action) plus a new invoice."""

    list_display = ("number", "kind", "year", "operator", "total", "issued_on", "due_on", "structured_communication")
    list_filter = ("year", "kind")
    search_fields = ("number", "structured_communication", "operator__name", "operator__enterprise_number")
    actions = ["credit"]

    @admin.action(description=_("Credit in full (credit note)"))
    def credit(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        for invoice in queryset:
            try:
                credit_note_issue(invoice=invoice, reason=str(_("Cancelled by the agency")))
            except ValidationError as error:
                messages.error(request, f"{invoice.number}: {' '.join(error.messages)}")
