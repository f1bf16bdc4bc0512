"""The declaration form, in two steps: the figures and tick boxes, then the certification."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from famhp.declarations.models import CertifierCapacity
from famhp.text import validate_one_line

MONEY = {
    "max_digits": 14,
    "decimal_places": 2,
    "min_value": Decimal(0),
    "localize": True,
}


class FiguresForm(forms.Form):
    total_turnover = forms.DecimalField(
        label=_("Total annual turnover of medical devices in Belgium (euro)"),
        help_text=_("Figure 1: all your turnover of medical devices in Belgium in the turnover year. Not invoiced."),
        **MONEY,  # type: ignore[arg-type]
    )
    levied_turnover = forms.DecimalField(
        label=_(
            "Annual turnover from the sale and supply of medical devices to retailers and end users in Belgium (euro)"
        ),
        help_text=_("Figure 2: including rental, lease and loan. This is the turnover that is invoiced."),
        **MONEY,  # type: ignore[arg-type]
    )
    below_threshold = forms.BooleanField(
        required=False,
        label=_(
            "I declare that my total turnover of medical devices for liable activities is lower than 40,000 euro indexed."
        ),
    )
    not_liable = forms.BooleanField(
        required=False,
        label=_(
            "I declare that my company is not established in Belgium and carries on no liable activity on Belgian territory."
        ),
    )


class CertificationForm(forms.Form):
    certifier_name = forms.CharField(
        label=_("Name of the company auditor or accountant"), max_length=200, validators=[validate_one_line]
    )
    certifier_capacity = forms.ChoiceField(label=_("Capacity"), choices=CertifierCapacity.choices)
    certifier_membership_number = forms.CharField(
        label=_("Membership number"),
        max_length=64,
        required=False,
        validators=[validate_one_line],
        help_text=_("Of the institute of company auditors or of accountants, where there is one."),
    )
    certificate = forms.FileField(
        label=_("Signed certificate (PDF, at most 5 MB)"),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"}),
    )
    confirm = forms.BooleanField(
        label=_("I confirm that these figures are correct and certified."),
    )
