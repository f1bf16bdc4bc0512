"""The workplace's forms: what-if parameters, saving them, and the confirmation of a mass action."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

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
