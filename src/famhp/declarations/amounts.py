"""Amounts and dates the way Belgians write them (issue 13, ADR 18), read and written with babel (CLDR).

In Belgium the comma is the decimal sign in every language, and thousands are grouped with a dot or a space:
``1.234.567,89``, ``1 234 567,89``, ``1234567,89``. An English reader may also write ``1,234,567.89``. A text is
read exactly into a Decimal, never through a float; one that fits no pattern strictly is refused, never guessed
(``1.23`` is neither a Belgian grouping nor, in Dutch or French, a decimal).
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

from babel.dates import format_date as babel_format_date
from babel.numbers import NumberFormatError, format_decimal, get_group_symbol, parse_decimal
from django.utils.translation import get_language

#: every space a keyboard, a spreadsheet or a copy from a PDF may put between groups of digits
SPACES = re.compile(r"[\s\u00a0\u202f\u2009\u2007]+")
EURO = re.compile(r"^(?:€|EUR)\s*|\s*(?:€|EUR)$", re.IGNORECASE)
ONLY_DIGITS = re.compile(r"^\d+$")


def belgian_locale(language: str | None = None) -> str:
    """The CLDR locale of a language as written in Belgium: nl_BE, fr_BE, de_BE or en_BE."""
    code = (language or get_language() or "nl").split("-")[0].lower()
    return f"{code}_BE" if code in {"nl", "fr", "de", "en"} else "nl_BE"


def parse_amount(text: str, language: str | None = None) -> Decimal:
    """The exact Decimal that ``text`` writes in ``language``, or ValueError.

    The Belgian forms are read in every language: dots and spaces group thousands, the comma is the decimal sign.
    English also reads ``1,234,567.89`` and ``1234.5`` (a dot that groups no thousands)."""
    locale = belgian_locale(language)
    cleaned = EURO.sub("", text.strip()).strip()
    if not cleaned:
        raise ValueError(text)
    if ONLY_DIGITS.match(cleaned):
        return Decimal(cleaned)
    group = get_group_symbol(locale)
    belgian = SPACES.sub(group, cleaned).replace(".", group)
    try:
        return parse_decimal(belgian, locale=locale, strict=True)
    except NumberFormatError:
        if locale != "en_BE":
            raise ValueError(text) from None
    try:
        return parse_decimal(cleaned, locale="en_GB", strict=True)
    except NumberFormatError:
        raise ValueError(text) from None


def format_amount(value: Decimal, language: str | None = None) -> str:
    """``1.234.567,89`` (nl, en), ``1 234 567,89`` (fr): two decimals, thousands grouped."""
    return format_decimal(value, format="#,##0.00", locale=belgian_locale(language))


def format_euro(value: Decimal, language: str | None = None) -> str:
    return f"{format_amount(value, language)}\u00a0€"


def format_day(value: datetime.date, language: str | None = None) -> str:
    """A date as the Belgian locale writes it in full: 3 februari 2026, 3 février 2026, 3 February 2026."""
    return babel_format_date(value, format="long", locale=belgian_locale(language))
