"""Review fixes in payments. D8/D10/D12: a paid invoice that is corrected (credit note + new invoice, chained by
``follows``/``credits``) carries its payments to the new invoice at their original booking dates, up to the
new invoice's total; the surplus stays account credit."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from famhp.accounts.roles import FINANCE_OFFICER
from famhp.billing.models import Invoice, YearSettings
from famhp.billing.ogm import structured_communication
from famhp.billing.services import credit_note_issue
from famhp.payments.models import Allocation, BankLine, Refund
from famhp.payments.samples import Payment, coda
from famhp.payments.selectors import (
    account_statement,
    invoice_rows,
    invoice_status,
    overdue_by_operator,
    paid_so_far,
    refundable,
)
from famhp.payments.services import payment_allocate, refund_record, reminders_send, statement_import
from famhp.registry.models import Operator
from famhp.workplace.selectors import money_figures
from tests.accounts.conftest import staff, staff_client
from tests.portal.factories import belgian, invoice_for

pytestmark = pytest.mark.django_db
PAID_ON = datetime.date(2025, 12, 20)  # before the first invoice's due date, 31 December 2025
CORRECTED_ON = datetime.date(2026, 2, 1)
NEW_DUE = datetime.date(2026, 3, 3)
TODAY = datetime.date(2026, 4, 10)


@pytest.fixture
def medilab() -> Operator:
    YearSettings.objects.create(
        year=2025,
        activity_tax_share=Decimal("0.25"),
        exemption_threshold=Decimal("50290.17"),
        late_interest_rate=Decimal("0.008"),
        late_interest_period="started_month",
        late_interest_base="contribution",
        confirmed=["late_interest_rate", "late_interest_period", "late_interest_base"],
    )
    return belgian("Medilab NV", language="nl", email="boekhouding@medilab.example")


def paid_on_time(operator: Operator) -> Invoice:
    first = invoice_for(operator, "1000.00", year=2025, due=datetime.date(2025, 12, 31))
    payment = Payment(Decimal("1000.00"), structured=first.structured_communication, booked=PAID_ON)
    statement_import(data=coda([payment], day=PAID_ON), name="paid.cod")
    return first


def corrected(invoice: Invoice, total: str, *, sequence: int) -> Invoice:
    """D8: the invoice credited in full and a new one issued that follows the credit note."""
    note = credit_note_issue(invoice=invoice, reason="corrected declaration", issued_on=CORRECTED_ON)
    return following(note, invoice, total, sequence=sequence)


def following(
    note: Invoice,
    invoice: Invoice,
    total: str,
    *,
    sequence: int,
    issued_on: datetime.date = CORRECTED_ON,
    due_on: datetime.date = NEW_DUE,
) -> Invoice:
    """The invoice of ``total`` that follows ``note``, the credit note of ``invoice`` (D8: its chain)."""
    return Invoice.objects.create(
        year=invoice.year,
        kind=invoice.kind,
        number=f"AT{invoice.year}-{sequence:06d}",
        sequence=sequence,
        structured_communication=structured_communication(year=invoice.year, kind=invoice.kind, sequence=sequence),
        operator=invoice.operator,
        debtor=invoice.debtor,
        language=invoice.language,
        issued_on=issued_on,
        due_on=due_on,
        total=Decimal(total),
        lines=[{"description": "activity_tax", "amount": total, "rule": "D3", "explanation": []}],
        parameters={},
        rules_version="test",
        follows=note,
    )


def test_a_paid_invoice_corrected_upwards_owes_only_the_difference(medilab: Operator) -> None:
    first = paid_on_time(medilab)
    new = corrected(first, "1200.00", sequence=2)
    for _twice in range(2):
        assert paid_so_far([new]) == {new.pk: [(PAID_ON, Decimal("1000.00"))]}
        assert invoice_status(new) == "partly_paid" and invoice_status(first) == "credited"
        rows = {row.invoice.pk: row for row in invoice_rows(medilab)}
        # 1200.00 − 1000.00 paid on time = 200.00 open
        assert (rows[new.pk].status, rows[new.pk].open) == ("partly_paid", Decimal("200.00"))
        assert rows[first.pk].open == Decimal(0)
        statement = account_statement(medilab, today=TODAY)
        # 1000.00 − 1000.00 (credit note) + 1200.00 − 1000.00 (payment) = 200.00, as before the fix in meaning
        assert statement.balance == Decimal("200.00") == statement.outstanding
        # D10: the 1000.00 was paid on 20 December 2025, before either due date: no interest on it. The 200.00
        # is due from 4 March 2026 to 10 April 2026: the months after the due month up to April's = April,
        # 1 × 0.8 % × 200.00 = 1.60 (before the fix: 1 × 0.8 % × 1200.00 = 9.60)
        assert [(i.base, i.periods, i.amount) for i in statement.interest_lines] == [
            (Decimal("200.00"), 1, Decimal("1.60"))
        ]
        assert statement.interest == Decimal("1.60")
        assert [(i.pk, i.paid) for i in overdue_by_operator(TODAY)[medilab]] == [(new.pk, Decimal("1000.00"))]  # type: ignore[attr-defined]
        figures = money_figures(2025, today=TODAY)
        assert (figures.outstanding, figures.overdue) == (Decimal("200.00"), Decimal("200.00"))
    assert reminders_send(today=TODAY) == 1
    assert "1,60" in str(mail.outbox[0].body)


def test_a_paid_invoice_corrected_downwards_is_paid_and_the_surplus_is_account_credit(medilab: Operator) -> None:
    first = paid_on_time(medilab)
    new = corrected(first, "700.00", sequence=2)
    # carried up to the new total: 700.00 of the 1000.00
    assert paid_so_far([new]) == {new.pk: [(PAID_ON, Decimal("700.00"))]}
    assert invoice_status(new) == "paid"
    rows = {row.invoice.pk: row for row in invoice_rows(medilab)}
    assert (rows[new.pk].status, rows[new.pk].open) == ("paid", Decimal(0))
    statement = account_statement(medilab, today=TODAY)
    # 1000.00 − 1000.00 + 700.00 − 1000.00 = −300.00: a credit of 300.00 to refund (D12), no interest
    assert statement.balance == Decimal("-300.00") and statement.interest == Decimal(0)
    assert refundable(medilab) == Decimal("300.00")
    assert medilab not in overdue_by_operator(TODAY)
    assert reminders_send(today=TODAY) == 0 and not mail.outbox


def test_payments_follow_a_chain_of_two_corrections(medilab: Operator) -> None:
    first = paid_on_time(medilab)
    second = corrected(first, "1200.00", sequence=2)
    third = corrected(second, "900.00", sequence=3)
    # the 1000.00 of the first invoice, capped at 1200.00 on the second, then at 900.00 on the third
    assert paid_so_far([third]) == {third.pk: [(PAID_ON, Decimal("900.00"))]}
    assert invoice_status(third) == "paid" and invoice_status(second) == "credited"
    # 1000 − 1000 + 1200 − 1200 + 900 − 1000 = −100.00
    assert refundable(medilab) == Decimal("100.00")


def test_a_refund_goes_only_to_a_valid_iban(medilab: Operator) -> None:
    """D12: a refund is exported to a bank in a pain.001 file: an account that is no IBAN is refused at once."""
    invoice = invoice_for(medilab, "10.00", year=2025)
    credit_note_issue(invoice=invoice, reason="wrong")
    statement_import(data=coda([Payment(Decimal("10.00"), payer_account="", free_text="x")]), name="x")
    payment_allocate(line=BankLine.objects.get(), operator=medilab, amount=Decimal("10.00"), by=None)
    # BE68 5390 0754 7034 is valid; a changed check digit, a wrong length, an unknown country and text are not
    with translation.override("en"):
        for wrong in ("BE69 5390 0754 7034", "BE68 5390 0754 703", "XX68 5390 0754 7034", "abc", "BE68\x005390"):
            with pytest.raises(ValidationError, match="is not a valid IBAN"):
                refund_record(operator=medilab, by=None, iban=wrong)
    assert not Refund.objects.exists()
    assert refund_record(operator=medilab, by=None, iban="be68 5390 0754 7034").iban == "BE68539007547034"


@pytest.mark.parametrize("typed", ["0.004", "0.015", "1e999999999", "abc", "-5", "0,00", "1000000000000", "NaN"])
def test_a_typed_amount_is_read_exactly_or_refused(medilab: Operator, typed: str) -> None:
    """The allocation pages: an amount with more than two decimals, an exponent, text, zero or more than the
    money columns hold is a clear message and no allocation (before: rounded silently, or a server error)."""
    invoice = invoice_for(medilab, "100.00", year=2025)
    statement_import(data=coda([Payment(Decimal("100.00"), free_text="no reference")]), name="x.cod")
    line = BankLine.objects.get()
    client = staff_client(staff("finance", FINANCE_OFFICER))
    accept = client.post(
        reverse("admin:payments_accept", args=[line.pk]),
        {"invoice": str(invoice.pk), "amount": typed, "seen": "0.00"},
        follow=True,
    )
    allocate = client.post(
        reverse("admin:payments_allocate", args=[line.pk]), {"invoice": invoice.number, "amount": typed, "seen": "0"}
    )
    for answer in (accept, allocate):
        assert answer.status_code == 200
        page = answer.content.decode()
        assert "is not an amount" in page or "An allocation is a positive amount." in page
    assert not Allocation.objects.exists()


def test_a_belgian_comma_allocates_the_exact_amount_and_ids_are_digits(medilab: Operator) -> None:
    invoice = invoice_for(medilab, "100.00", year=2025)
    statement_import(data=coda([Payment(Decimal("100.00"), free_text="no reference")]), name="x.cod")
    line = BankLine.objects.get()
    client = staff_client(staff("finance", FINANCE_OFFICER))
    page = reverse("admin:payments_allocate", args=[line.pk])
    client.post(page, {"invoice": invoice.number, "amount": "12,5", "seen": "0.00"})
    client.post(
        reverse("admin:payments_accept", args=[line.pk]),
        {"invoice": str(invoice.pk), "amount": "0.01", "seen": "12.50"},
    )
    # 12,5 is 12.50 and 0.01 is one cent: 12.51 allocated, exactly
    assert sorted(a.amount for a in Allocation.objects.all()) == [Decimal("0.01"), Decimal("12.50")]
    refunds = reverse("admin:payments_refunds")
    assert client.post(refunds, {"action": "record", "operator": "abc"}).status_code == 404
    assert client.post(refunds, {"action": "sent", "export": "abc"}).status_code == 404
    assert client.post(refunds, {"action": "sent", "export": "1e5"}).status_code == 404
