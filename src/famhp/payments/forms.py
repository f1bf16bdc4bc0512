"""What staff type on the payment pages, read exactly: an amount is never rounded, an id is digits."""

from __future__ import annotations

import re
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

#: euro and cents as the money columns hold them (14 digits, 2 decimals): at most 12 digits before the separator,
#: a point or the Belgian comma, at most two decimals; no exponent, no sign, no thousands separator
AMOUNT = re.compile(r"(\d{1,12})(?:[.,](\d{1,2}))?")
#: what a page wrote itself as a line's allocated total (``0.00``, ``-12.50`` after a reversal)
SEEN = re.compile(r"-?\d{1,12}(?:\.\d{1,2})?")


def amount_parse(text: str) -> Decimal:
    """A positive euro amount, exactly as typed (``12,5`` is 12.50), or a clear error: never rounded, so that an
    allocation is what staff meant or nothing (``0.015``, ``1e999999999``, ``abc`` are refused)."""
    typed = "".join(text.split())
    match = AMOUNT.fullmatch(typed) if typed.isascii() else None
    if match is None:
        raise ValidationError(
            _(
                "%(typed)s is not an amount: type euros with at most two decimals after a comma or a point, "
                "e.g. 1250,50, below 1,000,000,000,000."
            )
            % {"typed": typed[:30] or '""'}
        )
    amount = Decimal(f"{match.group(1)}.{(match.group(2) or '').ljust(2, '0')}")
    if amount <= 0:
        raise ValidationError(_("An allocation is a positive amount."))
    return amount


def id_or_none(text: str | None) -> int | None:
    """A database id typed or posted: digits only (at most 18, a bigint), else None."""
    value = (text or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None


def seen_parse(text: str | None) -> Decimal:
    """What the page showed as allocated on the line when it was drawn (a figure it wrote itself, e.g.
    ``0.00``): posted back so that a second click allocates nothing (``payment_allocate(seen=…)``)."""
    value = (text or "").strip()
    if not SEEN.fullmatch(value):
        raise ValidationError(_("The page was incomplete: nothing was allocated. Open the line again."))
    return Decimal(value)
