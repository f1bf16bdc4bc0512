"""Template helpers of the workplace: amounts and rates the reader's way, explanation lines, cells of a list."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django import template
from django.utils.formats import date_format

from famhp.declarations.amounts import belgian_locale, format_amount, format_euro
from famhp.declarations.templatetags.famhp import explain
from famhp.rules import Line

register = template.Library()


@register.filter
def eur(value: Any) -> str:
    """The Belgian way in every language (ADR 18): 1234.5 → "1.234,50 €" (nl, en), "1 234,50 €" (fr); nothing → "—"."""
    if value is None or value == "":
        return "—"
    return format_euro(Decimal(value))


@register.filter
def rate(value: Any) -> str:
    """A rate as a fraction → a percentage with every significant decimal: 0.0029438 → "0,29438 %"."""
    if value is None or value == "":
        return "—"
    from babel.numbers import format_decimal

    percent = Decimal(value) * 100
    return f"{format_decimal(percent, format='0.00########', locale=belgian_locale())}\u00a0%"


@register.filter
def explain_stored(line: Any) -> str:
    """A stored explanation line ``[rule, template, arguments]`` in the reader's language, with its rule code
    first (D3, RULES §3): staff look the rules up in RULES.md, which the company's version leaves out."""
    rule, text, args = line
    return f"{rule} · {explain(Line(rule, text, args))}"


@register.filter
def cell(row: dict[str, Any], column: Any) -> str:
    value = row.get(column.key)
    if value is None:
        return "—"
    if column.numeric and isinstance(value, Decimal):
        return format_amount(value)
    if isinstance(value, datetime.date):
        return date_format(value, "SHORT_DATE_FORMAT")
    return str(value)


@register.filter
def get(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key)


@register.filter
def tick(value: Decimal) -> str:
    """An axis value without exponent or needless decimals: 2.5E+3 → "2,500"."""
    from babel.numbers import format_decimal

    return str(format_decimal(value, format="#,##0.##", locale=belgian_locale()))
