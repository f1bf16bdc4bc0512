"""The assessment of a whole contribution year: every operator's activity tax and turnover levy, explained.

Law of 20 July 2006 art. 14/2–14/6 and annex I.1 (turnover levy), art. 14/9 and annex IX ch. III (activity
tax); RULES.md §2–§5 and D1–D5. Pure: no clock, no database, no Django.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from famhp.rules import explanation as why
from famhp.rules.entities import EntityCount, EntityTable, count_entities, entity_table
from famhp.rules.errors import InvalidInput, Problem
from famhp.rules.explanation import Line, eur, gettext_noop as _, percent
from famhp.rules.money import CENT, RATE_QUANTUM, ZERO, round_half_up
from famhp.rules.parameters import YearParameters

__all__ = [
    "RULES_VERSION",
    "Activity",
    "Operator",
    "OperatorResult",
    "YearResult",
    "assess_year",
    "is_exempt",
    "is_liable",
]

#: Stored with every assessment so that a result can be traced to the rules that produced it.
RULES_VERSION = "2026.1"


@dataclass(frozen=True, slots=True)
class Activity:
    role: str
    category: str


@dataclass(frozen=True, slots=True)
class Operator:
    """What the rules need to know about an operator for one contribution year."""

    id: str
    activities: tuple[Activity, ...] = ()
    established_in_belgium: bool = True
    active_in_belgium: bool = True
    registered: bool = True
    self_control_guide: bool = False
    total_turnover: Decimal = ZERO
    levied_turnover: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class OperatorResult:
    id: str
    liable: bool
    entities: int
    exempt: bool
    activity_tax: Decimal
    turnover_levy: Decimal
    total: Decimal
    explanation: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class YearResult:
    year: int
    parameters: YearParameters
    activity_tax_budget: Decimal | None
    turnover_levy_budget: Decimal | None
    total_entities: int
    cost_per_entity: Decimal | None
    levied_turnover_total: Decimal
    computed_levy_rate: Decimal | None
    levy_rate: Decimal | None
    operators: tuple[OperatorResult, ...]
    explanation: tuple[Line, ...]


def is_liable(operator: Operator) -> bool:
    """RULES §3; FAQ 3, 7, 15: only an operator established outside Belgium *and* without any liable activity
    on Belgian territory is not liable. Registration dates are the register's concern: an operator given to
    the rules had a liable activity in the turnover year, registered or not (FAQ 10–14)."""
    return operator.established_in_belgium or operator.active_in_belgium


def is_exempt(total_turnover: Decimal, threshold: Decimal) -> bool:
    """D4; annex I.1; FAQ 3, 6: exempt from the turnover levy below the indexed threshold; equal is not below."""
    return total_turnover < threshold


def assess_year(
    *, parameters: YearParameters, operators: Sequence[Operator], table: EntityTable | None = None
) -> YearResult:
    """Assess every operator of a contribution year (RULES §2–§5).

    Raises :class:`InvalidInput` when the parameters cannot produce an amount that is needed: no cost per
    entity and no budget to compute it (D3), or no rate for a liable operator that owes the levy (D5).
    """
    table = table or entity_table()
    threshold = parameters.exemption_threshold
    year_lines: list[Line] = []

    # Pass 1: liability, entities and exemption, which the year's totals depend on.
    facts: list[tuple[Operator, bool, EntityCount | None, bool]] = []
    total_entities = 0
    levied_total = ZERO
    for operator in operators:
        liable = is_liable(operator)
        exempt = is_exempt(operator.total_turnover, threshold)
        count = None
        if liable:
            count = count_entities(
                activities=[(a.role, a.category) for a in operator.activities],
                registered=operator.registered,
                established_in_belgium=operator.established_in_belgium,
                self_control_guide=operator.self_control_guide,
                table=table,
            )
            total_entities += count.entities
            if not exempt:
                levied_total += operator.levied_turnover
        facts.append((operator, liable, count, exempt))

    activity_budget, levy_budget = _split_budget(parameters, year_lines)
    cost = _cost_per_entity(parameters, activity_budget, total_entities, year_lines)
    computed_rate, rate = _levy_rate(parameters, levy_budget, levied_total, year_lines)

    problems: list[Problem] = []
    if cost is None and total_entities > 0:
        problems.append(
            Problem(
                "parameters.cost_per_entity",
                "no cost per entity for this year and no budget to compute it from (D3): give one of them",
            )
        )
    if rate is None and any(liable and not exempt for _, liable, _, exempt in facts):
        problems.append(
            Problem(
                "parameters.max_levy_rate",
                "no levy rate for this year (no maximum, no effective rate and no budget to compute one, D5), "
                "while a liable operator is not exempt: give max_levy_rate or budget",
            )
        )
    if problems:
        raise InvalidInput(problems)

    results = tuple(
        _assess_operator(operator, liable, count, exempt, threshold, cost, rate)
        for operator, liable, count, exempt in facts
    )
    return YearResult(
        year=parameters.year,
        parameters=parameters,
        activity_tax_budget=activity_budget,
        turnover_levy_budget=levy_budget,
        total_entities=total_entities,
        cost_per_entity=cost,
        levied_turnover_total=levied_total,
        computed_levy_rate=computed_rate,
        levy_rate=rate,
        operators=results,
        explanation=tuple(year_lines),
    )


def _split_budget(parameters: YearParameters, lines: list[Line]) -> tuple[Decimal | None, Decimal | None]:
    """RULES §2; FAQ 3, 5: the budget splits into the activity tax (its share, to the cent) and the levy."""
    budget = parameters.budget
    if budget is None:
        lines.append(Line(_("No budget is known for the year: no budget split."), {}, why.BUDGET_SPLIT))
        return None, None
    share = parameters.activity_tax_share
    activity = round_half_up(budget * share, CENT)
    levy = budget - activity
    lines.append(
        Line(
            _(
                "Budget {budget} × activity-tax share {share} = activity-tax budget {activity}; "
                "the rest, {levy}, is the turnover-levy budget."
            ),
            {"budget": eur(budget), "share": f"{share}", "activity": eur(activity), "levy": eur(levy)},
            why.BUDGET_SPLIT,
        )
    )
    return activity, levy


def _cost_per_entity(
    parameters: YearParameters, activity_budget: Decimal | None, total_entities: int, lines: list[Line]
) -> Decimal | None:
    """D3; FAQ 3, 5: activity-tax budget ÷ total entities, half-up to the cent, unless published (fixed)."""
    published = parameters.cost_per_entity
    if published is not None:
        lines.append(
            Line(
                _("Cost per entity {cost}, fixed for the year ({source})."),
                {"cost": eur(published), "source": parameters.values["cost_per_entity"].source},
                why.COST_PER_ENTITY,
            )
        )
        return published
    if activity_budget is None or total_entities == 0:
        return None
    cost = round_half_up(activity_budget / total_entities, CENT)
    lines.append(
        Line(
            _("Cost per entity = activity-tax budget {budget} ÷ {entities} entities = {cost}, half-up to the cent."),
            {"budget": eur(activity_budget), "entities": str(total_entities), "cost": eur(cost)},
            why.COST_PER_ENTITY,
        )
    )
    return cost


def _levy_rate(
    parameters: YearParameters, levy_budget: Decimal | None, levied_total: Decimal, lines: list[Line]
) -> tuple[Decimal | None, Decimal | None]:
    """D5; FAQ 5: the computed rate, the maximum, and the effective rate that replaces them when set."""
    computed = None
    if levy_budget is not None and levied_total > 0:
        computed = round_half_up(levy_budget / levied_total, RATE_QUANTUM)
        lines.append(
            Line(
                _(
                    "Computed rate = turnover-levy budget {budget} ÷ levied turnover of the liable, non-exempt "
                    "operators {turnover} = {rate}, half-up to 4 decimals of a percent."
                ),
                {"budget": eur(levy_budget), "turnover": eur(levied_total), "rate": percent(computed)},
                why.LEVY_RATE,
            )
        )
    maximum, effective = parameters.max_levy_rate, parameters.effective_levy_rate
    if effective is not None:
        lines.append(
            Line(
                _("Effective rate {rate} set by the agency after the accounts closed: it is the rate applied."),
                {"rate": percent(effective)},
                why.LEVY_RATE,
            )
        )
        return computed, effective
    if computed is not None and maximum is not None:
        rate = min(computed, maximum)
        template = (
            _("Applied rate {rate}: the computed rate, lower than the maximum {maximum}.")
            if computed < maximum
            else _("Applied rate {rate}: the maximum rate, not above the computed {computed}.")
        )
        lines.append(
            Line(template, {"rate": percent(rate), "maximum": percent(maximum), "computed": percent(computed)},
                 why.LEVY_RATE)
        )
        return computed, rate
    rate = computed if computed is not None else maximum
    if rate is not None:
        lines.append(
            Line(
                _("Applied rate {rate}: the only rate known for the year."),
                {"rate": percent(rate)},
                why.LEVY_RATE,
            )
        )
    return computed, rate


def _assess_operator(
    operator: Operator,
    liable: bool,
    count: EntityCount | None,
    exempt: bool,
    threshold: Decimal,
    cost: Decimal | None,
    rate: Decimal | None,
) -> OperatorResult:
    if not liable or count is None:
        line = Line(
            _(
                "Not liable: established outside Belgium and no liable activity on Belgian territory; "
                "every amount is 0.00."
            ),
            {},
            why.LIABILITY,
        )
        return OperatorResult(operator.id, False, 0, exempt, ZERO, ZERO, ZERO, (line,))

    lines = [
        Line(_("Liable: established in Belgium."), {}, why.LIABILITY)
        if operator.established_in_belgium
        else Line(
            _("Liable: established outside Belgium with a liable activity on Belgian territory."),
            {},
            why.LIABILITY,
        )
    ]
    lines.extend(_entity_lines(count))

    entities = count.entities
    activity_tax = ZERO if cost is None else round_half_up(entities * cost, CENT)
    lines.append(
        Line(
            _("Activity tax = {entities} entities × {cost} = {tax}."),
            {"entities": str(entities), "cost": eur(cost or ZERO), "tax": eur(activity_tax)},
            why.COST_PER_ENTITY,
        )
    )

    args = {"turnover": eur(operator.total_turnover), "threshold": eur(threshold)}
    if exempt:
        levy = ZERO
        lines.append(
            Line(
                _("Exempt from the turnover levy: total turnover {turnover} is below the threshold {threshold}."),
                args,
                why.EXEMPTION,
            )
        )
    else:
        assert rate is not None  # assess_year refuses a year without a rate when someone owes the levy
        lines.append(
            Line(
                _("Not exempt: total turnover {turnover} is not below the threshold {threshold}."),
                args,
                why.EXEMPTION,
            )
        )
        levy = round_half_up(operator.levied_turnover * rate, CENT)
        lines.append(
            Line(
                _("Turnover levy = levied turnover {turnover} × {rate} = {levy}, half-up to the cent."),
                {"turnover": eur(operator.levied_turnover), "rate": percent(rate), "levy": eur(levy)},
                why.LEVY_RATE,
            )
        )
    total = activity_tax + levy
    lines.append(
        Line(
            _("Individual contribution = activity tax {tax} + turnover levy {levy} = {total}."),
            {"tax": eur(activity_tax), "levy": eur(levy), "total": eur(total)},
            why.CONTRIBUTION,
        )
    )
    return OperatorResult(operator.id, True, entities, exempt, activity_tax, levy, total, tuple(lines))


def _entity_lines(count: EntityCount) -> list[Line]:
    """The steps of D1/D2 as explanation lines."""
    if count.unregistered:
        return [
            Line(
                _("No registered activity: {entities} entities, the maximum (8 + 1), with no reduction."),
                {"entities": str(count.entities)},
                why.UNREGISTERED,
            )
        ]
    lines = [
        Line(
            _("Role {role}: highest category {category} = {cell} entities."),
            {"role": role, "category": category, "cell": str(cell)},
            why.ENTITY_COUNT,
        )
        for role, category, cell in count.per_role
    ]
    running = max(cell for _, _, cell in count.per_role)
    if count.multi_role_bonus:
        running += 1
        lines.append(
            Line(
                _("{roles} roles: highest {highest} + 1, once = {entities} entities."),
                {"roles": str(len(count.per_role)), "highest": str(running - 1), "entities": str(running)},
                why.ENTITY_COUNT,
            )
        )
    if count.foreign_reduction:
        running -= 1
        lines.append(
            Line(
                _("Not established in Belgium: − 1 = {entities} entities."),
                {"entities": str(running)},
                why.ENTITY_COUNT,
            )
        )
    if count.self_control_reduction:
        running -= 1
        lines.append(
            Line(
                _(
                    "Distributor complying with the self-control guide (arts. 61–62 of the law of "
                    "15 December 2013): − 1 = {entities} entities."
                ),
                {"entities": str(running)},
                why.ENTITY_COUNT,
            )
        )
    if running < 0:
        lines.append(Line(_("Never below 0: 0 entities."), {}, why.ENTITY_COUNT))
    return lines
