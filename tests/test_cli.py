"""``famhp calculate`` as contracts/calculate.md fixes it: output, error behaviour, --help, --format table."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROOT, Run

CONTRACT_INPUT = {
    "year": 2024,
    "parameters": {
        "budget": "10000000",
        "activity_tax_share": "0.25",
        "exemption_threshold": "47660.56",
        "max_levy_rate": "0.002868",
        "cost_per_entity": None,
        "effective_levy_rate": None,
    },
    "operators": [
        {
            "id": "0403199702",
            "established_in_belgium": True,
            "active_in_belgium": True,
            "registered": True,
            "activities": [
                {"role": "manufacturer", "category": "MDR I"},
                {"role": "importer", "category": "MDR IIb"},
            ],
            "self_control_guide": False,
            "total_turnover": "120000.00",
            "levied_turnover": "80000.00",
        }
    ],
}

# The output of contracts/calculate.md, copied from the contract (not from famhp).
CONTRACT_OUTPUT = {
    "year": 2024,
    "activity_tax_budget": "2500000.00",
    "turnover_levy_budget": "7500000.00",
    "total_entities": 6,
    "cost_per_entity": "416666.67",
    "levied_turnover_total": "80000.00",
    "computed_levy_rate": "93.750000",
    "levy_rate": "0.002868",
}
CONTRACT_OPERATOR = {
    "id": "0403199702",
    "liable": True,
    "entities": 6,
    "exempt": False,
    "activity_tax": "2500000.02",
    "turnover_levy": "229.44",
    "total": "2500229.46",
}


def test_contract_example_comes_out_exactly(tmp_path: Path) -> None:
    source = tmp_path / "year.json"
    source.write_text(json.dumps(CONTRACT_INPUT), encoding="utf-8")
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "famhp"), "calculate", str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    result = json.loads(completed.stdout)
    for key, value in CONTRACT_OUTPUT.items():
        assert result[key] == value, key
    (operator,) = result["operators"]
    explanation = operator.pop("explanation")
    assert {key: operator[key] for key in CONTRACT_OPERATOR} == CONTRACT_OPERATOR
    # Fields added since (the contract allows additions): a declared operator owes no fine.
    assert (operator["default_assessment"], operator["fine"], operator["amount_due"]) == (False, "0.00", "2500229.46")
    assert all(isinstance(line, str) and line for line in explanation)
    for rule in ("RULES §3", "D1", "D3", "D4", "D5", "RULES §2"):
        assert any(f"({rule}" in line for line in explanation), rule


def test_amounts_may_be_json_numbers_and_are_read_exactly(famhp: Callable[..., Run]) -> None:
    # No budget: the rate applied is the maximum given, 0.1, and the cost per entity is the one given.
    text = (
        '{"year": 2024, "parameters": {"budget": null, "max_levy_rate": 0.1, "cost_per_entity": 0.35},'
        ' "operators": [{"id": "A", "activities": [{"role": "distributor", "category": "MDR I"}],'
        ' "total_turnover": 47660.57, "levied_turnover": 47660.45}]}'
    )
    run = famhp("calculate", "-", stdin=text)
    assert run.code == 0, run.err
    (operator,) = run.json()["operators"]
    assert operator["activity_tax"] == "0.35"
    # 47660.45 × 0.1 = 4766.045 exactly: half-up gives 4766.05 where half-even (banker's) would give 4766.04.
    assert operator["turnover_levy"] == "4766.05"


def test_help_describes_the_command(famhp: Callable[..., Run]) -> None:
    run = famhp("calculate", "--help")
    assert run.code == 0
    assert "FILE" in run.out and "--format" in run.out


def test_table_format_is_readable(famhp: Callable[..., Run]) -> None:
    run = famhp("calculate", str(ROOT / "examples" / "year-2024.json"), "--format", "table", "--explain")
    assert run.code == 0, run.err
    assert "Cost per entity" in run.out and "379.48 EUR" in run.out
    assert "0403199702" in run.out and "(D1;" in run.out


def test_stdin_and_file_give_the_same_result(famhp: Callable[..., Run]) -> None:
    path = ROOT / "examples" / "year-2024.json"
    from_file = famhp("calculate", str(path))
    from_stdin = famhp("calculate", "-", stdin=path.read_text(encoding="utf-8"))
    assert from_file.code == from_stdin.code == 0
    assert from_file.json() == from_stdin.json()


def operator(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {"id": "X1", "activities": [{"role": "distributor", "category": "MDR I"}]}
    base.update(fields)
    return base


def document(*operators: dict[str, object], **top: object) -> str:
    doc: dict[str, object] = {"year": 2024, "operators": list(operators)}
    doc.update(top)
    return json.dumps(doc)


BAD_INPUTS = {
    "negative amount": (document(operator(total_turnover="-1")), ["operator 'X1', field 'total_turnover'"]),
    "not a number": (document(operator(total_turnover="12,5")), ["operator 'X1', field 'total_turnover'"]),
    "float-like junk": (document(operator(levied_turnover=True)), ["operator 'X1', field 'levied_turnover'"]),
    "more than cents": (document(operator(total_turnover="10.001")), ["operator 'X1', field 'total_turnover'"]),
    "levied above total": (
        document(operator(total_turnover="10", levied_turnover="11")),
        ["operator 'X1', field 'levied_turnover'"],
    ),
    "unknown role": (
        document(operator(activities=[{"role": "retailer", "category": "MDR I"}])),
        ["operator 'X1', field 'activities[0]'"],
    ),
    "unknown category": (
        document(operator(activities=[{"role": "importer", "category": "MDR IV"}])),
        ["operator 'X1', field 'activities[0]'"],
    ),
    "empty cell": (
        document(operator(activities=[{"role": "assembler", "category": "AIMDD"}])),
        ["operator 'X1', field 'activities[0]'"],
    ),
    "unknown operator key": (document(operator(turnover="1")), ["operator 'X1', field 'turnover'"]),
    "duplicate id": (document(operator(), operator()), ["operator 'X1', field 'id'"]),
    "missing id": (document({"activities": []}), ["operator '#1', field 'id'"]),
    "boolean as string": (document(operator(registered="yes")), ["operator 'X1', field 'registered'"]),
    "unregistered with activities": (document(operator(registered=False)), ["operator 'X1', field 'activities'"]),
    "registered without activities": (document(operator(activities=[])), ["operator 'X1', field 'activities'"]),
    "box below threshold contradicts figure": (
        document(operator(total_turnover="47660.56", declares_below_threshold=True)),
        ["operator 'X1', field 'declares_below_threshold'"],
    ),
    "box not liable contradicts establishment": (
        document(operator(declares_not_liable=True)),
        ["operator 'X1', field 'declares_not_liable'"],
    ),
    "unknown year": (document(operator(), year=2031), ["field 'parameters.budget'"]),
    "year not a number": (document(operator(), year="2024"), ["field 'year'"]),
    "year before any entity table (D11)": (
        document(
            operator(),
            year=2019,
            parameters={
                "budget": None,
                "activity_tax_share": "0.25",
                "exemption_threshold": "47660.56",
                "max_levy_rate": "0.002868",
                "cost_per_entity": "379.48",
                "effective_levy_rate": None,
            },
        ),
        ["field 'year'"],
    ),
    "unknown parameter": (document(operator(), parameters={"vat": "0.21"}), ["field 'parameters.vat'"]),
    "effective above maximum": (
        document(operator(), parameters={"effective_levy_rate": "0.003"}),
        ["field 'parameters.effective_levy_rate'"],
    ),
    "share above one": (
        document(operator(), parameters={"activity_tax_share": "1.5"}),
        ["field 'parameters.activity_tax_share'"],
    ),
    "unknown top-level key": (document(operator(), campaign="x"), ["field 'campaign'"]),
    "not an object": ("[1, 2]", ["the input must be a JSON object"]),
    "not json": ('{"year": 2024,', ["not valid JSON", "line 1"]),
    "no rate and no budget": (
        document(operator(total_turnover="100000", levied_turnover="100000"), year=2023),
        ["field 'parameters.max_levy_rate'"],
    ),
    "several problems, all named": (
        document(operator(id="A", total_turnover="-1"), operator(id="B", activities=[{"role": "x", "category": "y"}])),
        ["operator 'A', field 'total_turnover'", "operator 'B', field 'activities[0]'"],
    ),
}


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_bad_input_exits_2_naming_operator_and_field(name: str, famhp: Callable[..., Run]) -> None:
    text, expected = BAD_INPUTS[name]
    run = famhp("calculate", "-", stdin=text)
    assert run.code == 2
    assert run.out == ""
    assert "Traceback" not in run.err
    for fragment in expected:
        assert fragment in run.err, run.err
    assert all(line.startswith("famhp calculate: ") for line in run.err.splitlines())


def test_missing_file_is_a_clear_error(famhp: Callable[..., Run], tmp_path: Path) -> None:
    run = famhp("calculate", str(tmp_path / "nope.json"))
    assert run.code == 2 and run.out == ""
    assert "cannot read" in run.err and "nope.json" in run.err


def test_usage_errors_exit_2(famhp: Callable[..., Run]) -> None:
    run = famhp("calculate")
    assert run.code == 2 and run.out == ""
    run = famhp("calculate", "x.json", "--format", "xml")
    assert run.code == 2 and run.out == ""


def test_errors_through_the_real_console_script(tmp_path: Path) -> None:
    source = tmp_path / "bad.json"
    source.write_text(document(operator(total_turnover="10", levied_turnover="20")), encoding="utf-8")
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "famhp"), "calculate", str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr.strip().splitlines() == [
        "famhp calculate: operator 'X1', field 'levied_turnover': 20.00 exceeds total_turnover 10.00: the levied "
        "turnover is part of the total turnover in Belgium"
    ]


# contracts/calculate.md, "Bounds (revision 2)": no input, however formed, may make the command hang, print half a
# document or show a traceback. Each runs as a real process under a timeout: a hang fails the test, not the run.
HUGE_INTEGER = "1" + "0" * 5000  # more digits than Python turns into an int (4,300)
OPERATOR_TEMPLATE = (
    '{{"year": 2024, "parameters": {parameters}, "operators": [{{"id": "X1", '
    '"activities": [{{"role": "distributor", "category": "MDR I"}}], '
    '"total_turnover": {total}, "levied_turnover": "0"}}]}}'
)
OUT_OF_BOUNDS_AMOUNTS = {
    "1e999999999 as a string": '"1e999999999"',
    "1e999999999 as a number": "1e999999999",
    "1e30 as a string": '"1e30"',
    "1e20 as a string": '"1e20"',
    "10^13 exactly": "10000000000000",
    "NaN as a string": '"NaN"',
    "NaN as a JSON constant": "NaN",
    "Infinity as a JSON constant": "Infinity",
    "-Infinity as a JSON constant": "-Infinity",
    "Infinity as a string": '"Infinity"',
    "a huge negative exponent": '"1e-999999999"',
    "a huge integer as a JSON number": HUGE_INTEGER,
    "a huge integer as a string": f'"{HUGE_INTEGER}"',
    "a third decimal that is not zero": '"100000.001"',
}
OUT_OF_BOUNDS_PARAMETERS = {
    "a rate above 1": ('{"max_levy_rate": "1.5"}', "parameters.max_levy_rate"),
    "a rate with 11 decimals": ('{"max_levy_rate": "0.00286800001"}', "parameters.max_levy_rate"),
    "a rate of 1e999999999": ('{"effective_levy_rate": 1e999999999}', "parameters.effective_levy_rate"),
    "a rate of 1e-999999999": ('{"effective_levy_rate": "1e-999999999"}', "parameters.effective_levy_rate"),
    "a NaN rate": ('{"max_levy_rate": NaN}', "parameters.max_levy_rate"),
    "a budget of 1e20": ('{"budget": "1e20"}', "parameters.budget"),
    "a budget of a huge integer": (f'{{"budget": {HUGE_INTEGER}}}', "parameters.budget"),
    "a share of 1e30": ('{"activity_tax_share": "1e30"}', "parameters.activity_tax_share"),
}


def calculate_in_a_process(text: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "famhp.cli", "calculate", "-"],
        input=text,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.mark.parametrize("name", OUT_OF_BOUNDS_AMOUNTS)
def test_an_amount_out_of_bounds_is_refused_at_once(name: str) -> None:
    text = OPERATOR_TEMPLATE.format(parameters="{}", total=OUT_OF_BOUNDS_AMOUNTS[name])
    completed = calculate_in_a_process(text)
    assert completed.returncode == 2, completed.stderr
    assert completed.stdout == ""
    assert "Traceback" not in completed.stderr
    lines = completed.stderr.splitlines()
    assert len(lines) == 1 and "operator 'X1', field 'total_turnover'" in lines[0], lines
    assert len(lines[0]) < 300  # a million-digit number is not echoed back whole


@pytest.mark.parametrize("name", OUT_OF_BOUNDS_PARAMETERS)
def test_a_parameter_out_of_bounds_is_refused_at_once(name: str) -> None:
    parameters, field = OUT_OF_BOUNDS_PARAMETERS[name]
    completed = calculate_in_a_process(OPERATOR_TEMPLATE.format(parameters=parameters, total='"10.00"'))
    assert completed.returncode == 2, completed.stderr
    assert completed.stdout == ""
    assert "Traceback" not in completed.stderr
    lines = completed.stderr.splitlines()
    assert len(lines) == 1 and f"field {field!r}" in lines[0], lines


def test_a_huge_year_is_refused_naming_the_year() -> None:
    completed = calculate_in_a_process(f'{{"year": {HUGE_INTEGER}, "operators": []}}')
    assert (completed.returncode, completed.stdout) == (2, "")
    assert "Traceback" not in completed.stderr and "field 'year'" in completed.stderr


@pytest.mark.parametrize(
    ("given", "read"),
    [
        # Zeros past the cent are no decimals: the amount 100,000.00 (contracts/calculate.md, bounds).
        ('"100000.000"', "100,000.00 EUR"),
        ('"0E-999999999"', "0.00 EUR"),
        # Just below 10^13.
        ("9999999999999.99", "9,999,999,999,999.99 EUR"),
    ],
)
def test_amounts_within_bounds_are_accepted(given: str, read: str) -> None:
    completed = calculate_in_a_process(OPERATOR_TEMPLATE.format(parameters="{}", total=given))
    assert completed.returncode == 0, completed.stderr
    (result,) = json.loads(completed.stdout)["operators"]
    assert any(read in line for line in result["explanation"]), result["explanation"]
