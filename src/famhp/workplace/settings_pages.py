"""The year's settings in the workplace (issue 12): every setting with whether it is confirmed or fixed, the
year's history, the edit form with its confirmation step, and preparing the next year. Reads here; every change
goes through billing's services (``year_settings_change``, ``year_settings_prepare``; ADR 20)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from famhp.billing.models import FIXED_ONCE_INVOICED, Invoice, YearSettings
from famhp.billing.selectors import year_state
from famhp.billing.services.years import CARRIED_OVER, year_settings_change, year_settings_prepare
from famhp.declarations.models import Campaign
from famhp.declarations.services import CampaignDates, campaign_dates_change
from famhp.workplace import selectors
from famhp.workplace.access import staff_page
from famhp.workplace.forms import CONFIRMABLE, CampaignDatesForm, YearSettingsForm, confirmable_label, setting_field
from famhp.workplace.views import _context
from famhp.workplace.whatif import EURO_NAMES, FRACTION_NAMES, save_preview

#: the settings the page lists, in the order the agency reads them
SHOWN = (
    "budget",
    "activity_tax_share",
    "exemption_threshold",
    "max_levy_rate",
    "effective_levy_rate",
    "cost_per_entity",
    "administrative_fine",
    "late_interest_rate",
    "late_interest_period",
    "late_interest_base",
    "activity_tax_due_days",
    "levy_due_days",
)


@dataclass(frozen=True)
class SettingRow:
    name: str
    label: str
    kind: str  # "eur", "rate" or "text"
    value: Any
    confirmable: bool
    confirmed: bool
    #: confirmed and invoices of the year exist: it fixed their amounts (D3, D8, ADR 11)
    fixed: bool


@dataclass(frozen=True)
class HistoryEntry:
    when: Any
    who: str
    why: str
    #: (setting in words, "eur", "rate" or "text", old, new); empty for the row's creation
    changes: list[tuple[str, str, Any, Any]]
    created: bool


def _kind(name: str) -> str:
    return "eur" if name in EURO_NAMES else "rate" if name in FRACTION_NAMES | {"effective_levy_rate"} else "text"


def setting_rows(settings: YearSettings) -> list[SettingRow]:
    invoiced = settings.invoiced()
    rows = []
    for name in SHOWN:
        field = setting_field(name)
        value = getattr(settings, name)
        display = getattr(settings, f"get_{name}_display", None)
        rows.append(
            SettingRow(
                name=name,
                label=str(field.verbose_name),
                kind=_kind(name),
                value=display() if display else value,
                confirmable=name in CONFIRMABLE or name == "effective_levy_rate",
                confirmed=settings.fixes(name) if name == "effective_levy_rate" else name in settings.confirmed,
                fixed=invoiced and name in FIXED_ONCE_INVOICED and settings.fixes(name),
            )
        )
    return rows


def _shown(name: str, value: Any) -> Any:
    """A value of the history as the page shows it: the confirmed list and the choices in words."""
    if value in (None, "", []):
        return None
    if name == "confirmed":
        return ", ".join(
            confirmable_label(n) if n != "effective_levy_rate" else str(setting_field(n).verbose_name) for n in value
        )
    choices = dict(setting_field(name).choices or []) if name != "year" else {}
    return choices.get(value, value)


def history_entries(history: Any, shown: Callable[[Any], tuple[str, str, Any, Any]]) -> list[HistoryEntry]:
    """A row's history (simple-history's manager ``history``), newest first: who, when, why, and each field's
    change as ``shown`` writes it (in words, how to show its values, old, new)."""
    records = list(history.order_by("history_date", "history_id").select_related("history_user"))
    entries: list[HistoryEntry] = []
    previous = None
    for record in records:
        changes: list[tuple[str, str, Any, Any]] = (
            [shown(c) for c in record.diff_against(previous).changes] if previous is not None else []
        )
        user = record.history_user
        entries.append(
            HistoryEntry(
                when=record.history_date,
                who=(user.get_full_name() or user.get_username()) if user else _("the system"),
                why=record.history_change_reason or "",
                changes=changes,
                created=previous is None,
            )
        )
        previous = record
    return entries[::-1]


def settings_history(settings: YearSettings) -> list[HistoryEntry]:
    """The year's settings' history, each setting old → new in words."""
    labels = {field.name: str(field.verbose_name) for field in YearSettings._meta.fields}
    return history_entries(
        settings.history,
        lambda c: (labels.get(c.field, c.field), _kind(c.field), _shown(c.field, c.old), _shown(c.field, c.new)),
    )


@require_GET
@staff_page("billing.view_yearsettings")
def settings_page(request: HttpRequest, year: int) -> HttpResponse:
    settings = YearSettings.objects.filter(year=year).first()
    return render(
        request,
        "workplace/settings.html",
        _context(
            request,
            year,
            section="settings",
            settings=settings,
            campaign=Campaign.objects.filter(year=year).first(),
            rows=setting_rows(settings) if settings else [],
            entity_table_confirmed=settings is not None and "entity_table" in settings.confirmed,
            invoiced=settings is not None and settings.invoiced(),
            history=settings_history(settings) if settings else [],
            following=year + 1,
            following_exists=YearSettings.objects.filter(year=year + 1).exists(),
            state=year_state(year),
        ),
    )


@staff_page("billing.view_yearsettings", "accounts.manage_year")
def settings_edit(request: HttpRequest, year: int) -> HttpResponseBase:
    """The form (GET), the confirmation step with each setting old → new and the service's refusals (POST),
    then, posted with "save" and a reason, billing's ``year_settings_change``: nothing is saved on an error."""
    settings = YearSettings.objects.filter(year=year).first()
    if settings is None:
        messages.error(request, _("No settings for %(year)s yet.") % {"year": year})
        return redirect("workplace:settings", year=year)
    if request.method != "POST":
        form = YearSettingsForm.for_settings(settings)
        return render(request, "workplace/settings_edit.html", _context(request, year, section="settings", form=form))
    form = YearSettingsForm(request.POST)
    if not form.is_valid() and set(form.errors) - {"reason"}:
        return render(request, "workplace/settings_edit.html", _context(request, year, section="settings", form=form))
    changes = form.changes(settings)
    if "save" in request.POST and not form.errors:
        if not form.cleaned_data["reason"].strip():
            form.add_error("reason", _("Give the reason of the change: the year's history keeps it."))
        else:
            try:
                done = year_settings_change(
                    year=year,
                    changes=changes,
                    by=request.user,
                    reason=form.cleaned_data["reason"],
                    based_on=form.cleaned_data["based_on"],
                )
            except ValidationError as error:
                form.add_error(None, error.messages)  # each refusal said above the table, whatever field it names
            else:
                messages.success(
                    request,
                    _("The settings of %(year)s are saved (%(names)s).")
                    % {"year": year, "names": ", ".join(change.label for change in done)},
                )
                return redirect("workplace:settings", year=year)
    preview = save_preview(year, changes, form.cleaned_data["based_on"])
    return render(
        request,
        "workplace/settings_confirm.html",
        _context(
            request,
            year,
            section="settings",
            form=form,
            preview=preview,
            next_step=selectors.NEXT_STEP[preview.state],
        ),
    )


@staff_page("billing.view_yearsettings", "accounts.manage_year")
def settings_prepare(request: HttpRequest, year: int) -> HttpResponseBase:
    """ "Prepare the next year": what is carried over (GET), then billing's ``year_settings_prepare`` (POST)."""
    if request.method == "POST":
        try:
            year_settings_prepare(year=year, by=request.user)
        except ValidationError as error:
            for text in error.messages:
                messages.error(request, text)
            return redirect("workplace:settings", year=year)
        messages.success(
            request,
            _("The settings of %(year)s are prepared, none confirmed yet: check and confirm each one.")
            % {"year": year + 1},
        )
        return redirect("workplace:settings", year=year + 1)
    settings = YearSettings.objects.filter(year=year).first()
    rows = [row for row in setting_rows(settings) if row.name in CARRIED_OVER] if settings else []
    return render(
        request,
        "workplace/settings_prepare.html",
        _context(
            request,
            year,
            section="settings",
            settings=settings,
            rows=rows,
            following=year + 1,
            following_exists=YearSettings.objects.filter(year=year + 1).exists(),
            cost_label=confirmable_label("cost_per_entity"),
        ),
    )


def campaign_history(campaign: Campaign | None) -> list[HistoryEntry]:
    """The campaign's history, each date old → new."""
    if campaign is None:
        return []
    labels = {field.name: str(field.verbose_name) for field in Campaign._meta.fields}
    return history_entries(campaign.history, lambda c: (labels.get(c.field, c.field), "date", c.old, c.new))


@staff_page("declarations.view_campaign", "accounts.manage_campaign")
def settings_campaign(request: HttpRequest, year: int) -> HttpResponseBase:
    """The campaign's dates (GET: the form with its history), then declarations' ``campaign_dates_change``
    (POST): opened if the year has no campaign yet; nothing saved on an error, a second post saves nothing."""
    campaign = Campaign.objects.filter(year=year).first()
    if request.method == "POST":
        form = CampaignDatesForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            seen = None
            if data["seen_deadline"] and data["seen_late_filing_until"]:
                seen = CampaignDates(data["seen_deadline"], data["seen_late_filing_until"])
            try:
                campaign_dates_change(
                    year=year,
                    dates=CampaignDates(data["deadline"], data["late_filing_until"]),
                    by=request.user,
                    reason=data["reason"],
                    seen=seen,
                    opening=data["seen_none"],
                )
            except ValidationError as error:
                form.add_error(None, error.messages)
            else:
                messages.success(request, _("The campaign's dates of %(year)s are saved.") % {"year": year})
                return redirect("workplace:settings", year=year)
    else:
        deadline = campaign.deadline if campaign else Campaign.default_deadline(year)
        late = campaign.late_filing_until if campaign else deadline
        form = CampaignDatesForm(
            initial={
                "deadline": deadline,
                "late_filing_until": late,
                "seen_deadline": campaign.deadline if campaign else None,
                "seen_late_filing_until": campaign.late_filing_until if campaign else None,
                "seen_none": campaign is None,
            }
        )
    return render(
        request,
        "workplace/settings_campaign.html",
        _context(
            request,
            year,
            section="settings",
            form=form,
            campaign=campaign,
            invoiced=Invoice.objects.filter(year=year).exists(),
            history=campaign_history(campaign),
        ),
    )
