"""Amounts typed and shown the way Belgians write them; dates day-month-year in every language (issue 13)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from famhp.declarations.amounts import format_amount, format_day, parse_amount
from famhp.portal.declaration_forms import AmountField, FiguresForm

MILLION = Decimal("1234567.89")


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
@pytest.mark.parametrize(
    "text", ["1.234.567,89", "1 234 567,89", "1\u00a0234\u00a0567,89", "1\u202f234\u202f567,89", "1234567,89"]
)
def test_the_belgian_forms_are_read_exactly_in_every_language(language: str, text: str) -> None:
    assert parse_amount(text, language) == MILLION


def test_english_also_reads_the_english_form() -> None:
    assert parse_amount("1,234,567.89", "en") == MILLION
    assert parse_amount("1234.5", "en") == Decimal("1234.5")
    for language in ("nl", "fr"):
        with pytest.raises(ValueError):
            parse_amount("1,234,567.89", language)


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_a_dot_groups_thousands_and_is_never_read_as_a_decimal_sign(language: str) -> None:
    # "1.234" is one thousand two hundred thirty-four in Belgium, not 1.234 (issue 13)
    assert parse_amount("1.234", language) == Decimal("1234")
    assert parse_amount("12.345.678", language) == Decimal("12345678")


@pytest.mark.parametrize("text", ["1.23", "1.2345,6", "12,34,56", "abc", "", "1..234", "1 23,4"])
def test_a_text_that_fits_no_pattern_is_refused_not_guessed(text: str) -> None:
    with pytest.raises(ValueError):
        parse_amount(text, "nl")


def test_the_form_field_reads_and_refuses_with_a_clear_message() -> None:
    field = AmountField()
    with translation.override("fr"):
        assert field.clean("1 234 567,89") == MILLION
        assert field.clean("50.290,17") == Decimal("50290.17")
    with translation.override("en"):
        with pytest.raises(Exception) as refused:
            field.clean("1.2345,6")
        assert "1.234.567,89" in str(refused.value)
        with pytest.raises(Exception) as negative:
            field.clean("-1,00")
        assert "at least" in str(negative.value)


def test_every_amount_field_of_the_figures_form_is_the_one_amount_field() -> None:
    form = FiguresForm()
    amounts = [name for name, field in form.fields.items() if isinstance(field, AmountField)]
    assert amounts == ["total_turnover", "levied_turnover"]
    with translation.override("nl"):
        bound = FiguresForm(initial={"total_turnover": MILLION})
        assert 'value="1.234.567,89"' in str(bound["total_turnover"])
        assert 'inputmode="decimal"' in str(bound["total_turnover"])


def test_amounts_are_shown_the_belgian_way() -> None:
    assert format_amount(MILLION, "nl") == "1.234.567,89"
    assert format_amount(MILLION, "fr") == "1\u202f234\u202f567,89"
    assert format_amount(MILLION, "en") == "1.234.567,89"  # CLDR en_BE: English as written in Belgium
    with translation.override("fr"):
        assert Template("{% load famhp %}{{ v|euro }}").render(Context({"v": Decimal("50290.17")})) == (
            "50\u202f290,17\u00a0€"
        )


def test_english_dates_are_day_month_year() -> None:
    day = datetime.date(2026, 2, 3)
    template = Template('{{ d|date:"SHORT_DATE_FORMAT" }}|{{ d|date:"DATE_FORMAT" }}')
    with translation.override("en"):
        assert template.render(Context({"d": day})) == "03/02/2026|3 February 2026"
    with translation.override("nl"):
        assert template.render(Context({"d": day})) == "03/02/2026|3 februari 2026"
    assert format_day(day, "fr") == "3 février 2026"
    assert format_day(day, "en") == "3 February 2026"
    with translation.override("fr"):
        assert template.render(Context({"d": day})) == "03/02/2026|3 février 2026"
