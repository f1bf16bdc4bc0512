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
from famhp.rules.entities import EntityCount, count_entities, entity_table
from famhp.rules.errors import InvalidInput, Problem
from famhp.rules.explanation import Line
from famhp.rules.parameters import YearParameters, builtin_years, resolve_parameters

__all__ = [
    "RULES_VERSION",
    "Activity",
    "EntityCount",
    "InvalidInput",
    "Line",
    "Operator",
    "OperatorResult",
    "Problem",
    "YearAssessment",
    "YearParameters",
    "YearResult",
    "assess_year",
    "builtin_years",
    "count_entities",
    "entity_table",
    "is_exempt",
    "is_liable",
    "resolve_parameters",
]
