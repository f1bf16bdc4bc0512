"""The declaration form, in two steps: the figures and tick boxes, then the certification."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from famhp.declarations.amounts import format_amount, parse_amount
from famhp.declarations.models import CertifierCapacity
from famhp.text import validate_one_line


class AmountInput(forms.TextInput):
    """A text box (not type=number, which knows no Belgian grouping) showing a Decimal the reader's way."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__({"inputmode": "decimal", "autocomplete": "off", "spellcheck": "false", **(attrs or {})})

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, Decimal):
            return format_amount(value)
        return super().format_value(value)


class AmountField(forms.DecimalField):
    """Every amount a company types (issue 13): read the Belgian way with babel, exactly, into a Decimal; euro to
    the cent, never negative. Its messages show amounts the same way."""

    widget = AmountInput
    default_error_messages = {
        "invalid": _("Write an amount in euro, for example 1.234.567,89 or 1 234 567,89."),
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", 14)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("min_value", Decimal(0))
        super().__init__(**kwargs)
        for validator in self.validators:
            if getattr(validator, "code", "") == "min_value":
                validator.message = _("Write an amount of at least %(limit_value)s euro.")  # type: ignore[attr-defined]

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        if value in self.empty_values:
            return None
        if isinstance(value, Decimal):
            return value
        try:
            number = parse_amount(str(value))
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        if not number.is_finite():
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return number

    def validate(self, value: Any) -> None:
        forms.Field.validate(self, value)


class FiguresForm(forms.Form):
    total_turnover = AmountField(
        label=_("Total annual turnover of medical devices in Belgium (euro)"),
        help_text=_("Figure 1: all your turnover of medical devices in Belgium in the turnover year. Not invoiced."),
    )
    levied_turnover = AmountField(
        label=_(
            "Annual turnover from the sale and supply of medical devices to retailers and end users in Belgium (euro)"
        ),
        help_text=_("Figure 2: including rental, lease and loan. This is the turnover that is invoiced."),
    )
    below_threshold = forms.BooleanField(
        required=False,
        label=_(
            "I declare that my total turnover of medical devices for liable activities is lower than 40,000 euro indexed."
        ),
        help_text=_("FAQ 6: tick it when your total turnover is below the threshold; the activity tax remains due."),
    )
    not_liable = forms.BooleanField(
        required=False,
        label=_(
            "I declare that my company is not established in Belgium and carries on no liable activity on Belgian territory."
        ),
        help_text=_("FAQ 7: a company established abroad without activity in Belgium ticks only this box."),
    )


class CertificationForm(forms.Form):
    """The certification (FAQ 21). A company that declares itself not liable (FAQ 7) confirms only: no certifier
    and no certificate are asked of it."""

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

    def __init__(self, *args: Any, not_liable: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.not_liable = not_liable
        if not_liable:
            for name in ("certifier_name", "certifier_capacity", "certifier_membership_number", "certificate"):
                del self.fields[name]
            self.fields["confirm"].label = _(
                "I confirm that my company is not established in Belgium and carries on no liable activity on Belgian territory."
            )
