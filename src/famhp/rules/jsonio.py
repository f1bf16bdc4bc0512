"""The JSON face of the rules engine, as ``contracts/calculate.md`` fixes it: input checked, output written.

Reading collects every problem of the document before giving up, so that one run names them all, each with
its operator ``id`` and field. JSON numbers must be parsed as ``Decimal`` (``json.loads(parse_float=Decimal)``)
so that no amount ever passes through a binary float.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from famhp.rules.assessment import Activity, Operator, YearResult, is_exempt
from famhp.rules.entities import EntityTable, UnknownActivity, entity_table
from famhp.rules.errors import InvalidInput, Problem
from famhp.rules.money import ZERO, AmountError, format_money, format_rate, parse_amount
from famhp.rules.parameters import YearParameters, resolve_parameters

__all__ = ["Calculation", "read_document", "result_document"]

DOCUMENT_KEYS = frozenset({"year", "parameters", "operators"})
BOOLEAN_FIELDS = {
    "established_in_belgium": True,
    "active_in_belgium": True,
    "registered": True,
    "self_control_guide": False,
}
#: The two tick boxes of the declaration form (RULES §6); optional, checked against the figures when given.
BOX_FIELDS = ("declares_below_threshold", "declares_not_liable")
AMOUNT_FIELDS = ("total_turnover", "levied_turnover")
OPERATOR_KEYS = frozenset({"id", "activities", *BOOLEAN_FIELDS, *BOX_FIELDS, *AMOUNT_FIELDS})


class Calculation:
    """A checked input: the year's parameters and its operators, in input order."""

    __slots__ = ("operators", "parameters")

    def __init__(self, parameters: YearParameters, operators: list[Operator]) -> None:
        self.parameters = parameters
        self.operators = operators


def read_document(document: object, table: EntityTable | None = None) -> Calculation:
    """Check a decoded input document; raise :class:`InvalidInput` naming every problem."""
    table = table or entity_table()
    if not isinstance(document, dict):
        raise InvalidInput([Problem("(document)", "the input must be a JSON object")])
    problems: list[Problem] = [
        Problem(key, f"unknown key {key!r}; expected year, parameters and operators")
        for key in document
        if key not in DOCUMENT_KEYS
    ]
    year = document.get("year")
    if not isinstance(year, int) or isinstance(year, bool):
        problems.append(Problem("year", "the contribution year must be an integer, e.g. 2024"))
        year = None
    given = document.get("parameters", {})
    if given is None:
        given = {}
    if not isinstance(given, dict):
        problems.append(Problem("parameters", "must be an object"))
        given = {}
    parameters = None
    if year is not None:
        try:
            parameters = resolve_parameters(year, given)
        except InvalidInput as invalid:
            problems.extend(invalid.problems)
    raw_operators = document.get("operators")
    operators: list[Operator] = []
    if not isinstance(raw_operators, list):
        problems.append(Problem("operators", "must be a list of operators"))
    else:
        seen: set[str] = set()
        for index, raw in enumerate(raw_operators):
            operator = _read_operator(index, raw, seen, table, parameters, problems)
            if operator is not None:
                operators.append(operator)
    if problems:
        raise InvalidInput(problems)
    assert parameters is not None
    return Calculation(parameters, operators)


def _read_operator(
    index: int,
    raw: object,
    seen: set[str],
    table: EntityTable,
    parameters: YearParameters | None,
    problems: list[Problem],
) -> Operator | None:
    label = f"#{index + 1}"
    if not isinstance(raw, dict):
        problems.append(Problem("(operator)", "each operator must be a JSON object", label))
        return None
    raw_id = raw.get("id")
    if isinstance(raw_id, str) and raw_id.strip():
        label = raw_id
        if raw_id in seen:
            problems.append(Problem("id", "duplicate id: ids are unique in the file", label))
        seen.add(raw_id)
    else:
        problems.append(Problem("id", "a non-empty string is required", label))
    before = len(problems)
    for key in raw.keys() - OPERATOR_KEYS:
        problems.append(Problem(key, f"unknown key {key!r}", label))

    flags: dict[str, bool] = {}
    for name, default in BOOLEAN_FIELDS.items():
        value = raw.get(name, default)
        if not isinstance(value, bool):
            problems.append(Problem(name, "must be true or false", label))
        flags[name] = value is True
    boxes: dict[str, bool | None] = {}
    for name in BOX_FIELDS:
        value = raw.get(name)
        if value is not None and not isinstance(value, bool):
            problems.append(Problem(name, "must be true or false", label))
            value = None
        boxes[name] = value

    amounts: dict[str, Decimal] = {}
    for name in AMOUNT_FIELDS:
        try:
            amounts[name] = parse_amount(raw.get(name, ZERO), max_places=2)
        except AmountError as error:
            problems.append(Problem(name, str(error), label))
            amounts[name] = ZERO
    if amounts["levied_turnover"] > amounts["total_turnover"]:
        problems.append(
            Problem(
                "levied_turnover",
                f"{amounts['levied_turnover']} exceeds total_turnover {amounts['total_turnover']}: "
                "the levied turnover is part of the total turnover in Belgium",
                label,
            )
        )

    activities = _read_activities(raw.get("activities", []), label, table, problems)
    if not flags["registered"] and activities:
        problems.append(
            Problem("activities", "an operator with registered: false has no registered activity (D2)", label)
        )
    if flags["registered"] and not activities and "activities" not in {p.field for p in problems[before:]}:
        problems.append(
            Problem(
                "activities",
                "a registered operator lists at least one activity; an operator without any is registered: false (D2)",
                label,
            )
        )

    if (
        boxes["declares_below_threshold"]
        and parameters is not None
        and not is_exempt(amounts["total_turnover"], parameters.exemption_threshold)
    ):
        problems.append(
            Problem(
                "declares_below_threshold",
                f"the box 'below 40,000 euro indexed' is ticked but total_turnover {amounts['total_turnover']} is "
                f"not below the threshold {parameters.exemption_threshold} (D4)",
                label,
            )
        )
    if boxes["declares_not_liable"] and (flags["established_in_belgium"] or flags["active_in_belgium"]):
        problems.append(
            Problem(
                "declares_not_liable",
                "the box 'not established in Belgium and no liable activity on Belgian territory' is ticked but "
                "established_in_belgium or active_in_belgium is true (RULES §3)",
                label,
            )
        )
    if len(problems) > before:
        return None
    return Operator(
        id=label,
        activities=activities,
        established_in_belgium=flags["established_in_belgium"],
        active_in_belgium=flags["active_in_belgium"],
        registered=flags["registered"],
        self_control_guide=flags["self_control_guide"],
        total_turnover=amounts["total_turnover"],
        levied_turnover=amounts["levied_turnover"],
    )


def _read_activities(raw: object, label: str, table: EntityTable, problems: list[Problem]) -> tuple[Activity, ...]:
    if not isinstance(raw, list):
        problems.append(Problem("activities", "must be a list of {role, category} objects", label))
        return ()
    activities = []
    for number, item in enumerate(raw, start=1):
        field = f"activities[{number - 1}]"
        if not isinstance(item, dict) or set(item) != {"role", "category"}:
            problems.append(Problem(field, "must be an object with exactly the keys role and category", label))
            continue
        role, category = item["role"], item["category"]
        if not isinstance(role, str) or not isinstance(category, str):
            problems.append(Problem(field, "role and category must be strings", label))
            continue
        try:
            table.entities(role, category)
        except UnknownActivity as error:
            problems.append(Problem(field, str(error), label))
            continue
        activities.append(Activity(role, category))
    return tuple(activities)


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format_money(value)


def _rate(value: Decimal | None) -> str | None:
    return None if value is None else format_rate(value)


def result_document(result: YearResult) -> dict[str, Any]:
    """The output object of contracts/calculate.md, plus the year's explanation and parameter sources."""
    parameters: Mapping[str, Any] = {
        name: {
            "value": None if v.value is None else str(v.value),
            "source": v.source,
            "confirmed": v.confirmed,
        }
        for name, v in result.parameters.values.items()
    }
    return {
        "year": result.year,
        "activity_tax_budget": _money(result.activity_tax_budget),
        "turnover_levy_budget": _money(result.turnover_levy_budget),
        "total_entities": result.total_entities,
        "cost_per_entity": _money(result.cost_per_entity),
        "levied_turnover_total": format_money(result.levied_turnover_total),
        "computed_levy_rate": _rate(result.computed_levy_rate),
        "levy_rate": _rate(result.levy_rate),
        "operators": [
            {
                "id": o.id,
                "liable": o.liable,
                "entities": o.entities,
                "exempt": o.exempt,
                "activity_tax": format_money(o.activity_tax),
                "turnover_levy": format_money(o.turnover_levy),
                "total": format_money(o.total),
                "explanation": [line.render() for line in o.explanation],
            }
            for o in result.operators
        ],
        "explanation": [line.render() for line in result.explanation],
        "parameters": parameters,
        "unconfirmed_parameters": list(result.parameters.unconfirmed),
    }
