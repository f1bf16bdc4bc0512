"""Explanation lines: every amount says which rule produced it and on what legal basis.

A line is a template and its arguments, so that the portal can show it translated (the templates are the
message ids; ``gettext_noop`` marks them for extraction), while the command line renders it in English.
Amounts inside a line are formatted by :func:`eur`, rates by :func:`percent`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

__all__ = ["Line", "Rule", "eur", "gettext_noop", "percent"]


def gettext_noop(message: str) -> str:
    """Marks a template for translation without translating it (the name xgettext looks for)."""
    return message


class Rule(NamedTuple):
    """A rule of RULES.md with its legal basis, quoted at the end of each line that applies it."""

    code: str
    basis: str

    def __str__(self) -> str:
        return f"{self.code}; {self.basis}"


LIABILITY = Rule("RULES §3", "law of 20 July 2006 art. 14/2 and 14/9; FAQ 3, 7, 10–15")
ENTITY_COUNT = Rule("D1", "law of 20 July 2006 annex IX ch. III; FAQ 4, 17")
UNREGISTERED = Rule("D2", "FAQ 14")
COST_PER_ENTITY = Rule("D3", "law of 20 July 2006 art. 14/9 and annex IX ch. III; FAQ 3, 5")
EXEMPTION = Rule("D4", "law of 20 July 2006 annex I.1; FAQ 3, 6")
LEVY_RATE = Rule("D5", "law of 20 July 2006 art. 14/2 and annex I.1; FAQ 5, 20")
BUDGET_SPLIT = Rule("RULES §2", "law of 20 July 2006 art. 14/2 and 14/9; FAQ 3, 5")
CONTRIBUTION = Rule("RULES §2", "FAQ 3")


class Line(NamedTuple):
    """One step of an explanation: ``template.format(**args)`` followed by the rule it applies.

    A named tuple rather than a frozen dataclass: an assessment makes about eight per operator, and a
    hundred thousand operators must stay within twice the cost of reading and writing their JSON.
    """

    template: str
    args: dict[str, str]
    rule: Rule

    def render(self) -> str:
        return f"{self.template.format_map(self.args)} ({self.rule.code}; {self.rule.basis})"


def eur(amount: Decimal) -> str:
    """An amount in an explanation: thousands separated, two decimals, in euro."""
    return f"{amount:,.2f} EUR"


def percent(rate: Decimal) -> str:
    """A rate (a fraction) in an explanation, as a percentage with four decimals: 0.002868 → 0.2868 %."""
    return f"{rate * 100:.4f} %"
