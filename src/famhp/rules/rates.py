"""The rate of the turnover levy: one rule, asked by the engine and by billing alike.

Law of 20 July 2006 art. 14/2–14/6; FAQ 5; RULES.md D5 (revised): the maximum rate applies unless the agency
lowered it when the accounts of the year closed; the computed rate is information.
"""

from __future__ import annotations

from decimal import Decimal

from famhp.rules.money import RATE_QUANTUM, round_half_up

__all__ = ["applied_levy_rate", "computed_levy_rate"]


def applied_levy_rate(
    *, max_rate: Decimal | None, lowered_rate: Decimal | None, computed_rate: Decimal | None
) -> Decimal | None:
    """D5 (revised); FAQ 5: the rate a turnover-levy invoice applies.

    The lowered rate if the agency's closing decision set one ("lowered to R", R ≤ the maximum), else the
    maximum rate, else — only for a year without any maximum — the computed rate, else None. The lowering is a
    decision of the agency, never automatic: a computed rate below the maximum lowers nothing.
    """
    if lowered_rate is not None:
        return lowered_rate
    if max_rate is not None:
        return max_rate
    return computed_rate


def computed_levy_rate(*, levy_budget: Decimal | None, levied_turnover_total: Decimal) -> Decimal | None:
    """D5; FAQ 3: turnover-levy budget ÷ total levied turnover of the liable, non-exempt operators, half-up to
    6 decimals of the fraction; None without a budget or without levied turnover. Information: what the budget
    needs, and the proposal for the maximum of a year that has none."""
    if levy_budget is None or levied_turnover_total <= 0:
        return None
    return round_half_up(levy_budget / levied_turnover_total, RATE_QUANTUM)
