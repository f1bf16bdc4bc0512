"""The assessment of a whole contribution year: every operator's activity tax and turnover levy, explained.

Law of 20 July 2006 art. 14/2–14/6 and annex I.1 (turnover levy), art. 14/9 and annex IX ch. III (activity
tax); RULES.md §2–§5 and D1–D5. Pure: no clock, no database, no Django.

Written for speed as much as for reading: named tuples rather than frozen dataclasses, and the entity count
with its explanation computed once per distinct set of activities (bench/calculate.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import NamedTuple

from famhp.rules.entities import EntityCount, EntityTable, UnknownYear, count_entities, entity_table_for
from famhp.rules.errors import InvalidInput, Problem
from famhp.rules.explanation import Line, eur, percent
from famhp.rules.explanation import gettext_noop as _
from famhp.rules.money import CENT, ZERO, round_half_up
from famhp.rules.parameters import YearParameters
from famhp.rules.rates import applied_levy_rate, computed_levy_rate
from famhp.rules.sanctions import DEFAULT_ASSESSMENT, FINE

__all__ = [
    "RULES_VERSION",
    "Activity",
    "Operator",
    "OperatorResult",
    "YearAssessment",
    "YearResult",
    "assess_year",
    "is_exempt",
    "is_liable",
]

#: Stored with every assessment so that a result can be traced to the rules that produced it.
RULES_VERSION = "2026.1"


class Activity(NamedTuple):
    role: str
    category: str


class Operator(NamedTuple):
    """What the rules need to know about an operator for one contribution year."""

    id: str
    activities: tuple[Activity, ...] = ()
    established_in_belgium: bool = True
    active_in_belgium: bool = True
    registered: bool = True
    self_control_guide: bool = False
    total_turnover: Decimal = ZERO
    levied_turnover: Decimal = ZERO
    #: False: no declaration; both figures are the FPS Finance's total turnover (D6) and a fine is due (D7).
    declared: bool = True


class OperatorResult(NamedTuple):
    id: str
    liable: bool
    entities: int
    exempt: bool
    activity_tax: Decimal
    turnover_levy: Decimal
    total: Decimal
    explanation: tuple[Line, ...]
    default_assessment: bool = False
    fine: Decimal = ZERO
    #: total + fine
    amount_due: Decimal = ZERO


class YearResult(NamedTuple):
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
    #: Names of the values in use that no official publication confirms: the parameters', and "entity_table"
    #: when the year's entity table is used unconfirmed (D11). They block invoicing until the agency confirms.
    unconfirmed: tuple[str, ...] = ()
    #: The entity table the year was assessed with (D11).
    entity_table: EntityTable | None = None


def is_liable(operator: Operator) -> bool:
    """RULES §3; FAQ 3, 7, 15: only an operator established outside Belgium *and* without any liable activity
    on Belgian territory is not liable. Registration dates are the register's concern: an operator given to
    the rules had a liable activity in the turnover year, registered or not (FAQ 10–14)."""
    return operator.established_in_belgium or operator.active_in_belgium


def is_exempt(total_turnover: Decimal, threshold: Decimal) -> bool:
    """D4; annex I.1; FAQ 3, 6: exempt from the turnover levy below the indexed threshold; equal is not below."""
    return total_turnover < threshold


NOT_LIABLE = Line(
    "RULES §3",
    _(
        "Not liable: established outside Belgium and no liable activity on Belgian territory; every amount is "
        "0.00 (RULES §3; FAQ 3, 7, 15)."
    ),
    {},
)
LIABLE_BELGIAN = Line("RULES §3", _("Liable: established in Belgium (RULES §3; FAQ 15)."), {})
LIABLE_FOREIGN = Line(
    "RULES §3",
    _("Liable: established outside Belgium, with a liable activity on Belgian territory (RULES §3; FAQ 15)."),
    {},
)


def assess_year(
    *, parameters: YearParameters, operators: Sequence[Operator], table: EntityTable | None = None
) -> YearResult:
    """Assess every operator of a contribution year (RULES §2–§5); see :class:`YearAssessment`."""
    return YearAssessment(parameters=parameters, operators=operators, table=table).result()


class YearAssessment:
    """A contribution year whose totals are set; each operator's result is made on demand, in input order.

    The year's figures depend on every operator (total entities for D3, levied turnover for D5), so a first
    pass counts them all; the operators' results can then be streamed, so that a hundred thousand of them never
    have to sit in memory at once (``famhp calculate`` writes them as they come).

    Raises :class:`InvalidInput` when the parameters cannot produce an amount that is needed: no cost per entity
    and no budget to compute it (D3), or no rate for a liable operator that owes the levy (D5).
    """

    def __init__(
        self, *, parameters: YearParameters, operators: Sequence[Operator], table: EntityTable | None = None
    ) -> None:
        if table is None:
            try:
                table = entity_table_for(parameters.year)
            except UnknownYear as error:
                raise InvalidInput([Problem("year", str(error))]) from None
        threshold = parameters.exemption_threshold
        year_lines: list[Line] = [_entity_table_line(table)]

        # Pass 1: liability, entities and exemption, on which the year's totals depend.
        counts: dict[tuple[object, ...], tuple[EntityCount, tuple[Line, ...]]] = {}
        explained: dict[tuple[EntityCount, bool], tuple[EntityCount, tuple[Line, ...]]] = {}
        interned: dict[tuple[str, ...], Line] = {}
        facts: list[OperatorFacts] = []
        total_entities = 0
        levied_total = ZERO
        anyone_owes_levy = anyone_undeclared = False
        for operator in operators:
            exempt = is_exempt(operator.total_turnover, threshold)
            if not is_liable(operator):
                facts.append((operator, None, exempt))
                continue
            key = (
                operator.activities,
                operator.registered,
                operator.established_in_belgium,
                operator.self_control_guide,
            )
            counted = counts.get(key)
            if counted is None:
                count = count_entities(
                    activities=operator.activities,
                    registered=operator.registered,
                    established_in_belgium=operator.established_in_belgium,
                    self_control_guide=operator.self_control_guide,
                    table=table,
                )
                # many lists of activities give the same count: one tuple (and one set of lines) for all of them
                counted = explained.get((count, operator.established_in_belgium))
                if counted is None:
                    lines = _entity_lines(operator.established_in_belgium, count, interned)
                    counted = explained[count, operator.established_in_belgium] = (count, lines)
                counts[key] = counted
            total_entities += counted[0].entities
            if not operator.declared:
                anyone_undeclared = True
            if not exempt:
                anyone_owes_levy = True
                levied_total += operator.levied_turnover
            facts.append((operator, counted, exempt))

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
        if rate is None and anyone_owes_levy:
            problems.append(
                Problem(
                    "parameters.max_levy_rate",
                    "no levy rate for this year (no maximum, no lowered rate and no budget to compute one, D5) "
                    "while a liable operator is not exempt: give max_levy_rate or budget",
                )
            )
        fine = parameters.administrative_fine
        if fine is None and anyone_undeclared:
            problems.append(
                Problem(
                    "parameters.administrative_fine",
                    "a liable operator has no declaration (D6) but the administrative fine of the year is unknown "
                    "(D7, not found in any source): give parameters.administrative_fine",
                )
            )
        if problems:
            raise InvalidInput(problems)

        cost_text = eur(cost or ZERO)
        activity_taxes: dict[int, tuple[Decimal, Line]] = {}
        for count, _lines in explained.values():
            if count.entities not in activity_taxes:
                amount = round_half_up(count.entities * (cost or ZERO), CENT)
                args = {"entities": str(count.entities), "cost": cost_text, "tax": eur(amount)}
                activity_taxes[count.entities] = (amount, Line("D3", ACTIVITY_TAX, args))
        self._facts = facts
        self._figures = YearFigures(
            rate=rate or ZERO,
            rate_text=percent(rate or ZERO),
            threshold_text=eur(threshold),
            activity_taxes=activity_taxes,
            fine=fine or ZERO,
            fine_line=Line("D7", FINE, {"fine": eur(fine or ZERO)}),
        )
        self._shared = [
            NOT_LIABLE,
            LIABLE_BELGIAN,
            LIABLE_FOREIGN,
            NEVER_BELOW_ZERO,
            self._figures.fine_line,
            *interned.values(),
        ]
        self._shared.extend(line for _, line in activity_taxes.values())

        self.year = parameters.year
        self.parameters = parameters
        self.activity_tax_budget = activity_budget
        self.turnover_levy_budget = levy_budget
        self.total_entities = total_entities
        self.cost_per_entity = cost
        self.levied_turnover_total = levied_total
        self.computed_levy_rate = computed_rate
        self.levy_rate = rate
        self.explanation = tuple(year_lines)
        self.entity_table = table
        self.unconfirmed = parameters.unconfirmed + (() if table.confirmed else ("entity_table",))

    def __len__(self) -> int:
        return len(self._facts)

    def operator_results(self) -> Iterator[OperatorResult]:
        """Each operator's result, in input order."""
        figures = self._figures
        for operator, counted, exempt in self._facts:
            yield _assess_operator(operator, counted, exempt, figures)

    def operator_facts(self) -> list[OperatorFacts]:
        """Pass 1's facts of each operator, in input order: the operator, its entity count with the count's
        explanation lines (None when not liable; the same tuple for every operator with the same count), and
        whether it is exempt. For a writer that formats the results itself (jsonio.write_result); each result is
        :func:`_assess_operator` of these facts and :meth:`figures`."""
        return self._facts

    def figures(self) -> YearFigures:
        """The year's figures that every operator's assessment uses, with their texts formatted once."""
        return self._figures

    def shared_lines(self) -> list[Line]:
        """The line objects that many operators' explanations share (the same object each time).

        They live as long as this assessment, so a renderer may cache their text by ``id()`` meanwhile.
        """
        return self._shared

    def result(self) -> YearResult:
        return YearResult(
            year=self.year,
            parameters=self.parameters,
            activity_tax_budget=self.activity_tax_budget,
            turnover_levy_budget=self.turnover_levy_budget,
            total_entities=self.total_entities,
            cost_per_entity=self.cost_per_entity,
            levied_turnover_total=self.levied_turnover_total,
            computed_levy_rate=self.computed_levy_rate,
            levy_rate=self.levy_rate,
            operators=tuple(self.operator_results()),
            explanation=self.explanation,
            unconfirmed=self.unconfirmed,
            entity_table=self.entity_table,
        )


def _entity_table_line(table: EntityTable) -> Line:
    """D11: which entity table the year uses, and whether it is confirmed for that year."""
    if table.confirmed:
        template = _("Entity table of the year: {source} (D11; law of 20 July 2006 annex IX ch. III).")
    else:
        template = _(
            "Entity table of the year, an unconfirmed parameter until the agency confirms it: {source} "
            "(D11; law of 20 July 2006 annex IX ch. III)."
        )
    return Line("D11", template, {"source": table.source})


def _split_budget(parameters: YearParameters, lines: list[Line]) -> tuple[Decimal | None, Decimal | None]:
    """RULES §2; FAQ 3, 5: the budget splits into the activity tax (its share, to the cent) and the levy."""
    budget = parameters.budget
    if budget is None:
        lines.append(Line("RULES §2", _("No budget is known for the year: no budget split (RULES §2)."), {}))
        return None, None
    share = parameters.activity_tax_share
    activity = round_half_up(budget * share, CENT)
    levy = budget - activity
    lines.append(
        Line(
            "RULES §2",
            _(
                "Budget {budget} × activity-tax share {share} = activity-tax budget {activity}, half-up to the "
                "cent; the rest, {levy}, is the turnover-levy budget (RULES §2; FAQ 3, 5)."
            ),
            {"budget": eur(budget), "share": str(share), "activity": eur(activity), "levy": eur(levy)},
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
                "D3",
                _("Cost per entity {cost}, fixed for the year: {source} (D3; FAQ 5)."),
                {"cost": eur(published), "source": parameters.values["cost_per_entity"].source},
            )
        )
        return published
    if activity_budget is None or total_entities == 0:
        return None
    cost = round_half_up(activity_budget / total_entities, CENT)
    lines.append(
        Line(
            "D3",
            _(
                "Cost per entity = activity-tax budget {budget} ÷ {entities} entities of all liable operators = "
                "{cost}, half-up to the cent (D3; law of 20 July 2006 art. 14/9; FAQ 3)."
            ),
            {"budget": eur(activity_budget), "entities": str(total_entities), "cost": eur(cost)},
        )
    )
    return cost


def _levy_rate(
    parameters: YearParameters, levy_budget: Decimal | None, levied_total: Decimal, lines: list[Line]
) -> tuple[Decimal | None, Decimal | None]:
    """D5 (revised); FAQ 5: the computed rate (information) and the applied rate (:func:`applied_levy_rate`)."""
    computed = computed_levy_rate(levy_budget=levy_budget, levied_turnover_total=levied_total)
    if computed is not None:
        assert levy_budget is not None
        lines.append(
            Line(
                "D5",
                COMPUTED_RATE,
                {"budget": eur(levy_budget), "turnover": eur(levied_total), "rate": percent(computed)},
            )
        )
    maximum, lowered = parameters.max_levy_rate, parameters.effective_levy_rate
    rate = applied_levy_rate(max_rate=maximum, lowered_rate=lowered, computed_rate=computed)
    if rate is None:
        return computed, None
    if lowered is not None:
        template = LOWERED_RATE if maximum is not None else LOWERED_RATE_NO_MAXIMUM
    elif maximum is not None:
        template = MAXIMUM_RATE if computed is None else MAXIMUM_RATE_COMPUTED_SHOWN
    else:
        template = COMPUTED_RATE_APPLIED
    args = {"rate": percent(rate), "maximum": percent(maximum or ZERO)}
    if computed is not None:
        args["computed"] = percent(computed)
    lines.append(Line("D5", template, args))
    return computed, rate


COMPUTED_RATE = _(
    "Computed rate = turnover-levy budget {budget} ÷ levied turnover of the liable, non-exempt operators "
    "{turnover} = {rate}, half-up to 6 decimals of the fraction; information only: what the budget needs "
    "(D5; FAQ 3)."
)
LOWERED_RATE = _(
    "Applied rate {rate}: lowered by the agency's closing decision once the accounts of the year closed, "
    "not above the maximum {maximum} (D5; FAQ 5)."
)
LOWERED_RATE_NO_MAXIMUM = _(
    "Applied rate {rate}: set by the agency's closing decision once the accounts of the year closed (D5; FAQ 5)."
)
MAXIMUM_RATE = _("Applied rate {rate}: the maximum rate of the year, not lowered by the agency (D5; FAQ 5).")
MAXIMUM_RATE_COMPUTED_SHOWN = _(
    "Applied rate {rate}: the maximum rate of the year, not lowered by the agency; the computed rate {computed} "
    "lowers nothing by itself (D5; FAQ 5)."
)
COMPUTED_RATE_APPLIED = _(
    "Applied rate {rate}: the computed rate, the year having no maximum rate and no lowered rate (D5; FAQ 3, 5)."
)


EXEMPT = _(
    "Exempt from the turnover levy: total turnover {turnover} is below the threshold {threshold} "
    "(D4; law of 20 July 2006 annex I.1; FAQ 6)."
)
NOT_EXEMPT = _(
    "Not exempt: total turnover {turnover} is not below the threshold {threshold} "
    "(D4; law of 20 July 2006 annex I.1; FAQ 6)."
)
LEVY = _(
    "Turnover levy = levied turnover {turnover} × {rate} = {levy}, half-up to the cent "
    "(D5; law of 20 July 2006 art. 14/2; FAQ 5, 20)."
)
ACTIVITY_TAX = _("Activity tax = {entities} entities × {cost} = {tax} (D3; law of 20 July 2006 art. 14/9).")
CONTRIBUTION = _("Individual contribution = activity tax {tax} + turnover levy {levy} = {total} (RULES §2; FAQ 3).")


def _assess_operator(
    operator: Operator,
    counted: tuple[EntityCount, tuple[Line, ...]] | None,
    exempt: bool,
    year: YearFigures,
) -> OperatorResult:
    if counted is None:
        return OperatorResult(operator.id, False, 0, exempt, ZERO, ZERO, ZERO, (NOT_LIABLE,), not operator.declared)
    count, entity_lines = counted
    activity_tax, tax_line = year.activity_taxes[count.entities]
    tax = tax_line.args["tax"]
    turnover = {"turnover": eur(operator.total_turnover), "threshold": year.threshold_text}
    if exempt:
        levy = ZERO
        total = activity_tax
        levy_lines: tuple[Line, ...] = (
            Line("D4", EXEMPT, turnover),
            Line("RULES §2", CONTRIBUTION, {"tax": tax, "levy": ZERO_TEXT, "total": tax}),
        )
    else:
        levy = turnover_levy(operator.levied_turnover, year.rate)
        total = activity_tax + levy
        levy_text = eur(levy)
        levy_lines = (
            Line("D4", NOT_EXEMPT, turnover),
            Line("D5", LEVY, {"turnover": eur(operator.levied_turnover), "rate": year.rate_text, "levy": levy_text}),
            Line("RULES §2", CONTRIBUTION, {"tax": tax, "levy": levy_text, "total": eur(total)}),
        )
    if operator.declared:
        lines = (*entity_lines, tax_line, *levy_lines)
        return OperatorResult(
            operator.id, True, count.entities, exempt, activity_tax, levy, total, lines, False, ZERO, total
        )
    # D6, D7: the figures were the FPS Finance's; the fine comes on top of the contribution.
    default = Line("D6", DEFAULT_ASSESSMENT, {"turnover": eur(operator.total_turnover)})
    lines = (*entity_lines, tax_line, default, *levy_lines, year.fine_line)
    return OperatorResult(
        operator.id, True, count.entities, exempt, activity_tax, levy, total, lines, True, year.fine, total + year.fine
    )


def turnover_levy(levied_turnover: Decimal, rate: Decimal) -> Decimal:
    """D5: levied turnover × the applied rate, half-up to the cent on the product, never earlier (RULES §5)."""
    return round_half_up(levied_turnover * rate, CENT)


#: An operator's facts after pass 1: the operator, its entity count and the count's lines (None: not liable), exempt
OperatorFacts = tuple[Operator, tuple[EntityCount, tuple[Line, ...]] | None, bool]


class YearFigures(NamedTuple):
    """The year's figures that every operator's assessment uses, with their texts formatted once."""

    rate: Decimal
    rate_text: str
    threshold_text: str
    #: entities → (activity tax, its explanation line)
    activity_taxes: dict[int, tuple[Decimal, Line]]
    fine: Decimal
    fine_line: Line


ZERO_TEXT = eur(ZERO)


ROLE_MAXIMUM = _(
    "Role {role}: highest category {category} = {cell} entities (D1; law of 20 July 2006 annex IX ch. III; FAQ 4)."
)
UNREGISTERED = _("No registered activity: {entities} entities, the maximum (8 + 1), with no reduction (D2; FAQ 14).")
MULTI_ROLE = _("{roles} roles: highest {highest} + 1, once whatever the number of roles = {entities} (D1; FAQ 17).")
FOREIGN = _("Not established in Belgium: − 1 = {entities} (D1; law of 20 July 2006 annex IX ch. III).")
SELF_CONTROL = _(
    "Distributor complying with the self-control guide (law of 15 December 2013 arts. 61–62): − 1 = {entities} "
    "(D1; law of 20 July 2006 annex IX ch. III)."
)
NEVER_BELOW_ZERO = Line("D1", _("Never below 0: 0 entities (D1)."), {})


def _entity_lines(
    established_in_belgium: bool, count: EntityCount, interned: dict[tuple[str, ...], Line]
) -> tuple[Line, ...]:
    """Liability and the steps of D1/D2 as explanation lines.

    Each distinct line is made once per year (``interned``) and shared by every operator it applies to: a
    renderer then formats it once, however many operators have, say, "Role distributor: … MDR I = 1".
    """

    def line(rule: str, template: str, **args: str) -> Line:
        key = (template, *args.values())
        found = interned.get(key)
        if found is None:
            found = interned[key] = Line(rule, template, args)
        return found

    lines = [LIABLE_BELGIAN if established_in_belgium else LIABLE_FOREIGN]
    if count.unregistered:
        lines.append(line("D2", UNREGISTERED, entities=str(count.entities)))
        return tuple(lines)
    lines.extend(
        line("D1", ROLE_MAXIMUM, role=role, category=category, cell=str(cell))
        for role, category, cell in count.per_role
    )
    running = max(cell for _, _, cell in count.per_role)
    if count.multi_role_bonus:
        running += 1
        lines.append(
            line("D1", MULTI_ROLE, roles=str(len(count.per_role)), highest=str(running - 1), entities=str(running))
        )
    if count.foreign_reduction:
        running -= 1
        lines.append(line("D1", FOREIGN, entities=str(running)))
    if count.self_control_reduction:
        running -= 1
        lines.append(line("D1", SELF_CONTROL, entities=str(running)))
    if running < 0:
        lines.append(NEVER_BELOW_ZERO)
    return tuple(lines)
