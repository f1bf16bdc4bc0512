"""A missing declaration and late payment: default assessment (D6), fine and interest (D7).

Law of 20 July 2006 art. 14/17; FAQ 8; RULES.md §7. Pure: dates are given, never read from a clock.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import NamedTuple

from famhp.rules.explanation import Line, eur, percent
from famhp.rules.explanation import gettext_noop as _
from famhp.rules.money import CENT, ZERO, round_half_up

__all__ = ["Interest", "default_figures", "late_interest", "started_months"]


def default_figures(fps_total_turnover: Decimal) -> tuple[Decimal, Decimal]:
    """D6; FAQ 8: without a declaration the agency sets the contribution from the total turnover known to the
    FPS Finance, used as both figures of the declaration: (total turnover, levied turnover)."""
    return fps_total_turnover, fps_total_turnover


DEFAULT_ASSESSMENT = _(
    "No declaration: default assessment from the total turnover known to the FPS Finance, {turnover}, used as "
    "both figures of the declaration (D6; FAQ 8)."
)
FINE = _("Administrative fine for not declaring: {fine} (D7; law of 20 July 2006 art. 14/17; FAQ 8).")
INTEREST = _(
    "Interest: {amount} × {rate} per started calendar month × {months} months from {due} to {until} = "
    "{interest}, half-up to the cent (D7; law of 20 July 2006 art. 14/17; FAQ 8)."
)


def started_months(due: date, until: date) -> int:
    """D7: calendar months started after the due date, up to and including the month of ``until``.

    Belgian tax practice (interest per calendar month, every started month counting in full, from the month
    after the due date): paid in the due month or before, 0; paid any day of the next month, 1; and so on.
    """
    if until <= due:
        return 0
    return (until.year - due.year) * 12 + until.month - due.month


class Interest(NamedTuple):
    months: int
    amount: Decimal
    explanation: Line


def late_interest(*, amount: Decimal, due: date, until: date, monthly_rate: Decimal) -> Interest:
    """D7; art. 14/17; FAQ 8: ``amount`` × ``monthly_rate`` × started months after ``due``, half-up to the cent."""
    months = started_months(due, until)
    interest = round_half_up(amount * monthly_rate * months, CENT) if months else ZERO
    line = Line(
        "D7",
        INTEREST,
        {
            "amount": eur(amount),
            "rate": percent(monthly_rate),
            "months": str(months),
            "due": due.isoformat(),
            "until": until.isoformat(),
            "interest": eur(interest),
        },
    )
    return Interest(months, interest, line)
