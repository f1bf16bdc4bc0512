"""Review fixes in billing. D8/D10: the interest on a non-filer's invoice that is corrected ends at the first
invoice's issue date, never the correction's (a correction adds no interest). D3/D8: the confirmed parameters
that fixed a year's invoice amounts cannot change once the year is invoiced."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict
from django.urls import reverse
from django.utils import translation

from famhp.accounts.roles import FINANCE_OFFICER
from famhp.billing.models import FpsTurnover, Invoice, InvoiceKind, YearSettings
from famhp.billing.services import (
    assessment_run,
    credit_note_issue,
    invoice_correct,
    invoices_issue,
    operator_reassess,
)
from famhp.registry.models import Operator
from tests.accounts.conftest import staff, staff_client
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


def test_confirmed_amount_parameters_are_fixed_once_the_year_is_invoiced(year: dict[str, Operator]) -> None:
    """D3 (FAQ 5), D8, ADR 11: the finance officer cannot change the cost per entity after the notices, on the
    admin page nor through the model's check; a parameter still unconfirmed (the interest terms) can be set."""
    run, _ = assessment_run(year=2025)
    confirm_all(2025)
    settings = YearSettings.objects.get(year=2025)
    settings.confirmed = [n for n in settings.confirmed if not n.startswith("late_interest")]
    settings.save()
    invoices_issue(run=run, kind=InvoiceKind.ACTIVITY_TAX, issued_on=datetime.date(2025, 12, 1))
    client = staff_client(staff("finance", FINANCE_OFFICER))
    url = reverse("admin:billing_yearsettings_change", args=[settings.pk])
    page = client.get(url).content.decode()
    assert 'name="cost_per_entity"' not in page and 'name="budget"' not in page
    assert 'name="late_interest_rate"' in page  # unconfirmed: still set by the agency
    data = {k: "" if v is None else v for k, v in model_to_dict(settings).items() if k != "id"}
    data["confirmed"] = json.dumps(settings.confirmed)
    for _twice in range(2):
        client.post(url, {**data, "cost_per_entity": "999.99", "year": "2024"})
        settings.refresh_from_db()
        assert (settings.year, settings.cost_per_entity) == (2025, Decimal("415.74"))
    # taking a confirmation back: refused with a clear message, nothing changed
    unconfirmed = [n for n in settings.confirmed if n != "cost_per_entity"]
    answer = client.post(url, {**data, "confirmed": json.dumps(unconfirmed)})
    assert answer.status_code == 200
    assert "these confirmed parameters fixed their amounts and can no longer change: cost_per_entity" in (
        answer.content.decode()
    )
    settings.refresh_from_db()
    assert "cost_per_entity" in settings.confirmed
    # any other path that validates the model: refused too
    settings.cost_per_entity = Decimal("999.99")
    with pytest.raises(ValidationError, match="cost_per_entity"):
        settings.full_clean()
    settings.refresh_from_db()
    settings.late_interest_rate = Decimal("0.0080000000")
    settings.confirmed = [*settings.confirmed, "late_interest_rate", "late_interest_period", "late_interest_base"]
    settings.full_clean()


def test_a_credit_note_reason_is_one_line_of_plain_text(year: dict[str, Operator]) -> None:
    """The reason is printed on the credit note, its PDF, its UBL and its e-mail: no line break, no NUL byte, at
    most 500 characters; a clear message, nothing issued."""
    run, _ = assessment_run(year=2025)
    confirm_all(2025)
    notice = invoices_issue(run=run, kind=InvoiceKind.ACTIVITY_TAX, issued_on=datetime.date(2025, 12, 1))[0]
    with translation.override("en"):
        cases = [("a\nb\x00", "remove a NUL byte, a line break"), ("x" * 501, "501 characters, at most 500")]
        for reason, problem in cases:
            with pytest.raises(ValidationError, match=problem):
                credit_note_issue(invoice=notice, reason=reason)
        client = staff_client(staff("finance", FINANCE_OFFICER))
        answer = client.post(reverse("workplace:credit", args=[notice.pk]), {"reason": "a\nb\x00"}, follow=True)
    assert answer.status_code == 200
    assert "This field is one line of plain text: remove a NUL byte, a line break." in answer.content.decode()
    assert not Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).exists()
    note = credit_note_issue(invoice=notice, reason="x" * 500)  # at the limit: issued
    assert note.credits == notice
