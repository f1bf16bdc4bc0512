"""A missing declaration and late payment: default assessment (D6), fine (D7) and interest (D10).

Law of 20 July 2006 art. 14/17; FAQ 8; RULES.md §7 (D6, D7) and D10. Pure: dates are given, never read from a
clock.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from famhp.rules.explanation import Line, eur, percent
from famhp.rules.explanation import gettext_noop as _
from famhp.rules.money import CENT, round_half_up

__all__ = [
    "INTEREST_PERIODS",
    "Interest",
    "default_figures",
    "interest_due",
]


def default_figures(fps_total_turnover: Decimal) -> tuple[Decimal, Decimal]:
    """D6; FAQ 8: without a declaration the agency sets the contribution from the total turnover known to the
    FPS Finance, used as both figures of the declaration: (total turnover, levied turnover)."""
    return fps_total_turnover, fps_total_turnover


DEFAULT_ASSESSMENT = _(
    "No declaration: default assessment from the total turnover known to the FPS Finance, {turnover}, used as "
    "both figures of the declaration (D6; FAQ 8)."
)
FINE = _("Administrative fine for not declaring: {fine} (D7; law of 20 July 2006 art. 14/17; FAQ 8).")


#: D10: the period of the interest of art. 14/17, a parameter of the year: per started calendar month, or once.
INTEREST_PERIODS = ("started_month", "once")


class Interest(NamedTuple):
    """D10: the number of periods charged, the interest (half-up to the cent) and the line that explains it."""

    periods: int
    amount: Decimal
    explanation: Line


INTEREST_STARTED_MONTHS = _(
    "Interest = {base} × {rate} per started calendar month × {periods} calendar months started from {start} "
    "to {until} = {interest}, half-up to the cent; the base is the contribution due, never the fine or earlier "
    "interest (D10; law of 20 July 2006 art. 14/17; FAQ 8)."
)
INTEREST_ONCE = _(
    "Interest = {base} × {rate}, once, for a payment due on {due} and not made by then ({until}) = {interest}, "
    "half-up to the cent; the base is the contribution due, never the fine or earlier interest "
    "(D10; law of 20 July 2006 art. 14/17; FAQ 8)."
)
NO_INTEREST = _("No interest: {until} is not after the due date {due} (D10; law of 20 July 2006 art. 14/17; FAQ 8).")


def interest_due(*, base: Decimal, due: date, until: date, rate: Decimal, period: str) -> Interest:
    """D10; law of 20 July 2006 art. 14/17; FAQ 8: interest on ``base`` from the day after ``due`` to ``until``.

    ``base`` is the contribution due only — never the fine or earlier interest (no interest on interest): the
    caller passes the contribution. ``until`` is the payment date (late payment) or the invoice date (a D6
    non-filer, whose ``due`` is the declaration deadline). ``period``, one of :data:`INTEREST_PERIODS`:

    - ``"started_month"``: ``rate`` × the number of calendar months that start within the span from the day
      after ``due`` to ``until`` — Belgian tax practice, the month after the due month up to and including the
      month of ``until``, each started month in full: due 31 March, paid 1 April: 1; due 10 March, paid
      28 March: 0; due 30 November, paid 1 February: 3 (December, January, February).
    - ``"once"``: ``rate`` × 1 if ``until`` is after ``due``.

    Nothing is due when ``until`` is not after ``due``. The amount is rounded half-up to the cent, once.
    """
    if period not in INTEREST_PERIODS:
        raise ValueError(f"unknown interest period {period!r}; expected one of {', '.join(INTEREST_PERIODS)}")
    if until <= due:
        periods = 0
    elif period == "once":
        periods = 1
    else:
        # The calendar months whose first day falls after the due date, up to that of until's month.
        periods = (until.year - due.year) * 12 + until.month - due.month
    amount = round_half_up(base * rate * periods, CENT)
    args = {
        "base": eur(base),
        "rate": percent(rate),
        "periods": str(periods),
        "due": due.isoformat(),
        "start": (due + timedelta(days=1)).isoformat() if due < date.max else due.isoformat(),
        "until": until.isoformat(),
        "interest": eur(amount),
    }
    if until <= due:
        template = NO_INTEREST
    elif period == "once":
        template = INTEREST_ONCE
    else:
        template = INTEREST_STARTED_MONTHS
    return Interest(periods, amount, Line("D10", template, args))
