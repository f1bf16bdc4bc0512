"""Reads of the register."""

from __future__ import annotations

import datetime
from decimal import Decimal

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


def operators_with_rules_inputs(contribution_year: int) -> list[Operator]:
    """The operators that must declare in ``contribution_year`` (in name order), each with what famhp.rules needs
    attached as ``with_rules_inputs`` attaches it: three queries for the year, none listing the operators (every
    counting activity belongs to an operator that must declare; a year's run reads them all)."""
    turnover_year = contribution_year - 1
    operators = list(operators_must_declare(contribution_year))
    by_pk = {operator.pk: operator for operator in operators}
    for operator in operators:
        operator.counting_activities = []  # type: ignore[attr-defined]
        operator.guide_declarations = []  # type: ignore[attr-defined]
    for activity in activities_counting_for(turnover_year).only("operator_id", "role", "category"):
        if activity.operator_id in by_pk:
            by_pk[activity.operator_id].counting_activities.append(activity)  # type: ignore[attr-defined]
    for declaration in _guide_declarations(turnover_year).only("operator_id", "complies", "declared_on"):
        if declaration.operator_id in by_pk:
            by_pk[declaration.operator_id].guide_declarations.append(declaration)  # type: ignore[attr-defined]
    return operators


def rules_operator(
    operator: Operator,
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
    counting: list[Activity] | None = getattr(operator, "counting_activities", None)
    if counting is None:
        counting = list(activities_counting_for(turnover_year).filter(operator=operator))
    activities = tuple(sorted({RulesActivity(a.role, a.category) for a in counting}))
    return RulesOperator(
        id=operator.identifier,
        activities=activities,
        established_in_belgium=operator.established_in_belgium,
        active_in_belgium=operator.active_in_belgium
        and not (declares_not_liable and not operator.established_in_belgium),
        registered=bool(activities),
        self_control_guide=self_control_guide_applies(operator, turnover_year),
        total_turnover=total_turnover,
        levied_turnover=levied_turnover,
    )
