"""The JSON face of the rules engine, as ``contracts/calculate.md`` fixes it: input checked, output written.

Reading collects every problem of the document before giving up, so that one run names them all, each with
its operator ``id`` and field. JSON numbers must be parsed as ``Decimal`` (``json.loads(parse_float=Decimal)``)
so that no amount ever passes through a binary float.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from itertools import islice
from typing import Any

from famhp.rules.assessment import (
    CONTRIBUTION,
    EXEMPT,
    LEVY,
    NOT_EXEMPT,
    NOT_LIABLE,
    ZERO_TEXT,
    Activity,
    Operator,
    OperatorResult,
    YearAssessment,
    YearResult,
    is_exempt,
    turnover_levy,
)
from famhp.rules.entities import EntityTable, UnknownActivity, UnknownYear, entity_table, entity_table_for
from famhp.rules.errors import InvalidInput, Problem
from famhp.rules.explanation import eur
from famhp.rules.money import ZERO, AmountError, format_money, format_rate, parse_amount
from famhp.rules.parameters import YearParameters, resolve_parameters
from famhp.rules.sanctions import DEFAULT_ASSESSMENT, default_figures

__all__ = ["Calculation", "read_document", "result_document", "write_result"]

DOCUMENT_KEYS = frozenset({"year", "parameters", "operators"})
BOOLEAN_FIELDS = ("established_in_belgium", "active_in_belgium", "registered", "self_control_guide", "declared")
#: The two tick boxes of the declaration form (RULES §6); optional, checked against the figures when given.
BOX_FIELDS = ("declares_below_threshold", "declares_not_liable")
AMOUNT_FIELDS = ("total_turnover", "levied_turnover")
#: D6: without a declaration (declared: false), the FPS Finance's figure replaces both declared ones.
DEFAULT_FIELDS = ("declared", "fps_total_turnover")
OPERATOR_KEYS = frozenset({"id", "activities", *BOOLEAN_FIELDS, *BOX_FIELDS, *AMOUNT_FIELDS, *DEFAULT_FIELDS})


class Calculation:
    """A checked input: the year's parameters and its operators, in input order."""

    __slots__ = ("operators", "parameters")

    def __init__(self, parameters: YearParameters, operators: list[Operator]) -> None:
        self.parameters = parameters
        self.operators = operators


def read_document(document: object, table: EntityTable | None = None) -> Calculation:
    """Check a decoded input document; raise :class:`InvalidInput` naming every problem.

    The activities are checked against ``table``, by default the entity table of the document's year (D11).
    """
    if not isinstance(document, dict):
        raise InvalidInput([Problem("(document)", "the input must be a JSON object")])
    problems: list[Problem] = [
        Problem(key, f"unknown key {key!r}; expected year, parameters and operators")
        for key in document
        if key not in DOCUMENT_KEYS
    ]
    year = document.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not 1 <= year <= 9999:
        problems.append(Problem("year", "the contribution year must be an integer from 1 to 9999, e.g. 2024"))
        year = None
    if table is None:
        try:
            table = entity_table() if year is None else entity_table_for(year)
        except UnknownYear as error:
            problems.append(Problem("year", str(error)))
            table = entity_table()
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
        known = _known_activities(table)
        for index, raw in enumerate(raw_operators):
            operator = _read_operator(index, raw, seen, table, known, parameters, problems)
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
    known: Mapping[tuple[object, object], Activity],
    parameters: YearParameters | None,
    problems: list[Problem],
) -> Operator | None:
    """One operator of the input, or None after adding its problems. Written flat: it runs once per operator."""
    if not isinstance(raw, dict):
        problems.append(Problem("(operator)", "each operator must be a JSON object", f"#{index + 1}"))
        return None
    get = raw.get
    label = get("id")
    if isinstance(label, str) and label.strip():
        if label in seen:
            problems.append(Problem("id", "duplicate id: ids are unique in the file", label))
        seen.add(label)
    else:
        label = f"#{index + 1}"
        problems.append(Problem("id", "a non-empty string is required", label))
    before = len(problems)
    if not OPERATOR_KEYS.issuperset(raw):
        problems.extend(Problem(key, f"unknown key {key!r}", label) for key in raw if key not in OPERATOR_KEYS)

    established = get("established_in_belgium", True)
    active = get("active_in_belgium", True)
    registered = get("registered", True)
    guide = get("self_control_guide", False)
    declared = get("declared", True)
    below_box = get("declares_below_threshold")
    not_liable_box = get("declares_not_liable")
    if not (
        established.__class__ is bool
        and active.__class__ is bool
        and registered.__class__ is bool
        and guide.__class__ is bool
        and declared.__class__ is bool
        and (below_box is None or below_box.__class__ is bool)
        and (not_liable_box is None or not_liable_box.__class__ is bool)
    ):
        for name in (*BOOLEAN_FIELDS, *BOX_FIELDS):
            value = get(name)
            if value is not None and value.__class__ is not bool:
                problems.append(Problem(name, "must be true or false", label))

    total = levied = ZERO
    try:
        total = parse_amount(get("total_turnover", ZERO), max_places=2)
    except AmountError as error:
        problems.append(Problem("total_turnover", str(error), label))
    try:
        levied = parse_amount(get("levied_turnover", ZERO), max_places=2)
    except AmountError as error:
        problems.append(Problem("levied_turnover", str(error), label))
    if declared is False:
        total, levied = _read_default_figures(raw, label, problems)
    elif "fps_total_turnover" in raw:
        problems.append(
            Problem(
                "fps_total_turnover", "only an operator without a declaration (declared: false) uses it (D6)", label
            )
        )
    if levied > total:
        problems.append(
            Problem(
                "levied_turnover",
                f"{levied} exceeds total_turnover {total}: the levied turnover is part of the total turnover in "
                "Belgium",
                label,
            )
        )

    activities = _read_activities(get("activities", ()), label, table, known, problems)
    if registered is False and activities:
        problems.append(
            Problem("activities", "an operator with registered: false has no registered activity (D2)", label)
        )
    elif registered is True and not activities and "activities" not in {p.field for p in problems[before:]}:
        problems.append(
            Problem(
                "activities",
                "a registered operator lists at least one activity; an operator without any is registered: false (D2)",
                label,
            )
        )
    if below_box is True and parameters is not None and not is_exempt(total, parameters.exemption_threshold):
        problems.append(
            Problem(
                "declares_below_threshold",
                f"the box 'below 40,000 euro indexed' is ticked but total_turnover {total} is not below the "
                f"threshold {parameters.exemption_threshold} (D4)",
                label,
            )
        )
    if not_liable_box is True and (established is True or active is True):
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
    return Operator(label, activities, established, active, registered, guide, total, levied, declared)


def _read_default_figures(raw: dict[str, object], label: str, problems: list[Problem]) -> tuple[Decimal, Decimal]:
    """D6: both figures of a missing declaration are the FPS Finance's total turnover."""
    for name in (*AMOUNT_FIELDS, *BOX_FIELDS):
        if name in raw:
            problems.append(Problem(name, "an operator without a declaration (declared: false) has no " + name, label))
    if "fps_total_turnover" not in raw:
        problems.append(
            Problem(
                "fps_total_turnover",
                "an operator without a declaration (declared: false) is assessed from the total turnover known to "
                "the FPS Finance (D6): give it",
                label,
            )
        )
        return ZERO, ZERO
    try:
        return default_figures(parse_amount(raw["fps_total_turnover"], max_places=2))
    except AmountError as error:
        problems.append(Problem("fps_total_turnover", str(error), label))
        return ZERO, ZERO


#: (role, category) → the Activity, for every pair that exists in the entity table; built once per table.
_ACTIVITIES: dict[int, dict[tuple[object, object], Activity]] = {}


def _known_activities(table: EntityTable) -> dict[tuple[object, object], Activity]:
    known = _ACTIVITIES.get(id(table))
    if known is None:
        known = _ACTIVITIES[id(table)] = {
            (role, category): Activity(role, category) for (category, role) in table.cells
        }
    return known


def _read_activities(
    raw: object,
    label: str,
    table: EntityTable,
    known: Mapping[tuple[object, object], Activity],
    problems: list[Problem],
) -> tuple[Activity, ...]:
    """The operator's activities, each one of ``known`` (_known_activities of ``table``)."""
    if not isinstance(raw, (list, tuple)):
        problems.append(Problem("activities", "must be a list of {role, category} objects", label))
        return ()
    activities = []
    for number, item in enumerate(raw):
        if isinstance(item, dict) and len(item) == 2:
            activity = known.get((item.get("role"), item.get("category")))
            if activity is not None:
                activities.append(activity)
                continue
        problems.append(Problem(f"activities[{number}]", _activity_problem(item, table), label))
    return tuple(activities)


def _activity_problem(item: object, table: EntityTable) -> str:
    if not isinstance(item, dict) or set(item) != {"role", "category"}:
        return "must be an object with exactly the keys role and category"
    role, category = item["role"], item["category"]
    if not isinstance(role, str) or not isinstance(category, str):
        return "role and category must be strings"
    try:
        table.entities(role, category)
    except UnknownActivity as error:
        return str(error)
    raise AssertionError((role, category))  # pragma: no cover - a known pair is never a problem


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format_money(value)


def _rate(value: Decimal | None) -> str | None:
    return None if value is None else format_rate(value)


def _year_document(year: YearAssessment | YearResult) -> dict[str, Any]:
    """The year's figures of the output (contracts/calculate.md), before and without the operators."""
    return {
        "year": year.year,
        "activity_tax_budget": _money(year.activity_tax_budget),
        "turnover_levy_budget": _money(year.turnover_levy_budget),
        "total_entities": year.total_entities,
        "cost_per_entity": _money(year.cost_per_entity),
        "levied_turnover_total": format_money(year.levied_turnover_total),
        "computed_levy_rate": _rate(year.computed_levy_rate),
        "levy_rate": _rate(year.levy_rate),
    }


def _year_appendix(year: YearAssessment | YearResult) -> dict[str, Any]:
    """What the output adds to the contract after the operators: the year's explanation, parameter sources."""
    table = year.entity_table
    return {
        "explanation": [line.render() for line in year.explanation],
        "parameters": {
            name: {"value": None if v.value is None else str(v.value), "source": v.source, "confirmed": v.confirmed}
            for name, v in year.parameters.values.items()
        },
        "entity_table": None if table is None else {"source": table.source, "confirmed": table.confirmed},
        "unconfirmed_parameters": list(year.unconfirmed),
    }


def _operator_document(result: OperatorResult, texts: Mapping[int, str]) -> dict[str, Any]:
    return {
        "id": result.id,
        "liable": result.liable,
        "entities": result.entities,
        "exempt": result.exempt,
        "activity_tax": format_money(result.activity_tax),
        "turnover_levy": format_money(result.turnover_levy),
        "total": format_money(result.total),
        "default_assessment": result.default_assessment,
        "fine": format_money(result.fine),
        "amount_due": format_money(result.amount_due),
        "explanation": [texts.get(id(line)) or line.render() for line in result.explanation],
    }


def result_document(result: YearResult) -> dict[str, Any]:
    """The output object of contracts/calculate.md, plus the year's explanation and parameter sources."""
    return {
        **_year_document(result),
        "operators": [_operator_document(o, {}) for o in result.operators],
        **_year_appendix(result),
    }


_BOOLEAN = {True: "true", False: "false"}
#: The C encoder of a JSON string, with ASCII escapes (as json.dumps does by default).
_quote: Callable[[str], str] = json.encoder.encode_basestring_ascii


def write_result(assessment: YearAssessment, write: Callable[[str], object], chunk: int = 1000) -> None:
    """Write the same document as :func:`result_document`, as JSON, operator by operator as they are assessed.

    Compact separators and ASCII escapes (``\\u00d7`` for ×): the C encoder is three times faster with them.
    The operators' objects are written as text directly (:func:`_operator_texts`); the year's parts by json.
    """
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    write(dumps(_year_document(assessment))[:-1] + ',"operators":[')
    texts = _operator_texts(assessment)
    separator = ""
    while batch := list(islice(texts, chunk)):
        write(separator + ",".join(batch))
        separator = ","
    write("]," + dumps(_year_appendix(assessment))[1:] + "\n")


def _pieces(template: str, *fields: str) -> tuple[str, ...]:
    """The template quoted as a JSON string, cut at its fields, which it names once each and in this order.

    The arguments of these templates are amounts, rates and counts formatted by eur() and percent() (digits,
    ",", ".", "%", "EUR"): nothing to escape, so the pieces joined with them are the quoted line, and joining
    is many times faster than str.format with keywords (issue 15).
    """
    rest = _quote(template)
    pieces = []
    for field in fields:
        before, rest = rest.split("{" + field + "}")  # ValueError: the field is missing or named twice
        pieces.append(before)
    pieces.append(rest)
    if any("{" in piece or "}" in piece for piece in pieces):
        raise ValueError(f"{template!r} names other fields than {fields}")
    return tuple(pieces)


#: The lines made for each operator, as pieces of quoted JSON strings around their arguments.
_EXEMPT = _pieces(EXEMPT, "turnover", "threshold")
_NOT_EXEMPT = _pieces(NOT_EXEMPT, "turnover", "threshold")
_LEVY = _pieces(LEVY, "turnover", "rate", "levy")
_CONTRIBUTION = _pieces(CONTRIBUTION, "tax", "levy", "total")
_DEFAULT = _pieces(DEFAULT_ASSESSMENT, "turnover")


ZERO_FIELD = format_money(ZERO)


def _operator_texts(assessment: YearAssessment) -> Iterator[str]:
    """Each operator's JSON object, in input order: the object of :func:`_operator_document` (same keys, same
    order, the strings escaped by the C encoder), written from the facts of pass 1 without making the result
    (tests/test_jsonio.py and tests/test_calculate_output.py hold the two to the same output).

    A hundred thousand operators must stay within twice the cost of reading and writing their JSON
    (bench/calculate.py, issue 15): the lines of an entity count (the same tuple for every operator with that
    count) are quoted once, with the activity tax's line; only the turnover's lines are formatted per operator,
    from the pieces of their quoted templates (:func:`_pieces`). The amounts come from the functions of the
    assessment (turnover_levy) and the year's figures.
    """
    figures = assessment.figures()
    # Lines shared by many operators are rendered and quoted once; they outlive this call, so their ids stay theirs.
    quoted = {id(line): _quote(line.render()) for line in assessment.shared_lines()}
    e0, e1, e2 = _EXEMPT
    n0, n1, n2 = _NOT_EXEMPT
    l0, l1, l2, l3 = _LEVY
    c0, c1, c2, c3 = _CONTRIBUTION
    d0, d1 = _DEFAULT
    not_liable = quoted[id(NOT_LIABLE)]
    fine, fine_field, fine_line = figures.fine, f"{figures.fine:.2f}", quoted[id(figures.fine_line)]
    threshold, rate, rate_text = figures.threshold_text, figures.rate, figures.rate_text
    #: id of an entity count (with its lines) → its lines and the activity tax's, quoted; the tax, its text in
    #: the lines and its text as the JSON field (an exempt operator's total is the same text)
    counts: dict[int, tuple[str, Decimal, str, str]] = {}
    for operator, counted, exempt in assessment.operator_facts():
        if counted is None:
            yield (
                f'{{"id":{_quote(operator.id)},"liable":false,"entities":0,"exempt":{_BOOLEAN[exempt]},'
                '"activity_tax":"0.00","turnover_levy":"0.00","total":"0.00",'
                f'"default_assessment":{_BOOLEAN[not operator.declared]},"fine":"0.00","amount_due":"0.00",'
                f'"explanation":[{not_liable}]}}'
            )
            continue
        count = counts.get(id(counted))
        if count is None:
            activity_tax, tax_line = figures.activity_taxes[counted[0].entities]
            lines = ",".join([quoted.get(id(line)) or _quote(line.render()) for line in (*counted[1], tax_line)])
            count = counts[id(counted)] = (lines, activity_tax, tax_line.args["tax"], f"{activity_tax:.2f}")
        entity_lines, activity_tax, tax, tax_field = count
        turnover = eur(operator.total_turnover)
        if exempt:
            total, levy_field, total_field = activity_tax, ZERO_FIELD, tax_field
            levy_lines = f"{e0}{turnover}{e1}{threshold}{e2},{c0}{tax}{c1}{ZERO_TEXT}{c2}{tax}{c3}"
        else:
            levy = turnover_levy(operator.levied_turnover, rate)
            total = activity_tax + levy
            levy_text = eur(levy)
            levy_field, total_field = f"{levy:.2f}", f"{total:.2f}"
            levied = eur(operator.levied_turnover)
            levy_lines = (
                f"{n0}{turnover}{n1}{threshold}{n2},{l0}{levied}{l1}{rate_text}{l2}{levy_text}{l3},"
                f"{c0}{tax}{c1}{levy_text}{c2}{eur(total)}{c3}"
            )
        if operator.declared:
            explanation, owed_field, due_field = f"{entity_lines},{levy_lines}", ZERO_FIELD, total_field
        else:  # D6, D7: the figures were the FPS Finance's; the fine comes on top of the contribution
            default = f"{d0}{turnover}{d1}"
            explanation = f"{entity_lines},{default},{levy_lines},{fine_line}"
            owed_field, due_field = fine_field, f"{total + fine:.2f}"
        yield (
            f'{{"id":{_quote(operator.id)},"liable":true,"entities":{counted[0].entities},'
            f'"exempt":{_BOOLEAN[exempt]},"activity_tax":"{tax_field}","turnover_levy":"{levy_field}",'
            f'"total":"{total_field}","default_assessment":{_BOOLEAN[not operator.declared]},'
            f'"fine":"{owed_field}","amount_due":"{due_field}","explanation":[{explanation}]}}'
        )
