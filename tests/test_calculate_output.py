"""``famhp calculate`` writes each operator's object straight from the facts of the assessment (issue 15); it is
the very text of the object the library builds from the operator's result, for every branch of the rules."""

from __future__ import annotations

import json
import random
from decimal import Decimal

import pytest
from bench.calculate import SHAPES, build_input

from famhp.rules.assessment import YearAssessment
from famhp.rules.jsonio import _operator_document, _operator_texts, read_document


def with_every_branch(document: dict[str, object], seed: int) -> dict[str, object]:
    """The benchmark's input, with operators turned into the rarer cases: no declaration (D6, D7) exempt or
    not, not liable, foreign, unregistered (D2), the levied turnover at zero and at the total."""
    rng = random.Random(seed)
    operators = document["operators"]
    assert isinstance(operators, list)
    for operator in operators:
        case = rng.randrange(8)
        if case == 0:  # no declaration: the FPS Finance's figure, exempt or not
            for name in ("total_turnover", "levied_turnover"):
                operator.pop(name, None)
            operator["declared"] = False
            operator["fps_total_turnover"] = rng.choice(["0", "12000.50", "2500000.99"])
        elif case == 1:  # not liable (RULES §3)
            operator["established_in_belgium"] = operator["active_in_belgium"] = False
        elif case == 2:  # foreign, active in Belgium
            operator["established_in_belgium"], operator["active_in_belgium"] = False, True
        elif case == 3:  # unregistered (D2)
            operator["registered"], operator["activities"] = False, []
        elif case == 4:
            operator["levied_turnover"] = operator.get("total_turnover", "0")
    parameters = document["parameters"]
    assert isinstance(parameters, dict)
    parameters["administrative_fine"] = "1250.00"
    return document


@pytest.mark.parametrize("shape", SHAPES)
def test_each_operator_text_is_the_json_of_its_result(shape: str) -> None:
    document = with_every_branch(build_input(600, seed=5, shape=shape), seed=5)
    calculation = read_document(json.loads(json.dumps(document), parse_float=Decimal))
    assessment = YearAssessment(parameters=calculation.parameters, operators=calculation.operators)
    texts = list(_operator_texts(assessment))
    expected = [
        json.dumps(_operator_document(result, {}), separators=(",", ":")) for result in assessment.operator_results()
    ]
    assert texts == expected
    decoded = [json.loads(text) for text in texts]
    # every branch was met: not liable, exempt and not, with and without a declaration, unregistered (9 entities)
    assert {(o["liable"], o["exempt"], o["default_assessment"]) for o in decoded} >= {
        (False, False, False),
        (True, True, False),
        (True, False, False),
        (True, True, True),
        (True, False, True),
    }
    assert any(o["entities"] == 9 for o in decoded)
    assert all(o["fine"] == "1250.00" for o in decoded if o["liable"] and o["default_assessment"])
