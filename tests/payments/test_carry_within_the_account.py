"""D8 + D12: what was paid on a credited invoice is carried to the invoice that follows its credit note only while
the money is still in the account. A refund made in between, or money that already pays another invoice, is not
counted twice: the following invoice stays open for what the account does not hold."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from famhp.billing.models import Invoice
from famhp.billing.services import credit_note_issue
from famhp.payments.samples import Payment, coda
from famhp.payments.selectors import account_balance, invoice_rows, overdue_by_operator, paid_so_far
from famhp.payments.services import refund_record, statement_import
from famhp.registry.models import Operator
from famhp.workplace.selectors import money_figures
from tests.payments.test_review_fixes import corrected, following
from tests.portal.factories import belgian, invoice_for

pytestmark = pytest.mark.django_db
PAID_ON = datetime.date(2025, 12, 20)


def pay(invoice: Invoice, amount: str, name: str, day: datetime.date = PAID_ON) -> None:
    payment = Payment(Decimal(amount), structured=invoice.structured_communication, booked=day)
    statement_import(data=coda([payment], day=day), name=name)


@pytest.fixture
def refunded() -> Operator:
    return belgian("Refunded NV")


def test_a_payment_refunded_before_the_re_issue_is_not_carried(refunded: Operator) -> None:
    first = invoice_for(refunded, "1000.00", year=2025, sequence=1, due=datetime.date(2025, 12, 31))  # never paid
    note = credit_note_issue(invoice=first, reason="not liable after all", issued_on=datetime.date(2026, 1, 10))
    pay(first, "1000.00", "late.cod", datetime.date(2026, 1, 20))  # on the credited invoice's reference: account
    refund_record(operator=refunded, by=None, iban="BE68539007547034")  # the 1000.00 goes back
    assert account_balance(refunded) == Decimal("0.00")
    new = following(
        note, first, "800.00", sequence=2, issued_on=datetime.date(2026, 3, 1), due_on=datetime.date(2026, 3, 31)
    )
    # 1000 − 1000 (note) + 800 − 1000 (paid) + 1000 (refunded) = 800.00 owed: nothing is left to carry
    assert account_balance(refunded) == Decimal("800.00")
    assert paid_so_far([new]) == {new.pk: []}
    rows = {row.invoice.pk: row for row in invoice_rows(refunded)}
    assert (rows[new.pk].status, rows[new.pk].open) == ("unpaid", Decimal("800.00"))
    assert [i.pk for i in overdue_by_operator(datetime.date(2026, 6, 1))[refunded]] == [new.pk]
    assert money_figures(2025, today=datetime.date(2026, 6, 1)).outstanding == Decimal("800.00")


def test_a_surplus_refunded_before_a_higher_re_issue_is_carried_only_in_part(refunded: Operator) -> None:
    first = invoice_for(refunded, "1000.00", year=2025, sequence=1, due=datetime.date(2025, 12, 31))
    pay(first, "1000.00", "one.cod")
    pay(first, "1000.00", "two.cod", datetime.date(2025, 12, 22))  # paid twice: 1000.00 too much
    refund_record(operator=refunded, by=None, iban="BE68539007547034")  # the 1000.00 surplus refunded
    new = corrected(first, "1200.00", sequence=2)
    # the account: 1000 − 1000 + 1200 − 2000 + 1000 = 200.00 owed; 2000 paid on the first invoice, 1000 of it
    # refunded: 1000.00 is carried (the earliest payment), 200.00 stays open
    assert account_balance(refunded) == Decimal("200.00")
    assert paid_so_far([new]) == {new.pk: [(PAID_ON, Decimal("1000.00"))]}
    rows = {row.invoice.pk: row for row in invoice_rows(refunded)}
    assert (rows[new.pk].status, rows[new.pk].open) == ("partly_paid", Decimal("200.00"))


def test_without_a_refund_the_carry_is_unchanged(refunded: Operator) -> None:
    first = invoice_for(refunded, "1000.00", year=2025, sequence=1, due=datetime.date(2025, 12, 31))
    pay(first, "1000.00", "one.cod")
    new = corrected(first, "700.00", sequence=2)
    # 700.00 of the 1000.00 carried, 300.00 stays account credit (as before)
    assert paid_so_far([new]) == {new.pk: [(PAID_ON, Decimal("700.00"))]}
    assert account_balance(refunded) == Decimal("-300.00")
