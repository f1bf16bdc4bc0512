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
