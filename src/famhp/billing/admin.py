from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

import famhp.converters  # noqa: F401 - registers the year converter of the status pages
from famhp.admin_base import ReadOnlyAdmin
from famhp.billing.forms import ClosingDecisionForm, YearSettingsAdminForm
from famhp.billing.models import (
    FIXED_ONCE_INVOICED,
    AssessmentRun,
    FpsTurnover,
    Invoice,
    InvoiceKind,
    YearSettings,
    YearState,
)
from famhp.billing.selectors import year_state, year_status
from famhp.billing.services import (
    assessment_run,
    corrections_apply,
    cost_per_entity_fix,
    credit_note_issue,
    fps_turnover_import,
    invoices_issue,
    year_close,
    year_settings_change,
)
from famhp.billing.services.years import SETTABLE


def _holds(request: HttpRequest, codename: str) -> bool:
    return bool(request.user.has_perm(f"accounts.{codename}"))


@admin.register(YearSettings)
class YearSettingsAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = (
        "year",
        "state",
        "closing",
        "budget",
        "cost_per_entity",
        "max_levy_rate",
        "effective_levy_rate",
        "confirmed",
        "pages",
    )
    #: set by the closing decision and by closing the year, never typed in the form (D5, ADR 11)
    readonly_fields = (
        "effective_levy_rate",
        "closing_decision",
        "closing_decided_on",
        "closing_reference",
        "closed_on",
    )
    actions = ["run_assessment", "apply_corrections", "close_year"]
    form = YearSettingsAdminForm

    def get_readonly_fields(self, request: HttpRequest, obj: YearSettings | None = None) -> Any:
        """Once an invoice of the year exists, its confirmed amount parameters are shown, not edited (D3, D8); the
        model's check refuses the change on any other path (YearSettings.fixed_changes). A stored year keeps its
        number: a change goes through ``year_settings_change``, which changes a year's settings, not its year."""
        fields = list(super().get_readonly_fields(request, obj))
        # the stored row, not ``obj``: a refused form has already put the posted values on the instance
        stored = YearSettings.objects.filter(pk=obj.pk).first() if obj is not None else None
        if stored is not None:
            fields.append("year")
        if stored is not None and stored.invoiced():
            fields += (name for name in FIXED_ONCE_INVOICED if stored.fixes(name) and name not in fields)
        return fields

    def save_model(self, request: HttpRequest, obj: YearSettings, form: Any, change: bool) -> None:
        """A new year is stored as typed; a change goes through the service, the one way a year's settings change
        (locked, checked, kept in the history with who and why). Refused there (someone else changed the year in
        the meantime), nothing is saved and the form is shown again with the reason."""
        if not change:
            super().save_model(request, obj, form, change)
            return
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in SETTABLE}
        if not changes:
            return
        try:
            year_settings_change(
                year=obj.year, changes=changes, by=request.user, reason=str(_("Year settings form of the admin"))
            )
        except ValidationError as error:
            request._year_settings_refused = True  # type: ignore[attr-defined]
            messages.error(request, " ".join(error.messages))

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        if getattr(request, "_year_settings_refused", False):
            return None
        return super().log_change(request, obj, message)

    def response_change(self, request: HttpRequest, obj: YearSettings) -> Any:
        if getattr(request, "_year_settings_refused", False):
            return redirect(request.path)
        return super().response_change(request, obj)

    @admin.display(description=_("state of the year"))
    def state(self, settings: YearSettings) -> str:
        return str(year_state(settings.year).label)

    @admin.display(description=_("closing decision (D5)"))
    def closing(self, settings: YearSettings) -> str:
        if not settings.closing_decision:
            return str(_("not recorded"))
        rate = f" {format(settings.effective_levy_rate.normalize(), 'f')}" if settings.effective_levy_rate else ""
        return f"{settings.get_closing_decision_display()}{rate}, {settings.closing_decided_on}"

    @admin.display(description=_("pages"))
    def pages(self, settings: YearSettings) -> str:
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>',
            reverse("admin:billing_year_status", args=[settings.year]),
            _("status"),
            reverse("admin:billing_year_closing", args=[settings.year]),
            _("closing decision"),
        )

    def get_urls(self) -> list[Any]:
        return [
            path("<year:year>/status/", self.admin_site.admin_view(self.status_view), name="billing_year_status"),
            path("<year:year>/closing/", self.admin_site.admin_view(self.closing_view), name="billing_year_closing"),
            *super().get_urls(),
        ]

    def status_view(self, request: HttpRequest, year: int) -> HttpResponse:
        """The year's state, invoices, the list "levy pending: no figure" (D9) and pending corrections (D8)."""
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": _("Contribution year %(year)s") % {"year": year},
            "status": year_status(year),
            "states": YearState.choices,
            "opts": self.model._meta,
        }
        return render(request, "admin/billing/yearsettings/status.html", context)

    def closing_view(self, request: HttpRequest, year: int) -> HttpResponse:
        """Record the closing decision (D5): once, confirmed, needs ``accounts.manage_year``."""
        if not _holds(request, "manage_year"):
            raise PermissionDenied
        settings = get_object_or_404(YearSettings, year=year)
        form = ClosingDecisionForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            if form.record(year=year):
                messages.success(request, _("The closing decision of %(year)s is recorded.") % {"year": year})
                return redirect("admin:billing_year_status", year=year)
            messages.error(request, " ".join(str(e) for e in form.non_field_errors()))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Closing decision of %(year)s (D5)") % {"year": year},
            "settings": settings,
            "form": form,
            "opts": self.model._meta,
        }
        return render(request, "admin/billing/yearsettings/closing.html", context)

    def has_manage_year_permission(self, request: HttpRequest) -> bool:
        return _holds(request, "manage_year")

    def has_issue_invoices_permission(self, request: HttpRequest) -> bool:
        return _holds(request, "issue_invoices")

    @admin.action(permissions=["manage_year"], description=_("Run the assessment of the year"))
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

    @admin.action(permissions=["issue_invoices"], description=_("Apply the pending corrections after invoicing (D8)"))
    def apply_corrections(self, request: HttpRequest, queryset: QuerySet[YearSettings]) -> None:
        for settings in queryset:
            try:
                done = corrections_apply(year=settings.year)
            except ValidationError as error:
                messages.error(request, f"{settings.year}: {' '.join(error.messages)}")
                continue
            changed = [c for c in done if c.changed]
            messages.success(
                request,
                _("%(year)s: %(changed)s corrected (credit note and new invoice), %(same)s unchanged.")
                % {"year": settings.year, "changed": len(changed), "same": len(done) - len(changed)},
            )

    @admin.action(permissions=["manage_year"], description=_("Close the year"))
    def close_year(self, request: HttpRequest, queryset: QuerySet[YearSettings]) -> None:
        for settings in queryset:
            try:
                year_close(year=settings.year)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(request, _("%(year)s is closed.") % {"year": settings.year})


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
        if not _holds(request, "manage_year"):
            raise PermissionDenied
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

    def has_manage_year_permission(self, request: HttpRequest) -> bool:
        return _holds(request, "manage_year")

    def has_issue_invoices_permission(self, request: HttpRequest) -> bool:
        return _holds(request, "issue_invoices")

    @admin.action(permissions=["manage_year"], description=_("Fix the cost per entity at this run's proposal"))
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

    @admin.action(permissions=["issue_invoices"], description=_("Issue the activity-tax payment notices"))
    def issue_activity_tax(self, request: HttpRequest, queryset: QuerySet[AssessmentRun]) -> None:
        self._issue(request, queryset, InvoiceKind.ACTIVITY_TAX)

    @admin.action(permissions=["issue_invoices"], description=_("Issue the turnover-levy invoices"))
    def issue_turnover_levy(self, request: HttpRequest, queryset: QuerySet[AssessmentRun]) -> None:
        self._issue(request, queryset, InvoiceKind.TURNOVER_LEVY)


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    """Issued invoices are read-only; a correction is a credit note (action) plus a new invoice."""

    list_display = ("number", "kind", "year", "operator", "total", "issued_on", "due_on", "structured_communication")
    list_filter = ("year", "kind")
    search_fields = ("number", "structured_communication", "operator__name", "operator__enterprise_number")
    actions = ["credit"]

    def has_issue_invoices_permission(self, request: HttpRequest) -> bool:
        return _holds(request, "issue_invoices")

    @admin.action(permissions=["issue_invoices"], description=_("Credit in full (credit note)"))
    def credit(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        for invoice in queryset:
            try:
                credit_note_issue(invoice=invoice, reason=str(_("Cancelled by the agency")))
            except ValidationError as error:
                messages.error(request, f"{invoice.number}: {' '.join(error.messages)}")
