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
    assert "3.849.121,13\xa0€" in dutch and "0,3073\xa0%" in dutch and "11.828,35\xa0€" in dutch
    assert "11\u202f828,35\xa0€" in french
    # English as written in Belgium (CLDR en_BE): the comma is the decimal sign
    assert english.startswith("Turnover levy = levied turnover 3.849.121,13\xa0€")
    # the reference keeps what a company can look up: the law's article and the FAQ questions
    assert dutch.endswith("(wet van 20 juli 2006 art. 14/2; FAQ 5, 20).")
    assert french.endswith("(loi du 20 juillet 2006 art. 14/2 ; FAQ 5, 20).")
    assert english.endswith("(law of 20 July 2006 art. 14/2; FAQ 5, 20).")
    assert "D5" not in dutch + french + english


def test_other_arguments_are_left_alone() -> None:
    line = Line("D3", ACTIVITY_TAX, {"entities": "4", "cost": "415.74 EUR", "tax": "1,662.96 EUR"})
    with translation.override("nl"):
        text = explain(line)
    assert "4 entiteiten" in text and "415,74\xa0€" in text and "1.662,96\xa0€" in text


def test_roles_are_named_in_the_reader_language() -> None:
    from famhp.rules.assessment import ROLE_MAXIMUM

    line = Line("D1", ROLE_MAXIMUM, {"role": "distributor", "category": "MDR I", "cell": "1"})
    with translation.override("fr"):
        assert "Distributeur" in explain(line)
    with translation.override("en"):
        assert explain(line).startswith("Role Distributor: highest category MDR I = 1 entity (")


def test_one_entity_is_singular_in_every_language() -> None:
    line = Line("D3", ACTIVITY_TAX, {"entities": "1", "cost": "415.74 EUR", "tax": "415.74 EUR"})
    many = Line("D3", ACTIVITY_TAX, {"entities": "11", "cost": "415.74 EUR", "tax": "4,573.14 EUR"})
    expected = {
        "nl": ("1 entiteit ×", "11 entiteiten ×"),
        "fr": ("1 entité ×", "11 entités ×"),
        "en": ("1 entity ×", "11 entities ×"),
    }
    for language, (one, eleven) in expected.items():
        with translation.override(language):
            assert one in explain(line) and eleven in explain(many), language


def test_a_line_citing_only_internal_codes_loses_its_reference() -> None:
    from famhp.rules.assessment import NEVER_BELOW_ZERO

    with translation.override("en"):
        assert explain(NEVER_BELOW_ZERO) == "Never below 0: 0 entities."
    assert NEVER_BELOW_ZERO.rule == "D1"  # the code stays in the data for staff and tests
