"""The streamed JSON of ``famhp calculate`` is exactly the document the library builds in memory."""

from __future__ import annotations

import io
import json
from decimal import Decimal

from bench.calculate import build_input

from famhp.rules.assessment import YearAssessment, assess_year
from famhp.rules.jsonio import read_document, result_document, write_result


def test_streamed_output_equals_the_in_memory_document() -> None:
    document = json.loads(json.dumps(build_input(2_500, seed=7)), parse_float=Decimal)
    calculation = read_document(document)
    expected = result_document(assess_year(parameters=calculation.parameters, operators=calculation.operators))
    out = io.StringIO()
    # A small chunk so that the batches' joins are exercised too.
    write_result(YearAssessment(parameters=calculation.parameters, operators=calculation.operators), out.write, 7)
    streamed = json.loads(out.getvalue())
    assert streamed == expected
    assert list(streamed) == list(expected)  # same key order
    assert [list(o) for o in streamed["operators"]] == [list(o) for o in expected["operators"]]
    assert len(streamed["operators"]) == 2_500


def test_shared_lines_render_the_same_as_fresh_ones() -> None:
    document = json.loads(json.dumps(build_input(500, seed=11)), parse_float=Decimal)
    calculation = read_document(document)
    assessment = YearAssessment(parameters=calculation.parameters, operators=calculation.operators)
    for result in assessment.operator_results():
        for line in result.explanation:
            assert line.render() == line.template.format(**line.args)
            assert line.render().endswith(")."), line.render()
