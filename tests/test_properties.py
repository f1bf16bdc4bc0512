"""Properties the rules must keep for any input (hypothesis)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from famhp.rules.assessment import Activity, Operator, assess_year
from famhp.rules.entities import ROLES, entity_table
from famhp.rules.money import CENT
from famhp.rules.parameters import resolve_parameters

TABLE = entity_table()
PAIRS = sorted((role, category) for (category, role) in TABLE.cells)

money = st.decimals(min_value=0, max_value=Decimal("50000000"), places=2, allow_nan=False, allow_infinity=False)
rates = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("0.05"), places=6)
activities = st.lists(st.sampled_from(PAIRS).map(lambda p: Activity(*p)), min_size=1, max_size=6).map(tuple)


@st.composite
def operators(draw: st.DrawFn, index: int = 0) -> Operator:
    total = draw(money)
    levied = draw(st.decimals(min_value=0, max_value=total, places=2))
    registered = draw(st.booleans() | st.just(True))
    return Operator(
        id=f"op{index}",
        activities=draw(activities) if registered else (),
        established_in_belgium=draw(st.booleans()),
        active_in_belgium=draw(st.booleans()),
        registered=registered,
        self_control_guide=draw(st.booleans()),
        total_turnover=total,
        levied_turnover=levied,
    )


@st.composite
def years(draw: st.DrawFn) -> tuple[object, list[Operator]]:
    count = draw(st.integers(min_value=1, max_value=25))
    ops = [draw(operators(index)) for index in range(count)]
    parameters = resolve_parameters(
        2024,
        {
            "budget": str(draw(st.decimals(min_value=1000, max_value=Decimal("30000000"), places=2))),
            "cost_per_entity": None,
            "max_levy_rate": str(draw(rates)),
        },
    )
    return parameters, ops


@settings(max_examples=300)
@given(years())
def test_not_liable_means_every_amount_is_zero_and_exempt_means_no_levy(year: tuple[object, list[Operator]]) -> None:
    parameters, ops = year
    result = assess_year(parameters=parameters, operators=ops)  # type: ignore[arg-type]
    for operator, outcome in zip(ops, result.operators, strict=True):
        liable = operator.established_in_belgium or operator.active_in_belgium
        assert outcome.liable is liable
        if not liable:
            assert outcome.entities == 0
            assert outcome.activity_tax == outcome.turnover_levy == outcome.total == Decimal(0)
        if outcome.exempt or not outcome.liable:
            assert outcome.turnover_levy == 0
        assert 0 <= outcome.entities <= 9
        assert outcome.total == outcome.activity_tax + outcome.turnover_levy
        for amount in (outcome.activity_tax, outcome.turnover_levy, outcome.total):
            assert amount == amount.quantize(CENT)


@settings(max_examples=300)
@given(years())
def test_computed_cost_per_entity_raises_the_activity_tax_budget_within_half_a_cent_per_entity(
    year: tuple[object, list[Operator]],
) -> None:
    parameters, ops = year
    result = assess_year(parameters=parameters, operators=ops)  # type: ignore[arg-type]
    if result.total_entities == 0:
        assert result.cost_per_entity is None
        return
    raised = sum((o.activity_tax for o in result.operators), Decimal(0))
    assert result.activity_tax_budget is not None
    assert abs(raised - result.activity_tax_budget) <= Decimal("0.005") * result.total_entities


@settings(max_examples=300)
@given(
    levied=st.lists(money, min_size=2, max_size=6, unique=True),
    rate=rates,
    threshold=st.decimals(min_value=0, max_value=Decimal("100000"), places=2),
)
def test_a_company_levy_never_falls_as_its_levied_turnover_rises(
    levied: list[Decimal], rate: Decimal, threshold: Decimal
) -> None:
    # The same company with ever higher levied turnover (and total turnover to match), at a fixed applied rate.
    parameters = resolve_parameters(
        2024, {"budget": None, "max_levy_rate": str(rate), "exemption_threshold": str(threshold)}
    )
    activity = (Activity("distributor", "MDR I"),)
    ops = [
        Operator(id=str(i), activities=activity, total_turnover=value, levied_turnover=value)
        for i, value in enumerate(sorted(levied))
    ]
    result = assess_year(parameters=parameters, operators=ops)
    levies = [o.turnover_levy for o in result.operators]
    assert levies == sorted(levies)


@given(
    activities=activities,
    established=st.booleans(),
    guide=st.booleans(),
)
def test_entities_stay_within_0_and_9(activities: tuple[Activity, ...], established: bool, guide: bool) -> None:
    from famhp.rules.entities import count_entities

    count = count_entities(
        activities=activities, registered=True, established_in_belgium=established, self_control_guide=guide
    )
    assert 0 <= count.entities <= 9
    roles = {a.role for a in activities}
    highest = max(TABLE.entities(a.role, a.category) for a in activities)
    # D1 step by step, from the definition: adding a role can never lower the count, reductions are at most 2.
    assert highest - 2 <= count.entities <= highest + (1 if len(roles) >= 2 else 0)
    assert set(ROLES) >= roles
