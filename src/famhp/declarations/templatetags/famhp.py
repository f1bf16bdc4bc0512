"""Template helpers of the portal."""

from __future__ import annotations

import re
from decimal import Decimal

from django import template
from django.utils.formats import number_format
from django.utils.translation import gettext

from famhp.registry.models import Role
from famhp.rules import Line

register = template.Library()

# famhp.rules formats amounts as "1,234.56 EUR" and rates as "0.3073 %" (explanation.eur and .percent); the
# portal shows them the reader's way: "1.234,56 €" in Dutch, "1 234,56 €" in French.
AMOUNT = re.compile(r"^(\d{1,3}(?:,\d{3})*\.\d{2}) EUR$")
RATE = re.compile(r"^(\d+\.\d{4}) %$")


def localise(name: str, value: str) -> str:
    if name == "role" and value in Role.values:
        return str(Role(value).label)
    if match := AMOUNT.match(value):
        return f"{number_format(Decimal(match.group(1).replace(',', '')), 2, use_l10n=True, force_grouping=True)} €"
    if match := RATE.match(value):
        return f"{number_format(Decimal(match.group(1)), 4, use_l10n=True)} %"
    return value


@register.filter
def explain(line: Line) -> str:
    """An explanation line of famhp.rules in the reader's language: its template is the message id, and its
    amounts and rates are written the reader's way."""
    return gettext(line.template).format_map({name: localise(name, value) for name, value in line.args.items()})
