"""The workplace's forms: what-if parameters and the confirmation of a mass action."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _


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
