"""The interfaces famhp.rules gives billing and payments (issue 9): one rate rule (D5), interest (D10) and the
dated entity table (D11). Every expected figure is computed by hand in the comment beside it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from famhp.rules import (
    INTEREST_PERIODS,
    Activity,
    Interest,
    Operator,
    applied_levy_rate,
    assess_year,
    entity_table,
    entity_table_for,
    interest_due,
    resolve_parameters,
)
from famhp.rules.entities import UnknownYear

MAX = Decimal("0.002868")


# D5 (revised): the lowered rate if the agency set one, else the maximum, else the computed one only without a max.
def test_the_lowered_rate_replaces_the_maximum() -> None:
    assert applied_levy_rate(max_rate=MAX, lowered_rate=Decimal("0.0025"), computed_rate=None) == Decimal("0.0025")


def test_a_lowered_rate_with_seven_decimals_stays_as_given() -> None:
    # FAQ 5: published rates such as 0.29438 % = 0.0029438 exist.
    rate = applied_levy_rate(max_rate=Decimal("0.003073"), lowered_rate=Decimal("0.0029438"), computed_rate=None)
    assert str(rate) == "0.0029438"


def test_a_computed_rate_below_the_maximum_lowers_nothing() -> None:
    assert applied_levy_rate(max_rate=MAX, lowered_rate=None, computed_rate=Decimal("0.001235")) == MAX


def test_a_computed_rate_above_the_maximum_is_not_applied_either() -> None:
    assert applied_levy_rate(max_rate=MAX, lowered_rate=None, computed_rate=Decimal("0.004")) == MAX


def test_the_computed_rate_applies_only_to_a_year_without_a_maximum() -> None:
    assert applied_levy_rate(max_rate=None, lowered_rate=None, computed_rate=Decimal("0.001235")) == Decimal("0.001235")
    assert applied_levy_rate(max_rate=None, lowered_rate=None, computed_rate=None) is None


# D10: interest from the day after the due date to the payment or invoice date.
def test_interest_periods() -> None:
    assert INTEREST_PERIODS == ("started_month", "once")


@pytest.mark.parametrize(
    ("base", "due", "until", "rate", "periods", "amount"),
    [
        # One day late, across a month end: April started: 1804.72 × 0.008 × 1 = 14.43776 → 14.44.
        ("1804.72", date(2025, 3, 31), date(2025, 4, 1), "0.008", 1, "14.44"),
        # Across a year end: December, January, February: 2304.72 × 0.008 × 3 = 55.31328 → 55.31.
        ("2304.72", date(2024, 11, 30), date(2025, 2, 1), "0.008", 3, "55.31"),
        # Late but within the due month: no calendar month started after the due date: 0.
        ("2304.72", date(2025, 3, 10), date(2025, 3, 28), "0.008", 0, "0.00"),
        # Paid on the due date: nothing.
        ("2304.72", date(2025, 3, 31), date(2025, 3, 31), "0.008", 0, "0.00"),
        # Paid before the due date: nothing.
        ("2304.72", date(2025, 3, 31), date(2025, 1, 2), "0.008", 0, "0.00"),
        # 30 June to 15 December: July … December = 6; 1000.00 × 0.008 × 6 = 48.00.
        ("1000.00", date(2025, 6, 30), date(2025, 12, 15), "0.008", 6, "48.00"),
    ],
)
def test_interest_per_started_calendar_month(
    base: str, due: date, until: date, rate: str, periods: int, amount: str
) -> None:
    interest = interest_due(base=Decimal(base), due=due, until=until, rate=Decimal(rate), period="started_month")
    assert isinstance(interest, Interest)
    assert (interest.periods, str(interest.amount)) == (periods, amount)
    assert interest.explanation.rule == "D10"
    assert "(D10;" in interest.explanation.render()


@pytest.mark.parametrize(
    ("base", "due", "until", "rate", "periods", "amount"),
    [
        # Six months late, charged once: 1000.00 × 0.008 × 1 = 8.00.
        ("1000.00", date(2025, 6, 30), date(2025, 12, 31), "0.008", 1, "8.00"),
        # One day late, within the month: once all the same: 2304.72 × 0.008 = 18.43776 → 18.44.
        ("2304.72", date(2025, 3, 10), date(2025, 3, 11), "0.008", 1, "18.44"),
        # A tie rounds half-up: 100.00 × 0.00125 = 0.125 → 0.13 (half-even would give 0.12).
        ("100.00", date(2025, 3, 10), date(2025, 4, 11), "0.00125", 1, "0.13"),
        # Ten decimals: 12345.67 × 0.0012345678 = 12.34567 + 2.895896651426 = 15.241566651426 → 15.24.
        ("12345.67", date(2025, 3, 10), date(2025, 4, 11), "0.0012345678", 1, "15.24"),
        # until == due and until before due: nothing.
        ("1000.00", date(2025, 6, 30), date(2025, 6, 30), "0.008", 0, "0.00"),
        ("1000.00", date(2025, 6, 30), date(2025, 6, 1), "0.008", 0, "0.00"),
    ],
)
def test_interest_once(base: str, due: date, until: date, rate: str, periods: int, amount: str) -> None:
    interest = interest_due(base=Decimal(base), due=due, until=until, rate=Decimal(rate), period="once")
    assert (interest.periods, str(interest.amount)) == (periods, amount)
    assert "(D10;" in interest.explanation.render()


def test_interest_explanation_names_the_figures() -> None:
    interest = interest_due(
        base=Decimal("2304.72"),
        due=date(2024, 11, 30),
        until=date(2025, 2, 1),
        rate=Decimal("0.008"),
        period="started_month",
    )
    text = interest.explanation.render()
    for figure in ("2,304.72 EUR", "0.8000 %", "3", "2024-12-01", "2025-02-01", "55.31 EUR"):
        assert figure in text


def test_an_unknown_interest_period_is_refused() -> None:
    with pytest.raises(ValueError, match="per_day"):
        interest_due(
            base=Decimal(1), due=date(2025, 1, 1), until=date(2025, 3, 1), rate=Decimal("0.008"), period="per_day"
        )


# D11: the entity table is dated.
@pytest.mark.parametrize("year", [2023, 2024])
def test_the_faq_table_is_confirmed_for_the_years_it_was_published_for(year: int) -> None:
    table = entity_table_for(year)
    assert table.confirmed is True
    assert "March 2024" in table.source
    assert table.cells == entity_table().cells


@pytest.mark.parametrize("year", [2025, 2026, 2031])
def test_from_2025_on_the_faq_table_is_an_unconfirmed_parameter(year: int) -> None:
    table = entity_table_for(year)
    assert table.confirmed is False
    assert "D11" in table.source and "18 May 2024" in table.source
    assert table.cells == entity_table().cells


def test_a_year_before_any_table_is_refused() -> None:
    with pytest.raises(UnknownYear, match="2022"):
        entity_table_for(2022)


def one_manufacturer(year: int) -> tuple[tuple[str, ...], list[str]]:
    result = assess_year(
        parameters=resolve_parameters(year),
        operators=[Operator("A", (Activity("manufacturer", "MDR I"),), total_turnover=Decimal("10000.00"))],
    )
    return result.unconfirmed, [line.render() for line in result.explanation if line.rule == "D11"]


def test_a_2025_assessment_lists_the_entity_table_as_unconfirmed_and_says_so() -> None:
    unconfirmed, lines = one_manufacturer(2025)
    assert "entity_table" in unconfirmed
    assert len(lines) == 1 and "unconfirmed" in lines[0]


def test_a_2024_assessment_uses_the_confirmed_table() -> None:
    unconfirmed, lines = one_manufacturer(2024)
    assert "entity_table" not in unconfirmed
    assert len(lines) == 1 and "unconfirmed" not in lines[0]
