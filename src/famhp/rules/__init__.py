"""The FAMHP medical-device contribution as code: pure Python, no Django, no clock, no database.

Law of 20 July 2006 on the creation and operation of the FAMHP: turnover levy art. 14/2–14/6 and annex I.1;
annual contribution of economic operators (activity tax) art. 14/9 and annex IX chapter III. The rules as this
project reads them, with every interpretation numbered D1…, are in shared/domain/RULES.md.
"""

from famhp.rules.assessment import (
    RULES_VERSION,
    Activity,
    Operator,
    OperatorResult,
    YearAssessment,
    YearResult,
    assess_year,
    is_exempt,
    is_liable,
)
from famhp.rules.entities import EntityCount, EntityTable, count_entities, entity_table, entity_table_for
from famhp.rules.errors import InvalidInput, Problem
from famhp.rules.explanation import Line
from famhp.rules.parameters import YearParameters, builtin_years, resolve_parameters
from famhp.rules.rates import applied_levy_rate, computed_levy_rate
from famhp.rules.sanctions import INTEREST_PERIODS, Interest, interest_due

__all__ = [
    "INTEREST_PERIODS",
    "RULES_VERSION",
    "Activity",
    "EntityCount",
    "EntityTable",
    "Interest",
    "InvalidInput",
    "Line",
    "Operator",
    "OperatorResult",
    "Problem",
    "YearAssessment",
    "YearParameters",
    "YearResult",
    "applied_levy_rate",
    "assess_year",
    "builtin_years",
    "computed_levy_rate",
    "count_entities",
    "entity_table",
    "entity_table_for",
    "interest_due",
    "is_exempt",
    "is_liable",
    "resolve_parameters",
]
