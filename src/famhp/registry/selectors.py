"""Reads of the register."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import NamedTuple

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from famhp.registry.models import Activity, Operator, SelfControlDeclaration
from famhp.rules import Activity as RulesActivity
from famhp.rules import Operator as RulesOperator
from famhp.rules.money import ZERO


def activities_counting_for(turnover_year: int) -> QuerySet[Activity]:
    """RULES §3; FAQ 10–13: activities registered at any time during the turnover year (closed ones included
    until the year after closing)."""
    return Activity.objects.filter(registered_on__lte=datetime.date(turnover_year, 12, 31)).filter(
        Q(closed_on=None) | Q(closed_on__gte=datetime.date(turnover_year, 1, 1))
    )


def operators_must_declare(contribution_year: int) -> QuerySet[Operator]:
    """Who must declare in ``contribution_year``: any liable activity in the turnover year (N−1), or a liable
    activity carried on without registration (FAQ 14). Non-liable foreign operators still declare (FAQ 7)."""
    counting = activities_counting_for(contribution_year - 1).filter(operator=OuterRef("pk"))
    return Operator.objects.filter(Q(Exists(counting)) | Q(unregistered_activity=True)).order_by("name", "pk")


def _guide_declarations(turnover_year: int) -> QuerySet[SelfControlDeclaration]:
    return SelfControlDeclaration.objects.filter(declared_on__lte=datetime.date(turnover_year, 12, 31)).order_by(
        "-declared_on", "-pk"
    )


def self_control_guide_applies(operator: Operator, turnover_year: int) -> bool:
    """D1: the distributor's latest self-control declaration made by the end of the turnover year."""
    prefetched: list[SelfControlDeclaration] | None = getattr(operator, "guide_declarations", None)
    latest = prefetched[0] if prefetched else None
    if prefetched is None:
        latest = _guide_declarations(turnover_year).filter(operator=operator).first()
    return bool(latest and latest.complies)


def with_rules_inputs(operators: QuerySet[Operator], contribution_year: int) -> QuerySet[Operator]:
    """The operators with what famhp.rules needs prefetched: two queries for all, not two per operator."""
    turnover_year = contribution_year - 1
    return operators.prefetch_related(
        Prefetch("activities", queryset=activities_counting_for(turnover_year), to_attr="counting_activities"),
        Prefetch(
            "self_control_declarations", queryset=_guide_declarations(turnover_year), to_attr="guide_declarations"
        ),
    )


class RulesInputs(NamedTuple):
    """What famhp.rules reads of an operator for a year, read as rows of three queries for the whole year (no
    model instance per operator: a year's run at 100,000 operators). ``rules_operator`` takes it as it takes an
    operator with its inputs attached."""

    pk: int
    identifier: str
    enterprise_number: str | None
    established_in_belgium: bool
    active_in_belgium: bool
    activities: tuple[RulesActivity, ...]
    self_control_guide: bool


def rules_inputs_of_year(contribution_year: int) -> list[RulesInputs]:
    """The operators that must declare in ``contribution_year`` (in name order) with what famhp.rules needs: their
    counting activities (RULES §3) and whether the self-control guide applies (D1), three queries for the year.
    Every counting activity belongs to an operator that must declare; an operator's activities are one tuple shared
    by every operator with the same ones."""
    turnover_year = contribution_year - 1
    counting: dict[int, set[tuple[str, str]]] = {}
    for operator_id, role, category in activities_counting_for(turnover_year).values_list(
        "operator_id", "role", "category"
    ):
        counting.setdefault(operator_id, set()).add((role, category))
    guide: dict[int, bool] = {}
    for operator_id, complies in _guide_declarations(turnover_year).values_list("operator_id", "complies"):
        guide.setdefault(operator_id, complies)  # the latest first
    shared: dict[frozenset[tuple[str, str]], tuple[RulesActivity, ...]] = {}
    inputs = []
    for pk, number, country, foreign, established, active in operators_must_declare(contribution_year).values_list(
        "pk", "enterprise_number", "country", "foreign_identifier", "established_in_belgium", "active_in_belgium"
    ):
        pairs = frozenset(counting.get(pk, ()))
        activities = shared.get(pairs)
        if activities is None:
            activities = shared[pairs] = tuple(sorted(RulesActivity(role, category) for role, category in pairs))
        identifier = number or f"{country}-{foreign}"  # as Operator.identifier
        inputs.append(RulesInputs(pk, identifier, number, established, active, activities, guide.get(pk, False)))
    return inputs


def rules_operator(
    operator: Operator | RulesInputs,
    contribution_year: int,
    *,
    total_turnover: Decimal = ZERO,
    levied_turnover: Decimal = ZERO,
    declares_not_liable: bool = False,
) -> RulesOperator:
    """The operator as famhp.rules sees it for ``contribution_year``, with the given declaration figures.

    ``declares_not_liable``: the declaration's box "not established in Belgium and no liable activity on Belgian
    territory" (FAQ 7). For an operator established abroad it stands for the activity in Belgium; for one
    established in Belgium it changes nothing (FAQ 15), and the declaration refuses it."""
    turnover_year = contribution_year - 1
    if isinstance(operator, RulesInputs):
        activities, guide = operator.activities, operator.self_control_guide
    else:
        counting: list[Activity] | None = getattr(operator, "counting_activities", None)
        if counting is None:
            counting = list(activities_counting_for(turnover_year).filter(operator=operator))
        activities = tuple(sorted({RulesActivity(a.role, a.category) for a in counting}))
        guide = self_control_guide_applies(operator, turnover_year)
    return RulesOperator(
        id=operator.identifier,
        activities=activities,
        established_in_belgium=operator.established_in_belgium,
        active_in_belgium=operator.active_in_belgium
        and not (declares_not_liable and not operator.established_in_belgium),
        registered=bool(activities),
        self_control_guide=guide,
        total_turnover=total_turnover,
        levied_turnover=levied_turnover,
    )
