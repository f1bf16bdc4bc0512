"""Properties the rules must keep for any input (hypothesis)."""

from __future__ import annotations

from decimal import Decimal, localcontext

from hypothesis import given, settings
from hypothesis import strategies as st

from famhp.rules.assessment import Activity, Operator, assess_year
from famhp.rules.entities import ROLES, entity_table
from famhp.rules.money import AMOUNT_LIMIT, CENT, AmountError, parse_amount, parse_rate
from famhp.rules.parameters import resolve_parameters
from famhp.rules.rates import applied_levy_rate

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


# Revised D5: rates of up to 10 decimals (0.0029438 exists).
fine_rates = st.decimals(min_value=Decimal("0.0000000001"), max_value=Decimal("0.05"), places=10)


@settings(max_examples=300)
@given(
    ops=st.lists(operators(), min_size=1, max_size=10),
    maximum=fine_rates,
    lowering=st.none() | st.decimals(min_value=0, max_value=1, places=10),
    budget=st.none() | st.decimals(min_value=1, max_value=Decimal("30000000"), places=2),
)
def test_the_applied_rate_never_exceeds_the_maximum(
    ops: list[Operator], maximum: Decimal, lowering: Decimal | None, budget: Decimal | None
) -> None:
    # D5 (revised): the lowered rate (<= the maximum) if the agency set one, else the maximum, whatever the
    # computed rate — above or below the maximum — says.
    lowered = None if lowering is None else (maximum * lowering).quantize(Decimal("1E-10"), rounding="ROUND_DOWN")
    given = {
        "budget": None if budget is None else str(budget),
        "cost_per_entity": "379.48",
        "max_levy_rate": str(maximum),
        "effective_levy_rate": None if lowered is None else str(lowered),
    }
    ops = [op._replace(id=f"op{index}") for index, op in enumerate(ops)]
    result = assess_year(parameters=resolve_parameters(2024, given), operators=ops)
    assert result.levy_rate is not None and result.levy_rate <= maximum
    assert result.levy_rate == (maximum if lowered is None else lowered)
    assert applied_levy_rate(max_rate=maximum, lowered_rate=lowered, computed_rate=result.computed_levy_rate) == (
        result.levy_rate
    )
    for outcome, operator in zip(result.operators, ops, strict=True):
        if outcome.liable and not outcome.exempt:
            # Never more than the maximum would charge: levied turnover x maximum, half-up to the cent.
            assert outcome.turnover_levy <= (operator.levied_turnover * maximum).quantize(
                CENT, rounding="ROUND_HALF_UP"
            )


@settings(max_examples=500)
@given(
    value=st.decimals(allow_nan=True, allow_infinity=True)
    | st.decimals(min_value=0, max_value=AMOUNT_LIMIT * 10, places=4)
)
def test_an_amount_is_accepted_exactly_when_it_is_within_the_bounds(value: Decimal) -> None:
    # contracts/calculate.md, bounds (revision 2): finite, not negative, below 10^13, at most two non-zero decimals.
    within = value.is_finite() and 0 <= value < AMOUNT_LIMIT
    if within:
        with localcontext(prec=100_000):  # exact: no rounding in the oracle
            within = (value * 100) % 1 == 0
    for raw in (value, str(value)):
        try:
            read = parse_amount(raw)
        except AmountError:
            assert not within, raw
        else:
            assert within, raw
            assert read == value and read.as_tuple().exponent == -2


@settings(max_examples=300)
@given(value=st.decimals(min_value=0, max_value=2, places=12))
def test_a_rate_is_accepted_exactly_when_it_is_a_fraction_with_ten_decimals(value: Decimal) -> None:
    with localcontext(prec=100_000):
        within = value <= 1 and (value * 10**10) % 1 == 0
    try:
        read = parse_rate(str(value))
    except AmountError:
        assert not within, value
    else:
        assert within and read == value, value


def test_minus_zero_is_zero() -> None:
    assert str(parse_amount("-0.000")) == "0.00"
    assert str(parse_rate(Decimal("-0"))) == "0"
