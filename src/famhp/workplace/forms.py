"""The workplace's forms: what-if parameters, saving them, and the confirmation of a mass action."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from babel.numbers import format_decimal
from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _

from famhp.billing.models import INTEREST_PARAMETERS, YearSettings
from famhp.billing.services.years import AMOUNT_PARAMETERS, SETTABLE
from famhp.declarations.amounts import belgian_locale, parse_amount
from famhp.rules.parameters import PLACES
from famhp.text import validate_one_line


class WhatIfForm(forms.Form):
    """The parameters a what-if changes; an empty cost per entity is computed from the budget (D3)."""

    budget = forms.DecimalField(
        label=_("Budget (sector share, euro)"), max_digits=15, decimal_places=2, min_value=Decimal(0), required=False
    )
    activity_tax_share = forms.DecimalField(
        label=_("Activity-tax share (a fraction: 0.25 is 25 %)"),
        max_digits=11,
        decimal_places=10,
        min_value=Decimal(0),
        max_value=Decimal(1),
    )
    max_levy_rate = forms.DecimalField(
        label=_("Maximum levy rate (a fraction: 0.003073 is 0.3073 %)"),
        max_digits=11,
        decimal_places=10,
        min_value=Decimal(0),
        max_value=Decimal(1),
        required=False,
    )
    cost_per_entity = forms.DecimalField(
        label=_("Cost per entity (euro; empty: computed from the budget)"),
        max_digits=14,
        decimal_places=2,
        min_value=Decimal(0),
        required=False,
    )


class ConfirmForm(forms.Form):
    """The preview's idempotency key: posting the same preview twice finds the same action."""

    key = forms.UUIDField(widget=forms.HiddenInput)
    confirm = forms.BooleanField(label=_("I have checked the list above: run this action."))


class WhatIfSaveForm(WhatIfForm):
    """ "Save these parameters": the what-if's values (hidden), the values it was computed with (``was_``, to
    refuse a save over someone else's change), and on the confirmation step why, and whether to confirm them."""

    confirm_parameters = forms.BooleanField(
        label=_(
            "Also confirm these parameters: invoices may then use them, and once an invoice of the year exists "
            "they can no longer change."
        ),
        required=False,
    )
    reason = forms.CharField(
        label=_("Reason (kept in the year's history)"), max_length=100, required=False, validators=[validate_one_line]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in WHATIF_FIELDS:
            self.fields[name].widget = forms.HiddenInput()
            was = forms.DecimalField(max_digits=24, decimal_places=10, required=False, widget=forms.HiddenInput)
            self.fields[f"was_{name}"] = was

    @classmethod
    def for_preview(cls, changes: dict[str, Any], current: dict[str, Any]) -> WhatIfSaveForm:
        return cls(initial={**changes, **{f"was_{name}": current.get(name) for name in WHATIF_FIELDS}})

    def changes(self) -> dict[str, Decimal | None]:
        return {name: self.cleaned_data[name] for name in WHATIF_FIELDS}

    def based_on(self) -> dict[str, Decimal | None]:
        return {name: self.cleaned_data[f"was_{name}"] for name in WHATIF_FIELDS}


#: the what-if's parameters, in the form's order
WHATIF_FIELDS = tuple(WhatIfForm.base_fields)


#: what the year's settings page confirms: the parameters, the interest terms (D10) and the entity table (D11)
CONFIRMABLE = (*AMOUNT_PARAMETERS, *(n for n in INTEREST_PARAMETERS if n not in AMOUNT_PARAMETERS), "entity_table")
#: the settings that need a value (the others may stay empty)
REQUIRED_AMOUNTS = frozenset({"activity_tax_share", "exemption_threshold"})


def setting_field(name: str) -> models.Field[Any, Any]:
    field = YearSettings._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field


def confirmable_label(name: str) -> str:
    if name == "entity_table":
        return str(_("entity table (D11)"))
    return str(setting_field(name).verbose_name)


def shown_value(name: str, value: Any) -> str:
    """A setting as the edit form shows it, the way it is typed back in the user's language: euro amounts to the
    cent (``1.234.567,89``), fractions with their decimals (``0,003073``)."""
    if value is None:
        return ""
    if name in PLACES:
        pattern = "#,##0.00" if PLACES[name] == 2 else "0.##########"
        return format_decimal(value, format=pattern, locale=belgian_locale())
    return str(value)


class AmountField(forms.CharField):
    """An amount or a fraction typed the Belgian way (``1.234.567,89``, ``0,25``), read exactly."""

    def __init__(self, *, places: int, digits: int, **kwargs: Any) -> None:
        self.places = places
        self.whole = digits - places  # digits before the decimal sign the column holds
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        text = super().to_python(value)
        if not text:
            return None
        try:
            if len(text) > 40:
                raise ValueError(text)
            amount = parse_amount(text)
        except ValueError:
            raise forms.ValidationError(
                _("%(typed)s is not a number as it is written here, e.g. 1.234.567,89 or 0,25."),
                params={"typed": text[:30]},
            ) from None
        exponent = amount.as_tuple().exponent
        places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        if amount < 0 or places > self.places or amount >= Decimal(10) ** self.whole:
            raise forms.ValidationError(
                _("Type a number of at least zero, below %(limit)s, with at most %(places)s decimals."),
                params={"places": self.places, "limit": f"1{'0' * self.whole}"},
            )
        return amount


class YearSettingsForm(forms.Form):
    """The year's settings as the agency changes them (``year_settings_change``): every setting it may set, the
    values the page was shown with (``based_on``, to refuse a save over someone else's change) and why."""

    based_on = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label=_("Reason (kept in the year's history)"), max_length=100, required=False, validators=[validate_one_line]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in AMOUNT_PARAMETERS:
            column = setting_field(name)
            assert isinstance(column, models.DecimalField)
            self.fields[name] = AmountField(
                label=column.verbose_name,
                places=min(PLACES[name], column.decimal_places or 0),
                digits=column.max_digits or 0,
                required=name in REQUIRED_AMOUNTS,
            )
        for name in ("late_interest_period", "late_interest_base"):
            field = setting_field(name)
            self.fields[name] = forms.ChoiceField(label=field.verbose_name, choices=field.choices or [])
        for name in ("activity_tax_due_days", "levy_due_days"):
            field = setting_field(name)
            self.fields[name] = forms.IntegerField(label=field.verbose_name, min_value=1, max_value=365)
        self.fields["confirmed"] = forms.MultipleChoiceField(
            label=_("Confirmed parameters (invoices use only confirmed ones)"),
            choices=[(name, confirmable_label(name)) for name in CONFIRMABLE],
            widget=forms.CheckboxSelectMultiple,
            required=False,
        )

    @classmethod
    def for_settings(cls, settings: YearSettings) -> YearSettingsForm:
        initial: dict[str, Any] = {name: shown_value(name, getattr(settings, name)) for name in SETTABLE}
        initial["confirmed"] = [name for name in settings.confirmed if name in CONFIRMABLE]
        initial["based_on"] = json.dumps(based_on(settings))
        return cls(initial=initial)

    def clean_based_on(self) -> dict[str, Any]:
        try:
            values = json.loads(self.cleaned_data["based_on"])
        except ValueError:
            values = None
        if not isinstance(values, dict) or not set(values) <= set(SETTABLE):
            raise forms.ValidationError(_("This form was not sent as the page wrote it: open the page again."))
        return values

    def changes(self, settings: YearSettings) -> dict[str, Any]:
        """The settings as typed; the confirmed names this page does not show (the lowered rate, confirmed by
        the closing decision alone) are kept."""
        changes = {name: self.cleaned_data[name] for name in SETTABLE if name != "confirmed"}
        kept = [name for name in settings.confirmed if name not in CONFIRMABLE]
        changes["confirmed"] = sorted({*kept, *self.cleaned_data["confirmed"]})
        return changes


def based_on(settings: YearSettings) -> dict[str, Any]:
    """The values a page shows, as the service compares them (``based_on`` of ``year_settings_change``)."""
    return {
        name: list(value) if name == "confirmed" else (None if value is None else str(value))
        for name, value in ((name, getattr(settings, name)) for name in SETTABLE)
    }


class HiddenDateInput(forms.DateInput):
    """A date carried back unchanged by the form, written as ISO 8601 whatever the language."""

    input_type = "hidden"


class CampaignDatesForm(forms.Form):
    """The campaign's deadline and late-filing date, with the reason kept in its history and the dates the page
    showed (hidden: a change made meanwhile by someone else is not overwritten)."""

    deadline = forms.DateField(
        label=_("Declaration deadline"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    late_filing_until = forms.DateField(
        label=_("Late filings and corrections accepted until"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    reason = forms.CharField(
        label=_("Reason of the change (kept in the campaign's history)"), max_length=100, validators=[validate_one_line]
    )
    seen_deadline = forms.DateField(required=False, widget=HiddenDateInput(format="%Y-%m-%d"))
    seen_late_filing_until = forms.DateField(required=False, widget=HiddenDateInput(format="%Y-%m-%d"))
    #: the page showed no campaign (it is opened by this form)
    seen_none = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        deadline, late = data.get("deadline"), data.get("late_filing_until")
        if deadline and late and late < deadline:
            self.add_error("late_filing_until", _("The late-filing date cannot be before the deadline."))
        return data
