from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from famhp.admin_base import require_permission
from famhp.countries import CountryField
from famhp.registry.models import Activity, Operator, SelfControlDeclaration
from famhp.registry.services import operators_import_csv


class ActivityInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Activity
    extra = 0


class SelfControlInline(admin.TabularInline):  # type: ignore[type-arg]
    model = SelfControlDeclaration
    extra = 0


class MustDeclareFilter(admin.SimpleListFilter):
    """ "Must declare, has not" per campaign: the agency's chase list (RULES §3, §6)."""

    title = _("campaign: must declare, has not declared")
    parameter_name = "not_declared_in"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        from famhp.declarations.models import Campaign

        return [(str(c.year), str(c.year)) for c in Campaign.objects.all()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Operator]) -> QuerySet[Operator]:
        from famhp.declarations.models import Campaign
        from famhp.declarations.selectors import operators_not_declared

        value = self.value()
        if not value:
            return queryset
        campaign = Campaign.objects.filter(year=int(value)).first()
        if campaign is None:
            return queryset.none()
        return queryset.filter(pk__in=operators_not_declared(campaign).values("pk"))


class ImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file exported by the registration portal"))


class OperatorForm(forms.ModelForm):  # type: ignore[type-arg]
    """The country as an ISO 3166-1 alpha-2 code, typed in any case (issue 11)."""

    country = CountryField(
        label=_("country"), initial="BE", help_text=_("ISO 3166-1 alpha-2 code, e.g. BE, DE, GB (not UK).")
    )

    class Meta:
        model = Operator
        fields = "__all__"


@admin.register(Operator)
class OperatorAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    form = OperatorForm
    list_display = ("name", "identifier", "country", "language", "established_in_belgium", "active_in_belgium")
    list_filter = (MustDeclareFilter, "established_in_belgium", "active_in_belgium", "language", "country")
    search_fields = ("name", "enterprise_number", "foreign_identifier", "contact_email")
    inlines = [ActivityInline, SelfControlInline]
    change_list_template = "admin/registry/operator/change_list.html"

    def get_urls(self) -> list[Any]:
        return [
            path("import/", self.admin_site.admin_view(self.import_csv), name="registry_operator_import"),
            *super().get_urls(),
        ]

    def import_csv(self, request: HttpRequest) -> HttpResponse:
        require_permission(request, "manage_register")
        errors: tuple[Any, ...] = ()
        if request.method == "POST":
            form = ImportForm(request.POST, request.FILES)
            if form.is_valid():
                result = operators_import_csv(data=form.cleaned_data["file"].read())
                if result.ok:
                    messages.success(
                        request,
                        _(
                            "Imported: %(created)s operators created, %(updated)s updated, %(activities)s activities added."
                        )
                        % {
                            "created": result.operators_created,
                            "updated": result.operators_updated,
                            "activities": result.activities_created,
                        },
                    )
                else:
                    errors = result.errors
                    messages.error(
                        request, _("Nothing was imported: the file has %(count)s errors.") % {"count": len(errors)}
                    )
        else:
            form = ImportForm()
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "errors": errors,
            "title": _("Import operators"),
        }
        return render(request, "admin/registry/operator/import.html", context)


@admin.register(Activity)
class ActivityAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = ("operator", "role", "category", "registered_on", "closed_on")
    list_filter = ("role", "category", "closed_on")
    search_fields = ("operator__name", "operator__enterprise_number")
    raw_id_fields = ("operator",)


@admin.register(SelfControlDeclaration)
class SelfControlDeclarationAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = ("operator", "declared_on", "complies")
    raw_id_fields = ("operator",)
