"""The billing forms staff pages share (the admin and the workplace): one form, one way to record a decision."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from famhp.billing.models import ClosingDecision, YearSettings
from famhp.billing.services import outside_the_rules, year_closing_decide
from famhp.text import validate_one_line


class ClosingDecisionForm(forms.Form):
    """D5: "lowered to R" or "not lowered", with the decision's date and reference, confirmed before it is kept."""

    decision = forms.ChoiceField(label=_("Decision"), choices=ClosingDecision.choices, widget=forms.RadioSelect)
    lowered_rate = forms.DecimalField(
        label=_("Lowered rate (a fraction: 0.0029438 is 0.29438 %)"),
        max_digits=11,
        decimal_places=10,
        min_value=Decimal(0),
        required=False,
    )
    decided_on = forms.DateField(label=_("Date of the decision"))
    reference = forms.CharField(label=_("Reference of the decision"), max_length=200, validators=[validate_one_line])
    confirm = forms.BooleanField(
        label=_("I confirm this decision: it is recorded once and sets the rate of the turnover-levy invoices.")
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        lowered = data.get("decision") == ClosingDecision.LOWERED
        if lowered and data.get("lowered_rate") is None:
            self.add_error("lowered_rate", _("Give the lowered rate."))
        if not lowered and data.get("lowered_rate") is not None:
            self.add_error("lowered_rate", _('A decision "not lowered" has no lowered rate.'))
        return data

    def record(self, *, year: int) -> bool:
        """Record the valid decision through the service; its refusal becomes the form's error (False)."""
        data = self.cleaned_data
        lowered = data["lowered_rate"] if data["decision"] == ClosingDecision.LOWERED else None
        try:
            year_closing_decide(
                year=year, lowered_rate=lowered, decided_on=data["decided_on"], reference=data["reference"]
            )
        except ValidationError as error:
            self.add_error(None, error)
            return False
        return True


class YearSettingsAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    """The admin's year settings: besides the model's checks (the fixed parameters of an invoiced year),
    famhp.rules' bounds, as the what-if and the service check them. The admin saves through the service."""

    class Meta:
        model = YearSettings
        fields = "__all__"

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]  # from here on the instance holds the posted values
        if not self.errors:
            for problem in outside_the_rules(self.instance):
                self.add_error(None, problem)
