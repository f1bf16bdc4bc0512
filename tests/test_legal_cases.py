"""The legal cases of tests/legal_cases: each FAQ example and D-rule, exact to the cent, through the command.

Every expected figure in those files was computed by hand from RULES.md and the FAQ, not taken from famhp's
output. A case gives either the subset of the output it fixes (``output``) or the problems that must be
reported (``error``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from famhp.rules import interest_due
from tests.conftest import Run

CASES = sorted((Path(__file__).parent / "legal_cases").glob("*.yaml"))


def load(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return case


def assert_subset(expected: Any, actual: Any, where: str) -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{where}: missing key {key!r}"
            assert_subset(value, actual[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{where}: {actual!r}"
        for index, (e, a) in enumerate(zip(expected, actual, strict=True)):
            assert_subset(e, a, f"{where}[{index}]")
    else:
        assert actual == expected, f"{where}: expected {expected!r}, got {actual!r}"


def test_there_are_cases_for_every_decision_and_worked_example() -> None:
    covered = {str(item) for path in CASES for item in load(path)["covers"]}
    for rule in (
        "D1",
        "D2",
        "D3",
        "D4",
        "D5",
        "D6",
        "D7",
        "D10",
        "D11",
        "FAQ 3",
        "FAQ 8",
        "FAQ 4",
        "FAQ 5",
        "FAQ 6",
        "FAQ 14",
        "FAQ 15",
        "FAQ 17",
    ):
        assert rule in covered, f"no legal case covers {rule}"


CALCULATIONS = [p for p in CASES if load(p).get("kind", "calculate") == "calculate"]
INTEREST = [p for p in CASES if load(p).get("kind") == "interest"]


@pytest.mark.parametrize("path", INTEREST, ids=[p.stem for p in INTEREST])
def test_interest_case(path: Path) -> None:
    case = load(path)
    assert case.get("name") and case.get("covers")
    for example in case["cases"]:
        interest = interest_due(
            base=Decimal(example["base"]),
            due=date.fromisoformat(example["due"]),
            until=date.fromisoformat(example["until"]),
            rate=Decimal(example["rate"]),
            period=example["period"],
        )
        assert (interest.periods, str(interest.amount)) == (example["periods"], example["interest"]), example
        assert "(D10;" in interest.explanation.render()


@pytest.mark.parametrize("path", CALCULATIONS, ids=[p.stem for p in CALCULATIONS])
def test_legal_case(path: Path, famhp: Callable[..., Run]) -> None:
    case = load(path)
    assert case.get("name") and case.get("covers"), f"{path.name}: a case names itself and what it covers"
    run = famhp("calculate", "-", stdin=json.dumps(case["input"]))
    if "error" in case:
        assert run.code == 2, run.out
        assert run.out == ""
        assert "Traceback" not in run.err
        lines = run.err.splitlines()
        for problem in case["error"]:
            field = f"field {problem['field']!r}"
            owner = "" if problem.get("operator") is None else f"operator {problem['operator']!r}"
            assert any(field in line and owner in line for line in lines), (
                f"{path.name}: no line names {owner or 'the year'} and {field}:\n{run.err}"
            )
        return
    assert run.code == 0, run.err
    result = run.json()
    expected = dict(case["output"])
    explanation_rules = expected.pop("explanation_rules", None) or case.get("explanation_rules") or {}
    assert_subset(expected, result, "output")
    year_text = " ".join(result["explanation"])
    for rule in case.get("year_explanation_rules", ()):
        assert f"({rule}" in year_text or f"; {rule}" in year_text, f"the year's explanation lacks {rule}: {year_text}"
    for operator_id, rules in explanation_rules.items():
        (operator,) = [o for o in result["operators"] if o["id"] == str(operator_id)]
        text = " ".join(operator["explanation"])
        for rule in rules:
            assert f"({rule}" in text or f"; {rule}" in text, f"{operator_id}: {rule} not named in {text}"
