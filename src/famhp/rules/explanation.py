"""Explanation lines: every amount says which rule produced it and on what legal basis.

A line is a template and its arguments, so that the portal can show it translated (the templates are the
message ids; ``gettext_noop`` marks them for extraction), while the command line renders it in English.
Amounts inside a line are formatted by :func:`eur`, rates by :func:`percent`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from famhp.rules.money import decimal_places

__all__ = ["Line", "eur", "gettext_noop", "percent"]


def gettext_noop(message: str) -> str:
    """Marks a template for translation without translating it (the name xgettext looks for)."""
    return message


class Line(NamedTuple):
    """One step of an explanation: ``template.format_map(args)``, which ends by naming the rule it applies.

    ``rule`` is the code of that rule (RULES.md D-number or section), for machines and tests. The template,
    with its rule reference, is the message id that the portal translates. A named tuple rather than a frozen
    dataclass: an assessment makes about eight per operator, and a hundred thousand operators must stay within
    twice the cost of reading and writing their JSON (bench/calculate.py).
    """

    rule: str
    template: str
    args: dict[str, str]

    def render(self) -> str:
        return self.template.format_map(self.args)


def eur(amount: Decimal) -> str:
    """An amount in an explanation: thousands separated, two decimals, in euro."""
    return f"{amount:,.2f} EUR"


def percent(rate: Decimal) -> str:
    """A rate (a fraction) in an explanation, as a percentage with four decimals, or more where the rate has more:
    0.002868 → 0.2868 %, 0.0029438 → 0.29438 %."""
    shown = rate.scaleb(2)
    return f"{shown:.{max(4, decimal_places(shown))}f} %"
