"""Review 3: the year's money actions (closing decision, corrections after invoicing) twice in a row and twice
at once on PostgreSQL, with the amounts computed by hand from RULES.md."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from famhp.billing.models import Invoice, InvoiceKind, YearSettings
from famhp.billing.selectors import levy_pending_no_figure
from famhp.billing.services import corrections_apply, year_closing_decide
from famhp.declarations.models import Campaign
from famhp.registry.models import Operator
from tests.billing.test_invoicing import declare
from tests.billing.test_invoicing import year as year  # noqa: PLC0414 - the fixture
from tests.billing.test_year_cycle import levies_out, notices_out
from tests.concurrency import POSTGRESQL, at_once

CORRECTED = datetime.date(2026, 4, 15)


def _decide() -> YearSettings:
    return year_closing_decide(
        year=2025, lowered_rate=Decimal("0.0029438"), decided_on=datetime.date(2026, 2, 1), reference="CA 2026/07"
    )


@POSTGRESQL
@pytest.mark.django_db(transaction=True)
def test_two_closing_decisions_at_once_record_one(year: dict[str, Operator]) -> None:
    notices_out()
    results, errors = at_once(_decide, _decide)
    assert len(results) == 1 and len(errors) == 1 and isinstance(errors[0], ValidationError), errors
    settings = YearSettings.objects.get(year=2025)
    assert (settings.closing_decision, settings.effective_levy_rate) == ("lowered", Decimal("0.0029438"))


def _alpha_corrects(year: dict[str, Operator]) -> None:
    levies_out(lowered="0.0029438")
    # Alpha's levy at the lowered rate (D5): 100,000.00 × 0.0029438 = 294.38
    alpha = Invoice.objects.get(operator=year["a"], kind=InvoiceKind.TURNOVER_LEVY)
    assert alpha.total == Decimal("294.38")
    declare(Campaign.objects.get(year=2025), year["a"], "120000.00", "110000.00")


def _alpha_levies(year: dict[str, Operator]) -> list[tuple[str, Decimal]]:
    return [
        (i.kind, i.total)
        for i in Invoice.objects.filter(operator=year["a"]).exclude(kind=InvoiceKind.ACTIVITY_TAX).order_by("pk")
    ]


# D8: reassessed at the applied (lowered) rate: 110,000.00 × 0.0029438 = 323.818 → 323.82 (half-up); the old
# invoice credited in full (294.38), a new one of 323.82; the activity tax (4 × 415.74 = 1,662.96) unchanged
CORRECTED_LEVIES = [
    (InvoiceKind.TURNOVER_LEVY, Decimal("294.38")),
    (InvoiceKind.CREDIT_NOTE, Decimal("294.38")),
    (InvoiceKind.TURNOVER_LEVY, Decimal("323.82")),
]


@pytest.mark.django_db
def test_a_correction_applied_twice_in_a_row_issues_once(year: dict[str, Operator]) -> None:
    _alpha_corrects(year)
    for _twice in range(2):
        corrections_apply(year=2025, operator=year["a"], issued_on=CORRECTED)
    assert _alpha_levies(year) == CORRECTED_LEVIES
    assert Invoice.objects.get(operator=year["a"], kind=InvoiceKind.ACTIVITY_TAX).total == Decimal("1662.96")


@POSTGRESQL
@pytest.mark.django_db(transaction=True)
def test_a_correction_applied_twice_at_once_issues_once(year: dict[str, Operator]) -> None:
    _alpha_corrects(year)
    results, errors = at_once(
        lambda: corrections_apply(year=2025, operator=year["a"], issued_on=CORRECTED),
        lambda: corrections_apply(year=2025, issued_on=CORRECTED),
    )
    assert not errors, errors
    assert sorted(sum(c.changed for c in done) for done in results) == [0, 1]
    assert _alpha_levies(year) == CORRECTED_LEVIES


@pytest.mark.django_db
def test_a_foreign_non_filer_without_a_figure_pays_activity_tax_and_fine_only(year: dict[str, Operator]) -> None:
    """D9: a company established abroad, active in Belgium, that files nothing and has no FPS Finance figure (it
    has no Belgian enterprise number): the activity tax from the register and the fine are invoiced, the levy
    waits for a figure."""
    from tests.portal.factories import foreign, with_activity

    orthotec = with_activity(foreign("Orthotec GmbH", active=True), role="manufacturer", category="MDR IIa")
    levies_out(lowered="0.0029438")
    # D1: manufacturer MDR IIa = 4 entities, − 1 (not established in Belgium) = 3; 3 × 415.74 = 1,247.22
    notice = Invoice.objects.get(operator=orthotec, kind=InvoiceKind.ACTIVITY_TAX)
    assert notice.total == Decimal("1247.22")
    # D9 + D7: the levy line at 0.00 (pending, no figure), the fine 250.00: 250.00 in all, no interest
    levy = Invoice.objects.get(operator=orthotec, kind=InvoiceKind.TURNOVER_LEVY)
    assert [(line["description"], Decimal(line["amount"])) for line in levy.lines] == [
        ("turnover_levy", Decimal("0.00")),
        ("administrative_fine", Decimal("250.00")),
    ]
    assert levy.total == Decimal("250.00")
    # nothing pending while no figure can come (no enterprise number): no correction issues anything
    assert not any(c.changed for c in corrections_apply(year=2025, operator=orthotec, issued_on=CORRECTED))
    assert orthotec in levy_pending_no_figure(2025)  # the agency's list "levy pending: no figure"


@pytest.mark.django_db
def test_an_fps_figure_corrected_after_invoicing_is_a_pending_correction(year: dict[str, Operator]) -> None:
    """D6, D8: Charlie filed nothing and was assessed from the FPS Finance figure; the FPS Finance corrects it
    (a new file for the year) after the invoice: the invoice no longer rests on the figure known, so the
    correction is pending and, applied, credits and re-issues at the year's applied rate."""
    from famhp.billing.selectors import corrections_pending
    from famhp.billing.services import fps_turnover_import

    levies_out(lowered="0.0029438")
    charlie = year["c"]
    first = Invoice.objects.get(operator=charlie, kind=InvoiceKind.TURNOVER_LEVY)
    # D6 at the lowered rate: 200,000.00 × 0.0029438 = 588.76; fine 250.00; interest (D10) from the deadline
    # 30 June 2025 to the invoice 2 March 2026: July … March = 9 started months × 0.8 % × 588.76 = 42.39072
    # → 42.39; 588.76 + 250.00 + 42.39 = 881.15
    assert first.total == Decimal("881.15")
    data = f"enterprise_number;total_turnover\n{charlie.enterprise_number};150000.00\n".encode()
    assert fps_turnover_import(year=2025, data=data) == (1, [])
    # both of Charlie's invoices rest on the old figure: both are looked at again (the activity tax, from the
    # register, does not change: 3 entities × 415.74 = 1,247.22 stays, nothing is issued for it)
    assert [(p.operator, p.kind) for p in corrections_pending(2025)] == [
        (charlie, InvoiceKind.ACTIVITY_TAX),
        (charlie, InvoiceKind.TURNOVER_LEVY),
    ]
    for _twice in range(2):
        corrections_apply(year=2025, issued_on=CORRECTED)
    # 150,000.00 × 0.0029438 = 441.57; fine 250.00; interest to the first invoice's date, 9 months: 441.57 ×
    # 0.008 × 9 = 31.79304 → 31.79; 441.57 + 250.00 + 31.79 = 723.36
    invoices = Invoice.objects.filter(operator=charlie).order_by("pk")
    assert [(i.kind, i.total) for i in invoices] == [
        (InvoiceKind.ACTIVITY_TAX, Decimal("1247.22")),
        (InvoiceKind.TURNOVER_LEVY, Decimal("881.15")),
        (InvoiceKind.CREDIT_NOTE, Decimal("881.15")),
        (InvoiceKind.TURNOVER_LEVY, Decimal("723.36")),
    ]
    assert corrections_pending(2025) == []
