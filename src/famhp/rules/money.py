"""Euro amounts and rates as ``Decimal``; the one place in famhp that rounds.

RULES.md §5: "All money is decimal, in euro, never binary floating point", and every rounding is half-up
(ROUND_HALF_UP) at the step the rule names, never earlier. Callers say how many places they round to; the mode
is fixed here so that no other module can pick another one.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

__all__ = [
    "AMOUNT_LIMIT",
    "CENT",
    "RATE_PLACES",
    "RATE_QUANTUM",
    "ZERO",
    "ZERO_EUR",
    "AmountError",
    "decimal_places",
    "format_money",
    "format_rate",
    "parse_amount",
    "parse_rate",
    "round_half_up",
]

ZERO = Decimal(0)
#: Zero euro as the money columns hold it, with its two decimals: an empty sum or a missing figure of the
#: workplace reads "0.00" in its exports and JSON, like every other amount there.
ZERO_EUR = Decimal("0.00")
CENT = Decimal("0.01")
ONE = Decimal(1)
#: The computed levy rate is a fraction rounded half-up to 6 decimals, i.e. 4 decimals of a percent (D5).
RATE_QUANTUM = Decimal("0.000001")
#: contracts/calculate.md, bounds (revision 2): an amount is below 10^13 euro …
AMOUNT_LIMIT = Decimal(10) ** 13
#: … and a rate is a fraction between 0 and 1 with at most 10 decimals (D5: published rates such as 0.0029438).
RATE_PLACES = 10
#: An amount as JSON inputs mostly give it: up to 13 digits, a point and two decimals. Such a text passes every
#: check of parse_amount (not negative, below 10^13, two decimals), so it is read at once (issue 15).
_CENTS = re.compile(r"[0-9]{1,13}\.[0-9]{2}")
_QUANTA = {places: Decimal(1).scaleb(-places) for places in range(RATE_PLACES + 1)}


class AmountError(ValueError):
    """A value that is not a finite, non-negative decimal amount."""


def round_half_up(value: Decimal, quantum: Decimal) -> Decimal:
    """Round ``value`` half-up (away from zero on a tie) to the exponent of ``quantum``.

    RULES.md §5 and contracts/calculate.md: "All rounding is half-up (ROUND_HALF_UP) at the step named".
    """
    return value.quantize(quantum, rounding=ROUND_HALF_UP)


def parse_amount(raw: object, max_places: int = 2) -> Decimal:
    """Read a euro amount exactly from a string, an int or a Decimal (JSON numbers are parsed as Decimal).

    contracts/calculate.md, bounds (revision 2): finite, not negative, below 10^13 euro, with at most
    ``max_places`` decimals that are not zero (a cent is the smallest unit): ``"100000.000"`` is the amount
    100000.00. The amount comes back with exactly ``max_places`` decimals. Every check is a comparison or a
    quantize of a number already known to be below the limit, so no input, however formed (``"1e999999999"``),
    takes more than a moment.
    """
    if max_places == 2 and raw.__class__ is str and _CENTS.fullmatch(raw):
        return Decimal(raw)
    value = _parse_decimal(raw)
    if value >= AMOUNT_LIMIT:
        raise AmountError(f"{_shown(raw)} is not below 10^13 euro (contracts/calculate.md, bounds)")
    rounded = round_half_up(value, _QUANTA[max_places])
    if rounded != value:
        raise AmountError(f"{_shown(raw)} has more than {max_places} decimals that are not zero")
    return rounded


def parse_rate(raw: object) -> Decimal:
    """Read a rate or a share: a fraction between 0 and 1 with at most 10 decimals that are not zero.

    The value comes back as given (``"0.0029438"`` stays 0.0029438, D5), only trailing zeros past the tenth
    decimal dropped.
    """
    value = _parse_decimal(raw)
    if value > ONE:
        raise AmountError(f"{_shown(raw)} is not a fraction between 0 and 1 (a rate of 0.2868 % is 0.002868)")
    rounded = round_half_up(value, _QUANTA[RATE_PLACES])
    if rounded != value:
        raise AmountError(f"{_shown(raw)} has more than {RATE_PLACES} decimals that are not zero")
    return rounded if int(value.as_tuple().exponent) < -RATE_PLACES else value


def decimal_places(value: Decimal) -> int:
    """The number of decimals of ``value`` that matter: trailing zeros do not count (0.0029438000 → 7)."""
    _, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int) or exponent >= 0 or not any(digits):
        return 0
    zeros = len(digits) - len(bytes(digits).rstrip(b"\0"))
    return max(0, -(exponent + zeros))


def _shown(raw: object) -> str:
    """The offending value in a message, cut short: an input may hold a number of a million digits."""
    text = repr(raw) if isinstance(raw, str) else str(raw)
    return text if len(text) <= 40 else f"{text[:20]}…{text[-10:]} ({len(text)} characters)"


def _parse_decimal(raw: object) -> Decimal:
    """A finite, non-negative Decimal from a string, an int or a Decimal; floats and booleans are refused."""
    kind = raw.__class__
    if kind is str:
        try:
            value = Decimal(raw.strip())  # type: ignore[attr-defined]
        except InvalidOperation:
            raise AmountError(f"{_shown(raw)} is not a decimal number") from None
    elif kind is Decimal:
        value = raw  # type: ignore[assignment]
    elif kind is int:
        value = Decimal(raw)  # type: ignore[arg-type]
    elif kind is bool:
        raise AmountError("a number is expected, not true/false")
    else:
        raise AmountError("a decimal number is expected (a JSON string or number)")
    if not value.is_finite():
        raise AmountError(f"{_shown(raw)} is not a finite number")
    if value.is_signed():
        if not value.is_zero():
            raise AmountError(f"{_shown(raw)} is negative")
        return value.copy_abs()  # "-0" is 0, never "-0.00" on an invoice
    return value


def format_money(value: Decimal) -> str:
    """Money on output: a string with exactly two decimals (the value is already rounded to the cent)."""
    return f"{value:.2f}"


def format_rate(value: Decimal) -> str:
    """A rate on output: six decimals, or more where the rate has more (contracts/calculate.md: "0.0029438")."""
    return f"{value:.{max(6, decimal_places(value))}f}"
