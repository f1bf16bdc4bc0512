"""Euro amounts and rates as ``Decimal``; the one place in famhp that rounds.

RULES.md §5: "All money is decimal, in euro, never binary floating point", and every rounding is half-up
(ROUND_HALF_UP) at the step the rule names, never earlier. Callers say how many places they round to; the mode
is fixed here so that no other module can pick another one.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

__all__ = [
    "CENT",
    "RATE_QUANTUM",
    "ZERO",
    "AmountError",
    "format_money",
    "format_rate",
    "parse_amount",
    "round_half_up",
]

ZERO = Decimal(0)
CENT = Decimal("0.01")
#: A levy rate is a fraction rounded to 4 decimals of a percent, i.e. 6 decimals of the fraction (D5).
RATE_QUANTUM = Decimal("0.000001")


class AmountError(ValueError):
    """A value that is not a finite, non-negative decimal amount."""


def round_half_up(value: Decimal, quantum: Decimal) -> Decimal:
    """Round ``value`` half-up (away from zero on a tie) to the exponent of ``quantum``.

    RULES.md §5 and contracts/calculate.md: "All rounding is half-up (ROUND_HALF_UP) at the step named".
    """
    return value.quantize(quantum, rounding=ROUND_HALF_UP)


def parse_amount(raw: object, max_places: int | None = None) -> Decimal:
    """Read a JSON amount exactly: a string, an int or a Decimal (JSON numbers are parsed as Decimal).

    Floats are refused: by the time a float exists its exact decimal value is already lost. ``max_places``
    refuses more decimals than the quantity has (2 for euro amounts: a cent is the smallest unit).
    """
    kind = raw.__class__
    if kind is str:
        try:
            value = Decimal(raw.strip())  # type: ignore[attr-defined]
        except InvalidOperation:
            raise AmountError(f"{raw!r} is not a decimal number") from None
    elif kind is Decimal:
        value = raw  # type: ignore[assignment]
    elif kind is int:
        value = Decimal(raw)  # type: ignore[arg-type]
    elif kind is bool:
        raise AmountError("a number is expected, not true/false")
    else:
        raise AmountError("a decimal number is expected (a JSON string or number)")
    if not value.is_finite():
        raise AmountError(f"{raw!r} is not a finite number")
    if value < 0:
        raise AmountError(f"{raw!r} is negative")
    if max_places is not None and int(value.as_tuple().exponent) < -max_places:
        raise AmountError(f"{raw!r} has more than {max_places} decimals")
    return value


def format_money(value: Decimal) -> str:
    """Money on output: a string with exactly two decimals (the value is already rounded to the cent)."""
    return f"{value:.2f}"


def format_rate(value: Decimal) -> str:
    """A rate on output: a string with exactly six decimals."""
    return f"{value:.6f}"
