"""The demo year shows the agency's side of the life cycle (ADR 11): a closing decision with a lowered rate, a
correction after invoicing with its credit note, and a foreign non-filer invoiced for activity tax and fine."""

from __future__ import annotations

from decimal import Decimal

import pytest

from famhp.billing.models import Invoice, InvoiceKind, YearSettings
from famhp.billing.selectors import levy_pending_no_figure
from famhp.demo import DEMO_FINE, YEAR, load_demo

pytestmark = pytest.mark.django_db


def test_the_demo_year_closes_corrects_and_bills_a_foreign_non_filer() -> None:
    load_demo(count=40)
    settings = YearSettings.objects.get(year=YEAR)
    assert (settings.closing_decision, settings.effective_levy_rate) == ("lowered", Decimal("0.0029438"))
    assert settings.closing_reference and settings.closing_decided_on

    # every turnover-levy invoice of a declared, non-exempt operator applies the lowered rate (D5)
    levy = Invoice.objects.filter(kind=InvoiceKind.TURNOVER_LEVY, follows=None).exclude(total=0).first()
    assert levy is not None and levy.parameters["effective_levy_rate"]["value"] == "0.0029438"

    (credit,) = Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE)
    assert credit.credits is not None
    new = credit.followed_by.get()
    assert new.declaration_version == credit.declaration_version and new.declaration_version is not None
    assert new.declaration_version.number == 2
    # the correction adds 10,000.00 to the levied turnover: 10,000.00 × 0.0029438 = 29.438 → 29.44 more (±0.01)
    assert abs(new.total - credit.credits.total - Decimal("29.44")) <= Decimal("0.01")

    foreign = [o for o in levy_pending_no_figure(YEAR) if not o.established_in_belgium]
    assert foreign, "a foreign non-filer without any figure"
    kinds = {i.kind: i for i in Invoice.objects.filter(operator=foreign[0])}
    assert kinds[InvoiceKind.ACTIVITY_TAX].total > 0
    fine = [line for line in kinds[InvoiceKind.TURNOVER_LEVY].lines if line["description"] == "administrative_fine"]
    assert [Decimal(line["amount"]) for line in fine] == [DEMO_FINE]


def test_the_whole_demo_of_make_demo_loads() -> None:
    """`make demo` loads 320 operators: every declaration the demo submits passes the portal's own checks (a
    correction below the threshold ticks the FAQ 6 box), and the year is billed."""
    summary = load_demo()
    assert summary.operators == 320
    assert Invoice.objects.filter(year=YEAR, kind=InvoiceKind.CREDIT_NOTE).exists()
