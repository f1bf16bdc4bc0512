"""Review fixes in billing. D8/D10: the interest on a non-filer's invoice that is corrected ends at the first
invoice's issue date, never the correction's (a correction adds no interest)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from famhp.billing.models import FpsTurnover, InvoiceKind
from famhp.billing.services import assessment_run, invoice_correct, invoices_issue, operator_reassess
from famhp.registry.models import Operator
from tests.billing import test_invoicing
from tests.billing.test_invoicing import confirm_all, decide_not_lowered

pytestmark = pytest.mark.django_db
year = test_invoicing.year  # the fixture: 2025 with Charlie NV, a non-filer with an FPS Finance figure


def test_a_corrected_non_filer_invoice_keeps_the_interest_to_the_first_invoice_date(
    year: dict[str, Operator],
) -> None:
    run, _ = assessment_run(year=2025)
    confirm_all(2025)
    invoices_issue(run=run, kind=InvoiceKind.ACTIVITY_TAX, issued_on=datetime.date(2025, 12, 1))
    run = decide_not_lowered(2025)
    levies = invoices_issue(run=run, kind=InvoiceKind.TURNOVER_LEVY, issued_on=datetime.date(2026, 3, 2))
    charlie = next(i for i in levies if i.operator == year["c"])
    # a new FPS Finance figure for Charlie: 300,000.00 × 0.3073 % = 921.90
    FpsTurnover.objects.filter(year=2025, enterprise_number=str(year["c"].enterprise_number)).update(
        total_turnover=Decimal("300000.00")
    )
    result = operator_reassess(run=run, operator=year["c"])
    _credit, new = invoice_correct(
        invoice=charlie, result=result, reason="new FPS figure", issued_on=datetime.date(2026, 6, 15)
    )
    # D10 from the declaration deadline (30 June 2025) to the FIRST invoice (2 March 2026): July to March = 9
    # started months × 0.8 % × 921.90 = 66.3768 → 66.38 (to the correction's date, 15 June 2026, it would be
    # 12 months: 88.50)
    assert [(line["description"], line["amount"]) for line in new.lines] == [
        ("turnover_levy", "921.90"),
        ("administrative_fine", "250.00"),
        ("late_interest", "66.38"),
    ]
    # corrected once more: still to the first invoice's date, 9 × 0.8 % × 921.90 = 66.38 again
    _credit, again = invoice_correct(
        invoice=new, result=result, reason="corrected again", issued_on=datetime.date(2026, 9, 1)
    )
    assert [(line["description"], line["amount"]) for line in again.lines][-1] == ("late_interest", "66.38")
