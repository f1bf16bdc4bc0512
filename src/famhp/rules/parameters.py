"""Dated yearly parameters of the contribution (data/parameters.yaml), each value with its source.

STYLE.md after OpenFisca: a value changes by a new dated entry, never by an ``if year >=`` in a formula; a year
that is not encoded is refused, never guessed (Catala).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

import yaml

from famhp.rules.errors import InvalidInput, Problem
from famhp.rules.money import AmountError, parse_amount, parse_rate

__all__ = [
    "PARAMETER_NAMES",
    "ParameterValue",
    "YearParameters",
    "builtin_years",
    "parse_value",
    "resolve_parameters",
]

#: The keys of a year's parameters in contracts/calculate.md, in its order: a year that is not built in needs
#: them all in the input.
CONTRACT_NAMES = (
    "budget",
    "activity_tax_share",
    "exemption_threshold",
    "max_levy_rate",
    "cost_per_entity",
    "effective_levy_rate",
)
#: Sanctions (D7): optional; where neither built in nor given they are unknown (null), never guessed.
SANCTION_NAMES = ("administrative_fine", "late_interest_rate")
PARAMETER_NAMES = CONTRACT_NAMES + SANCTION_NAMES
#: Decimals allowed per parameter (contracts/calculate.md, bounds revision 2): euro amounts to the cent, below
#: 10^13; rates and the share are fractions between 0 and 1 with up to 10 decimals (D5: 0.0029438 exists).
PLACES = {
    "budget": 2,
    "activity_tax_share": 10,
    "exemption_threshold": 2,
    "max_levy_rate": 10,
    "cost_per_entity": 2,
    "effective_levy_rate": 10,
    "administrative_fine": 2,
    "late_interest_rate": 10,
}
#: The fractions among them, read by :func:`parse_rate`; the others are euro amounts.
FRACTION_NAMES = frozenset({"activity_tax_share", "max_levy_rate", "effective_levy_rate", "late_interest_rate"})
#: These may be null (unknown or not set); the others need a value.
NULLABLE_NAMES = frozenset({"budget", "max_levy_rate", "cost_per_entity", "effective_levy_rate", *SANCTION_NAMES})

GIVEN_SOURCE = "given in the input"


@dataclass(frozen=True, slots=True)
class ParameterValue:
    value: Decimal | None
    source: str
    confirmed: bool


@dataclass(frozen=True, slots=True)
class YearParameters:
    """The parameters of one contribution year, after input overrides, with where each value came from."""

    year: int
    values: Mapping[str, ParameterValue]

    @property
    def budget(self) -> Decimal | None:
        return self.values["budget"].value

    @property
    def activity_tax_share(self) -> Decimal:
        share = self.values["activity_tax_share"].value
        assert share is not None  # checked by resolve_parameters
        return share

    @property
    def exemption_threshold(self) -> Decimal:
        threshold = self.values["exemption_threshold"].value
        assert threshold is not None  # checked by resolve_parameters
        return threshold

    @property
    def max_levy_rate(self) -> Decimal | None:
        return self.values["max_levy_rate"].value

    @property
    def cost_per_entity(self) -> Decimal | None:
        return self.values["cost_per_entity"].value

    @property
    def effective_levy_rate(self) -> Decimal | None:
        return self.values["effective_levy_rate"].value

    @property
    def administrative_fine(self) -> Decimal | None:
        return self.values["administrative_fine"].value

    @property
    def late_interest_rate(self) -> Decimal | None:
        return self.values["late_interest_rate"].value

    @property
    def unconfirmed(self) -> tuple[str, ...]:
        """Names of the values in use that no official publication confirms (they block invoicing)."""
        return tuple(name for name, v in self.values.items() if not v.confirmed and v.value is not None)


@cache
def _builtin() -> dict[int, dict[str, ParameterValue]]:
    text = resources.files("famhp.rules").joinpath("data/parameters.yaml").read_text(encoding="utf-8")
    # libyaml's parser when PyYAML has it: the same document, read ten times faster (famhp calculate starts with it)
    document: dict[str, Any] = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    years: dict[int, dict[str, ParameterValue]] = {}
    for name in PARAMETER_NAMES:
        for year, entry in document[name]["values"].items():
            raw = entry["value"]
            value = None if raw is None else parse_value(name, raw)  # quoted in the YAML: floats are refused
            years.setdefault(int(year), {})[name] = ParameterValue(
                value, str(entry["source"]).strip(), bool(entry["confirmed"])
            )
    for year, values in years.items():
        missing = set(PARAMETER_NAMES) - set(values)
        if missing:
            raise ValueError(f"parameters.yaml: year {year} lacks {sorted(missing)}")
    return years


def parse_value(name: str, raw: object) -> Decimal:
    """A parameter's value: a fraction (rates, the share) or a euro amount, within the contract's bounds."""
    return parse_rate(raw) if name in FRACTION_NAMES else parse_amount(raw, PLACES[name])


def builtin_years() -> tuple[int, ...]:
    """The contribution years whose parameters are encoded."""
    return tuple(sorted(_builtin()))


def resolve_parameters(year: int, given: Mapping[str, object] | None = None) -> YearParameters:
    """The parameters of ``year``: the built-in ones, each replaced by the input's value where given.

    A year without built-in parameters needs every key in ``given`` (contracts/calculate.md). Raises
    :class:`InvalidInput` listing every problem found.
    """
    problems, parameters = _resolve(year, given or {})
    if problems:
        raise InvalidInput(problems)
    assert parameters is not None
    return parameters


def _resolve(year: int, given: Mapping[str, object]) -> tuple[list[Problem], YearParameters | None]:
    problems: list[Problem] = []
    builtin = _builtin().get(year)
    values: dict[str, ParameterValue] = {}
    for key in given:
        if key not in PARAMETER_NAMES:
            problems.append(Problem(f"parameters.{key}", f"unknown parameter {key!r}"))
    for name in PARAMETER_NAMES:
        field = f"parameters.{name}"
        if name in given:
            raw = given[name]
            if raw is None:
                if name not in NULLABLE_NAMES:
                    problems.append(Problem(field, "must be a number, not null"))
                    continue
                values[name] = ParameterValue(None, GIVEN_SOURCE, True)
                continue
            try:
                values[name] = ParameterValue(parse_value(name, raw), GIVEN_SOURCE, True)
            except AmountError as error:
                problems.append(Problem(field, str(error)))
        elif builtin is not None:
            values[name] = builtin[name]
        elif name in SANCTION_NAMES:
            values[name] = ParameterValue(None, f"not given, and no built-in parameters for year {year}", False)
        else:
            known = ", ".join(str(y) for y in builtin_years())
            problems.append(
                Problem(field, f"no built-in parameters for year {year} (known: {known}); give it in the input")
            )
    if problems:
        return problems, None
    effective, maximum = values["effective_levy_rate"].value, values["max_levy_rate"].value
    if effective is not None and maximum is not None and effective > maximum:
        problems.append(
            Problem(
                "parameters.effective_levy_rate",
                f"the lowered (effective) rate {effective} exceeds the maximum rate {maximum} (D5)",
            )
        )
    if problems:
        return problems, None
    return [], YearParameters(year=year, values=values)
