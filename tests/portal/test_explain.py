"""Explanation lines in the portal: translated, with amounts and rates written the reader's way."""

from __future__ import annotations

from django.utils import translation

from famhp.declarations.templatetags.famhp import explain
from famhp.rules import Line
from famhp.rules.assessment import ACTIVITY_TAX, LEVY


def test_a_levy_line_in_dutch_french_and_english() -> None:
    line = Line("D5", LEVY, {"turnover": "3,849,121.13 EUR", "rate": "0.3073 %", "levy": "11,828.35 EUR"})
    with translation.override("nl"):
        dutch = explain(line)
    with translation.override("fr"):
        french = explain(line)
    with translation.override("en"):
        english = explain(line)
    assert "3.849.121,13 €" in dutch and "0,3073 %" in dutch and "11.828,35 €" in dutch and "(D5;" in dutch
    assert "11\u202f828,35 €" in french or "11 828,35 €" in french or "11\xa0828,35 €" in french
    assert english.startswith("Turnover levy = levied turnover 3,849,121.13 €")


def test_other_arguments_are_left_alone() -> None:
    line = Line("D3", ACTIVITY_TAX, {"entities": "4", "cost": "415.74 EUR", "tax": "1,662.96 EUR"})
    with translation.override("nl"):
        text = explain(line)
    assert "4 entiteiten" in text and "415,74 €" in text and "1.662,96 €" in text


def test_roles_are_named_in_the_reader_language() -> None:
    from famhp.rules.assessment import ROLE_MAXIMUM

    line = Line("D1", ROLE_MAXIMUM, {"role": "distributor", "category": "MDR I", "cell": "1"})
    with translation.override("fr"):
        assert "Distributeur" in explain(line)
    with translation.override("en"):
        assert explain(line).startswith("Role Distributor: highest category MDR I = 1 entities")
