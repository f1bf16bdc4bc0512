"""The dated parameters: sources, confirmation, refusal of unknown years."""

from __future__ import annotations

from decimal import Decimal

import pytest

from famhp.rules.errors import InvalidInput
from famhp.rules.parameters import PARAMETER_NAMES, builtin_years, resolve_parameters


def test_built_in_years_are_2023_to_2025() -> None:
    assert builtin_years() == (2023, 2024, 2025)


@pytest.mark.parametrize("year", [2023, 2024, 2025])
def test_every_value_names_its_source(year: int) -> None:
    parameters = resolve_parameters(year)
    assert set(parameters.values) == set(PARAMETER_NAMES)
    for name, value in parameters.values.items():
        assert len(value.source) > 10, (year, name)


def test_published_figures_of_rules_md() -> None:
    # RULES.md D3, D4, D5 and FAQ 5, 6.
    assert resolve_parameters(2023).cost_per_entity == Decimal("367.11")
    assert resolve_parameters(2024).cost_per_entity == Decimal("379.48")
    assert resolve_parameters(2025).cost_per_entity == Decimal("415.74")
    assert resolve_parameters(2023).exemption_threshold == Decimal("47660.56")
    assert resolve_parameters(2025).exemption_threshold == Decimal("50290.17")
    assert resolve_parameters(2024).max_levy_rate == Decimal("0.002868")
    assert resolve_parameters(2025).max_levy_rate == Decimal("0.003073")
    assert resolve_parameters(2024).activity_tax_share == Decimal("0.25")


def test_secondary_sources_are_unconfirmed_and_faq_figures_confirmed() -> None:
    assert set(resolve_parameters(2025).unconfirmed) >= {"exemption_threshold", "max_levy_rate", "cost_per_entity"}
    assert "max_levy_rate" not in resolve_parameters(2024).unconfirmed
    assert "exemption_threshold" not in resolve_parameters(2023).unconfirmed


def test_unknown_budget_is_not_guessed() -> None:
    for year in builtin_years():
        assert resolve_parameters(year).budget is None


def test_a_year_without_parameters_is_refused() -> None:
    with pytest.raises(InvalidInput) as raised:
        resolve_parameters(2019)
    fields = {p.field for p in raised.value.problems}
    assert fields == {
        "parameters.activity_tax_share",
        "parameters.exemption_threshold",
        "parameters.budget",
        "parameters.max_levy_rate",
        "parameters.cost_per_entity",
        "parameters.effective_levy_rate",
    }


def test_a_year_with_all_parameters_given_is_accepted() -> None:
    given = {
        "budget": "12000000",
        "activity_tax_share": "0.25",
        "exemption_threshold": "52000.00",
        "max_levy_rate": "0.0031",
        "cost_per_entity": None,
        "effective_levy_rate": None,
    }
    parameters = resolve_parameters(2030, given)
    assert parameters.budget == Decimal("12000000")
    assert parameters.values["budget"].source == "given in the input"


def test_rates_have_up_to_ten_decimals_and_stay_as_given() -> None:
    # RULES.md D5 (revised): published rates such as 0.29438 % = 0.0029438 exist.
    assert str(resolve_parameters(2025, {"effective_levy_rate": "0.0029438"}).effective_levy_rate) == "0.0029438"
    assert resolve_parameters(2024, {"max_levy_rate": "0.0012345678"}).max_levy_rate == Decimal("0.0012345678")
    # Zeros past the tenth decimal are no decimals.
    assert resolve_parameters(2024, {"max_levy_rate": "0.002868000000000"}).max_levy_rate == Decimal("0.002868")
    assert resolve_parameters(2024, {"late_interest_rate": "0.0080000001"}).late_interest_rate == Decimal(
        "0.0080000001"
    )


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("max_levy_rate", "0.00294380001"),  # 11 decimals
        ("max_levy_rate", "1.5"),  # not a fraction
        ("effective_levy_rate", "1e999999999"),
        ("activity_tax_share", "1.0000000001"),
        ("late_interest_rate", "NaN"),
        ("budget", "1e13"),  # not below 10^13 euro
        ("budget", "100.001"),
        ("cost_per_entity", "-1"),
    ],
)
def test_parameters_out_of_bounds_are_refused(name: str, raw: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        resolve_parameters(2024, {name: raw})
    assert [p.field for p in raised.value.problems] == [f"parameters.{name}"]


def test_an_amount_parameter_with_zeros_past_the_cent_is_read_to_the_cent() -> None:
    assert str(resolve_parameters(2024, {"budget": "100000.000"}).budget) == "100000.00"
