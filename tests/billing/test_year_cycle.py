"""The year's life cycle (ADR 11): the closing decision (D5), corrections after invoicing (D8), non-filers without a
figure (D9), no double billing (ADR 8). Amounts computed by hand from RULES.md.

The fixture year (tests/billing/test_invoicing.py): 2025, cost per entity 415.74, maximum rate 0.003073, fine
250.00 (an assumption of the tests), interest 0.8 % per started month; Alpha (4 entities, declared 100,000.00),
Bravo (1 entity, 30,000.00: exempt), Charlie (3 entities, no declaration, FPS figure 200,000.00: D6), Delta
(3 entities, no declaration, no FPS figure: D9), Echo (not liable)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from famhp.billing.models import AssessmentRun, FpsTurnover, Invoice, InvoiceKind, YearSettings, YearState
from famhp.billing.selectors import corrections_pending, levy_pending_no_figure, year_state
from famhp.billing.services import (
    assessment_run,
    corrections_apply,
    credit_note_issue,
    invoices_issue,
    year_close,
    year_closing_decide,
)
from famhp.billing.services.invoices import FINE_STAYS
from famhp.declarations.models import Campaign
from famhp.registry.models import Operator
from tests.billing.test_invoicing import confirm_all, declare
from tests.billing.test_invoicing import year as year  # noqa: PLC0414 - the fixture
from tests.concurrency import POSTGRESQL, at_once

pytestmark = pytest.mark.django_db
NOTICES = datetime.date(2025, 12, 1)
LEVIES = datetime.date(2026, 3, 2)
CORRECTED = datetime.date(2026, 4, 15)


def notices_out() -> AssessmentRun:
    run, _ = assessment_run(year=2025)
    confirm_all(2025)
    invoices_issue(run=run, kind=InvoiceKind.ACTIVITY_TAX, issued_on=NOTICES)
    return run


def decide(lowered: str | None = None) -> AssessmentRun:
    year_closing_decide(
        year=2025,
        lowered_rate=None if lowered is None else Decimal(lowered),
        decided_on=datetime.date(2026, 2, 1),
        reference="Board decision 2026/07",
    )
    return assessment_run(year=2025)[0]


def levies_out(lowered: str | None = None) -> list[Invoice]:
    notices_out()
    run = decide(lowered)
    return invoices_issue(run=run, kind=InvoiceKind.TURNOVER_LEVY, issued_on=LEVIES)


def lines(invoice: Invoice) -> list[tuple[str, str, str]]:
    return [(line["description"], line["amount"], line["rule"]) for line in invoice.lines]


# --- the closing decision (D5) ------------------------------------------------------------------------------


def test_levy_invoices_are_refused_before_the_closing_decision_naming_it(year: dict[str, Operator]) -> None:
    run = notices_out()
    with pytest.raises(ValidationError) as raised:
        invoices_issue(run=run, kind=InvoiceKind.TURNOVER_LEVY)
    assert "closing decision" in str(raised.value)
    assert not Invoice.objects.filter(kind=InvoiceKind.TURNOVER_LEVY).exists()
    year_closing_decide(year=2025, lowered_rate=None, decided_on=datetime.date(2026, 2, 1), reference="X")
    with pytest.raises(ValidationError) as raised:  # the run predates the decision: rerun first
        invoices_issue(run=run, kind=InvoiceKind.TURNOVER_LEVY)
    assert "before the closing decision" in str(raised.value)


def test_a_lowered_rate_is_applied_to_the_levy_and_not_to_the_issued_notices(year: dict[str, Operator]) -> None:
    levies = levies_out(lowered="0.0029438")  # 0.29438 %: 10 decimals kept
    settings = YearSettings.objects.get(year=2025)
    assert (settings.closing_decision, settings.effective_levy_rate) == ("lowered", Decimal("0.0029438"))
    assert "effective_levy_rate" in settings.confirmed
    # Alpha: 100,000.00 × 0.0029438 = 294.38. Charlie (D6): 200,000.00 × 0.0029438 = 588.76, fine 250.00,
    # interest 9 started months (July 2025 to March 2026) × 0.8 % × 588.76 = 42.39072 → 42.39: 881.15.
    assert [(i.operator.name, i.total) for i in levies] == [
        ("Alpha NV", Decimal("294.38")),
        ("Charlie NV", Decimal("881.15")),
        ("Delta NV", Decimal("250.00")),
    ]
    assert lines(levies[1]) == [
        ("turnover_levy", "588.76", "D5"),
        ("administrative_fine", "250.00", "D7"),
        ("late_interest", "42.39", "D10"),
    ]
    # the rerun after the notices kept the fixed cost per entity: the notices are the ones issued on 1 December
    notices = Invoice.objects.filter(kind=InvoiceKind.ACTIVITY_TAX).order_by("sequence")
    assert [(i.issued_on, i.total) for i in notices][:1] == [(NOTICES, Decimal("1662.96"))]  # 4 × 415.74
    assert notices.count() == 4


def test_the_closing_decision_is_recorded_once_and_never_above_the_maximum(year: dict[str, Operator]) -> None:
    with pytest.raises(ValidationError) as raised:
        year_closing_decide(
            year=2025, lowered_rate=Decimal("0.0031"), decided_on=datetime.date(2026, 2, 1), reference="X"
        )
    assert "above the maximum" in str(raised.value)
    with pytest.raises(ValidationError):
        year_closing_decide(year=2025, lowered_rate=None, decided_on=datetime.date(2026, 2, 1), reference=" ")
    assert YearSettings.objects.get(year=2025).closing_decision == ""
    year_closing_decide(year=2025, lowered_rate=None, decided_on=datetime.date(2026, 2, 1), reference="CA 1")
    with pytest.raises(ValidationError) as raised:
        year_closing_decide(
            year=2025, lowered_rate=Decimal("0.002"), decided_on=datetime.date(2026, 3, 1), reference="CA 2"
        )
    assert "already recorded" in str(raised.value)
    settings = YearSettings.objects.get(year=2025)
    assert (settings.closing_decision, settings.effective_levy_rate, settings.closing_reference) == (
        "not_lowered",
        None,
        "CA 1",
    )


def test_without_a_maximum_the_lowered_rate_stays_at_most_the_computed_rate(year: dict[str, Operator]) -> None:
    # no maximum: the budget alone sets the rate (D5); 1,320.00 keeps it near the real ones for this small sector
    YearSettings.objects.filter(year=2025).update(max_levy_rate=None, budget=Decimal("1320.00"))
    decided = datetime.date(2026, 2, 1)
    # no maximum and no run: nothing to lower from, so "0.29438" (meant as 0.29438 %, read as 29 %) is refused
    with pytest.raises(ValidationError, match="no maximum rate and no computed levy rate yet"):
        year_closing_decide(year=2025, lowered_rate=Decimal("0.29438"), decided_on=decided, reference="CA 1")
    confirm_all(2025)
    run, _changes = assessment_run(year=2025)
    computed = Decimal(run.summary["levy_rate"])
    above = computed + Decimal("0.0000001")
    with pytest.raises(ValidationError, match=r"above the rate .* the assessment of 2025 computed"):
        year_closing_decide(year=2025, lowered_rate=above, decided_on=decided, reference="CA 1")
    assert YearSettings.objects.get(year=2025).closing_decision == ""
    settings = year_closing_decide(year=2025, lowered_rate=computed, decided_on=decided, reference="CA 1")
    assert (settings.closing_decision, settings.effective_levy_rate) == ("lowered", computed)


# --- corrections after invoicing (D8) ----------------------------------------------------------------------


def test_a_correction_that_changes_an_amount_credits_and_rebills(year: dict[str, Operator]) -> None:
    levies_out()
    declare(Campaign.objects.get(year=2025), year["a"], "120000.00", "120000.00")
    assert [(p.operator.name, p.kind) for p in corrections_pending(2025)] == [
        ("Alpha NV", InvoiceKind.ACTIVITY_TAX),
        ("Alpha NV", InvoiceKind.TURNOVER_LEVY),
    ]
    done = corrections_apply(year=2025, issued_on=CORRECTED)
    # the activity tax is 4 × 415.74 whatever the turnover: nothing is issued for it
    assert [(c.kind, c.changed) for c in done] == [(InvoiceKind.ACTIVITY_TAX, False), (InvoiceKind.TURNOVER_LEVY, True)]
    credit, new = done[1].credit_note, done[1].invoice
    assert credit is not None and new is not None and credit.credits is not None
    # 100,000.00 × 0.003073 = 307.30 credited; 120,000.00 × 0.003073 = 368.76 billed
    assert (credit.number, credit.total, credit.credits.number) == ("CN2025-000001", Decimal("307.30"), "TL2025-000001")
    assert (new.number, new.total, new.follows) == ("TL2025-000004", Decimal("368.76"), credit)
    assert new.number in credit.reason and credit.number in new.reason and "TL2025-000001" in new.reason
    assert credit.declaration_version == new.declaration_version
    assert new.declaration_version is not None and new.declaration_version.number == 2
    assert corrections_pending(2025) == []
    assert corrections_apply(year=2025) == []  # a second time: nothing pending, nothing issued


def test_a_correction_that_changes_nothing_issues_nothing(year: dict[str, Operator]) -> None:
    levies_out()
    before = Invoice.objects.count()
    declare(Campaign.objects.get(year=2025), year["b"], "30000.00", "30000.00")  # the same figures again
    assert [p.operator.name for p in corrections_pending(2025)] == ["Bravo BV"]
    done = corrections_apply(year=2025)
    assert [(c.operator.name, c.kind, c.changed) for c in done] == [("Bravo BV", InvoiceKind.ACTIVITY_TAX, False)]
    assert Invoice.objects.count() == before
    assert corrections_pending(2025) == []  # reassessed: no longer pending


def test_a_late_declaration_replaces_the_default_assessment_and_the_fine_stays(year: dict[str, Operator]) -> None:
    levies = levies_out()
    default = levies[1]
    assert default.total == Decimal("908.85")  # 614.60 + 250.00 + 44.25 (test_invoicing)
    declare(Campaign.objects.get(year=2025), year["c"], "100000.00", "100000.00")
    (levy,) = [c for c in corrections_apply(year=2025, issued_on=CORRECTED) if c.changed]
    assert levy.credit_note is not None and levy.invoice is not None
    assert (levy.credit_note.credits, levy.credit_note.total) == (default, Decimal("908.85"))
    # a normal invoice: 100,000.00 × 0.003073 = 307.30, no interest; the fine 250.00 stays (D8): 557.30
    assert lines(levy.invoice) == [("turnover_levy", "307.30", "D5"), ("administrative_fine", "250.00", "D8")]
    assert levy.invoice.total == Decimal("557.30")
    fine_explanation = levy.invoice.lines[1]["explanation"]
    assert ["D8", FINE_STAYS, {}] in fine_explanation and "interpretation" in FINE_STAYS
    assert not levy.invoice.assessment.default_assessment  # type: ignore[union-attr]


def test_issue_after_a_credit_note_never_rebills_an_old_default_assessment(year: dict[str, Operator]) -> None:
    levies = levies_out()
    run = AssessmentRun.objects.filter(year=2025, corrects=None).latest("pk")
    declare(Campaign.objects.get(year=2025), year["c"], "100000.00", "100000.00")
    credit_note_issue(invoice=levies[1], reason="declared late")
    assert invoices_issue(run=run, kind=InvoiceKind.TURNOVER_LEVY) == []  # not the default again
    # the notice (activity tax) and the credited levy invoice wait for a correction
    assert [(p.operator.name, p.invoice.kind) for p in corrections_pending(2025)] == [
        ("Charlie NV", InvoiceKind.ACTIVITY_TAX),
        ("Charlie NV", InvoiceKind.CREDIT_NOTE),
    ]
    pending = corrections_pending(2025)[1]
    (done,) = [c for c in corrections_apply(year=2025) if c.changed]
    assert done.invoice is not None and done.credit_note is None
    assert (done.invoice.total, done.invoice.follows) == (Decimal("557.30"), pending.invoice)  # 307.30 + 250.00


# --- non-filers without a figure (D9) ----------------------------------------------------------------------


def test_a_non_filer_without_a_figure_pays_activity_tax_and_fine_and_is_listed(year: dict[str, Operator]) -> None:
    levies_out()
    assert levy_pending_no_figure(2025) == [year["d"]]
    delta = Invoice.objects.filter(operator=year["d"]).order_by("kind")
    # 3 entities × 415.74 = 1247.22; the fine 250.00 alone on the levy invoice
    assert [(i.kind, i.total) for i in delta] == [
        (InvoiceKind.ACTIVITY_TAX, Decimal("1247.22")),
        (InvoiceKind.TURNOVER_LEVY, Decimal("250.00")),
    ]
    out = StringIO()
    call_command("billing", "status", "--year", "2025", stdout=out)
    assert "levy pending: no figure (D9): 1" in out.getvalue() and year["d"].name in out.getvalue()
    declare(Campaign.objects.get(year=2025), year["d"], "60000.00", "60000.00")  # a figure at last, late
    assert levy_pending_no_figure(2025) == []
    (levy,) = [c for c in corrections_apply(year=2025, operator=year["d"]) if c.changed]
    # 60,000.00 × 0.003073 = 184.38, and the fine stays: 434.38
    assert levy.invoice is not None and levy.invoice.total == Decimal("434.38")


# --- the state of the year, the commands --------------------------------------------------------------------


def test_the_year_walks_its_life_cycle(year: dict[str, Operator]) -> None:
    assert year_state(2025) == YearState.DECLARATIONS
    notices_out()
    assert year_state(2025) == YearState.ACTIVITY_TAX_NOTICES
    run = decide("0.003")
    assert year_state(2025) == YearState.CLOSING_DECIDED
    invoices_issue(run=run, kind=InvoiceKind.TURNOVER_LEVY)
    assert year_state(2025) == YearState.LEVY_INVOICED
    declare(Campaign.objects.get(year=2025), year["a"], "90000.00", "90000.00")
    assert year_state(2025) == YearState.CORRECTIONS
    with pytest.raises(ValidationError):
        year_close(year=2025)  # a correction is pending
    corrections_apply(year=2025)
    year_close(year=2025, closed_on=datetime.date(2026, 6, 30))
    assert year_state(2025) == YearState.CLOSED
    # closed: no correction is made any more, so no credit note either (it could never be followed by a new invoice)
    live = Invoice.objects.filter(year=2025, kind=InvoiceKind.TURNOVER_LEVY, credit_notes=None).first()
    assert live is not None
    notes = Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).count()
    with pytest.raises(ValidationError, match="2025 was closed on 2026-06-30: its invoices are no longer credited"):
        credit_note_issue(invoice=live, reason="written off")
    assert Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).count() == notes


def test_the_commands_record_the_decision_and_correct(year: dict[str, Operator]) -> None:
    notices_out()
    out = StringIO()
    call_command(
        "billing", "closing", "--year", "2025", "--lowered", "0.0029438", "--date", "2026-02-01",
        "--reference", "CA 7", stdout=out,
    )  # fmt: skip
    assert "0.0029438" in out.getvalue()
    call_command("billing", "run", "--year", "2025", stdout=out)
    call_command("billing", "issue", "--year", "2025", "--kind", "turnover_levy", stdout=out)
    declare(Campaign.objects.get(year=2025), year["a"], "60000.00", "60000.00")
    call_command("billing", "correct", "--year", "2025", "--operator", year["a"].identifier, stdout=out)
    # 60,000.00 × 0.0029438 = 176.628 → 176.63 replaces 294.38
    assert "1 corrected" in out.getvalue()
    assert Invoice.objects.filter(
        operator=year["a"], kind=InvoiceKind.TURNOVER_LEVY, credit_notes=None
    ).get().total == (Decimal("176.63"))
    status = StringIO()
    call_command("billing", "status", "--year", "2025", stdout=status)
    assert "corrections after invoicing" in status.getvalue().lower()


def test_the_admin_shows_the_state_and_records_the_decision(year: dict[str, Operator], admin_client: Any) -> None:
    notices_out()
    page = admin_client.get("/admin/billing/yearsettings/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and "4. activity-tax notices issued" in page.content.decode()
    status = admin_client.get("/admin/billing/yearsettings/2025/status/")
    assert status.status_code == 200 and "Delta NV" in status.content.decode()
    form = {"decision": "lowered", "lowered_rate": "0.0029438", "decided_on": "2026-02-01", "reference": "CA 9"}
    assert admin_client.post("/admin/billing/yearsettings/2025/closing/", form).status_code == 200  # not confirmed
    assert YearSettings.objects.get(year=2025).closing_decision == ""
    admin_client.post("/admin/billing/yearsettings/2025/closing/", {**form, "confirm": "on"})
    assert YearSettings.objects.get(year=2025).effective_levy_rate == Decimal("0.0029438")


# --- no double billing (ADR 8) ----------------------------------------------------------------------------


def test_the_same_issue_twice_bills_once(year: dict[str, Operator]) -> None:
    run = notices_out()
    assert invoices_issue(run=run, kind=InvoiceKind.ACTIVITY_TAX) == []
    assert Invoice.objects.filter(kind=InvoiceKind.ACTIVITY_TAX).count() == 4


def test_the_database_refuses_a_second_live_invoice(year: dict[str, Operator]) -> None:
    from django.db import IntegrityError, transaction

    notices_out()
    first = Invoice.objects.filter(kind=InvoiceKind.ACTIVITY_TAX).first()
    assert first is not None
    copy = {f.attname: getattr(first, f.attname) for f in Invoice._meta.concrete_fields if f.attname != "id"}
    copy.update(sequence=99, number="AT2025-000099", structured_communication="251000009940")
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.create(**copy)


postgresql_only = POSTGRESQL


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_two_issues_at_once_bill_each_operator_once_without_gaps(
    year: dict[str, Operator], facts_purged_after: None
) -> None:
    run, _ = assessment_run(year=2025)
    confirm_all(2025)
    results, errors = at_once(
        lambda: invoices_issue(run=run, kind=InvoiceKind.ACTIVITY_TAX, batch=1),
        lambda: invoices_issue(run=run, kind=InvoiceKind.ACTIVITY_TAX, batch=1),
    )
    assert not errors, errors
    notices = Invoice.objects.filter(kind=InvoiceKind.ACTIVITY_TAX)
    assert sorted(notices.values_list("operator__name", flat=True)) == [
        "Alpha NV",
        "Bravo BV",
        "Charlie NV",
        "Delta NV",
    ]
    assert sorted(notices.values_list("sequence", flat=True)) == [1, 2, 3, 4]
    assert sum(len(r) for r in results) == 4


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_two_credits_at_once_make_one_credit_note(year: dict[str, Operator], facts_purged_after: None) -> None:
    run, _ = assessment_run(year=2025)
    confirm_all(2025)
    invoice = invoices_issue(run=run, kind=InvoiceKind.ACTIVITY_TAX)[0]
    results, errors = at_once(
        lambda: credit_note_issue(invoice=invoice, reason="twice"),
        lambda: credit_note_issue(invoice=invoice, reason="twice"),
    )
    assert len(results) == 1 and len(errors) == 1 and isinstance(errors[0], ValidationError)  # "already credited"
    assert Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).count() == 1


def test_unconfirmed_interest_blocks_only_where_interest_would_show(year: dict[str, Operator]) -> None:
    FpsTurnover.objects.all().delete()  # Charlie is then a D9 non-filer too: no levy, so no interest anywhere
    # unconfirmed before the notices: once an invoice of the year exists, a confirmed parameter stays confirmed
    # (YearSettings.fixed_changes; the database refuses it too)
    settings = YearSettings.objects.get(year=2025)
    settings.confirmed = [n for n in settings.confirmed if n != "late_interest_period"]
    settings.save()
    notices_out()
    run = decide()
    assert [i.operator.name for i in invoices_issue(run=run, kind=InvoiceKind.TURNOVER_LEVY)] == [
        "Alpha NV",
        "Charlie NV",
        "Delta NV",
    ]


def test_an_exempt_operator_that_corrects_above_the_threshold_gets_its_first_levy_invoice(
    year: dict[str, Operator],
) -> None:
    levies_out()
    assert not Invoice.objects.filter(operator=year["b"], kind=InvoiceKind.TURNOVER_LEVY).exists()  # exempt
    declare(Campaign.objects.get(year=2025), year["b"], "80000.00", "80000.00")
    done = [c for c in corrections_apply(year=2025) if c.changed]
    # 80,000.00 is not below 50,290.17: 80,000.00 × 0.003073 = 245.84; the activity tax (1 × 415.74) is unchanged
    assert [(c.kind, c.credit_note, c.invoice.total if c.invoice else None) for c in done] == [
        (InvoiceKind.TURNOVER_LEVY, None, Decimal("245.84"))
    ]
    assert corrections_pending(2025) == []


def test_the_closing_page_needs_manage_year_and_the_status_page_a_view(year: dict[str, Operator]) -> None:
    from famhp.accounts.roles import AUDITOR, FINANCE_OFFICER
    from tests.accounts.conftest import staff, staff_client

    auditor, officer = staff_client(staff("auditor", AUDITOR)), staff_client(staff("officer", FINANCE_OFFICER))
    assert auditor.get("/admin/billing/yearsettings/2025/closing/").status_code == 403
    assert auditor.get("/admin/billing/yearsettings/2025/status/").status_code == 200
    assert officer.get("/admin/billing/yearsettings/2025/closing/").status_code == 200
    form = {"decision": "not_lowered", "decided_on": "2026-02-01", "reference": "CA 3", "confirm": "on"}
    assert auditor.post("/admin/billing/yearsettings/2025/closing/", form).status_code == 403
    assert YearSettings.objects.get(year=2025).closing_decision == ""
