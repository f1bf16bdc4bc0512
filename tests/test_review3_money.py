"""Review 3: money actions twice in a row and twice at once, checked against RULES.md by hand."""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection

from famhp.billing.models import YearSettings
from famhp.payments.models import Allocation, BankLine, Reminder
from famhp.payments.samples import Payment, coda
from famhp.payments.selectors import account_balance, refund_iban, refundable, unmatched_lines
from famhp.payments.services import (
    allocation_reverse,
    payment_allocate,
    refund_record,
    refunds_export,
    refunds_mark_sent,
    reminders_send,
    statement_import,
)
from famhp.registry.models import Operator
from tests.concurrency import POSTGRESQL, at_once
from tests.portal.factories import belgian, invoice_for

INTEREST = ["late_interest_rate", "late_interest_period", "late_interest_base"]


def year_2025() -> None:
    YearSettings.objects.create(
        year=2025,
        activity_tax_share=Decimal("0.25"),
        exemption_threshold=Decimal("50290.17"),
        late_interest_rate=Decimal("0.008"),
        late_interest_period="started_month",
        late_interest_base="contribution",
        confirmed=INTEREST,
    )


# --- reminders: no double mail ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_reminders_twice_in_a_row_mail_each_operator_once() -> None:
    year_2025()
    for n, name in enumerate(("Alpha NV", "Bravo NV"), start=1):
        invoice_for(belgian(name, email=f"{name[:5].lower()}@example.org"), "1000.00", year=2025, sequence=n)
    today = datetime.date(2026, 3, 10)
    assert reminders_send(today=today) == 2
    assert reminders_send(today=today) == 0
    assert len(mail.outbox) == 2 and Reminder.objects.count() == 2


@POSTGRESQL
@pytest.mark.django_db(transaction=True)
def test_two_reminder_runs_at_once_mail_each_operator_once() -> None:
    """Two scheduled runs (or a manual run next to the scheduled one) at the same moment: one e-mail per operator,
    one reminder recorded (the 14 days between reminders hold across processes)."""
    year_2025()
    for n, name in enumerate(("Alpha NV", "Bravo NV", "Charlie NV"), start=1):
        invoice_for(belgian(name, email=f"{name[:5].lower()}@example.org"), "1000.00", year=2025, sequence=n)
    today = datetime.date(2026, 3, 10)
    results, errors = at_once(lambda: reminders_send(today=today), lambda: reminders_send(today=today))
    assert not errors, errors
    assert sorted(results) == [0, 3]
    assert len(mail.outbox) == 3 and Reminder.objects.count() == 3


# --- refunds (D12): a returned payment is no payment --------------------------------------------------------


@pytest.mark.django_db
def test_a_refund_goes_to_the_latest_payment_that_stayed_not_to_a_returned_one() -> None:
    """D12: the refund goes to the account of the operator's latest payment. A payment the bank returned (the
    payer's account closed: AC04) is no payment: the refund goes to the account whose payment stayed."""
    operator = belgian("Refund NV")
    first = invoice_for(operator, "100.00", sequence=1)
    second = invoice_for(operator, "50.00", sequence=2)
    statement_import(
        data=coda(
            [Payment(Decimal("160.00"), payer_account="BE68539007547034", structured=first.structured_communication)],
            statement=1,
            day=datetime.date(2026, 1, 15),
        ),
        name="1.cod",
    )
    later = datetime.date(2026, 1, 20)
    statement_import(
        data=coda(
            [
                Payment(
                    Decimal("50.00"),
                    payer_account="BE62510007547061",
                    structured=second.structured_communication,
                    booked=later,
                )
            ],
            statement=2,
            day=later,
        ),
        name="2.cod",
    )
    returned = datetime.date(2026, 1, 25)
    statement_import(
        data=coda(
            [
                Payment(
                    Decimal("-50.00"),
                    payer_account="BE62510007547061",
                    structured=second.structured_communication,
                    booked=returned,
                    reversal=True,
                    return_reason="AC04",
                )
            ],
            statement=3,
            day=returned,
        ),
        name="3.cod",
    )
    # invoices 100.00 + 50.00 = 150.00; payments 160.00 + 50.00 − 50.00 (returned) = 160.00: a credit of 10.00
    assert account_balance(operator) == Decimal("-10.00")
    for _twice in range(2):
        assert refundable(operator) == Decimal("10.00")
        assert refund_iban(operator)[0] == "BE68539007547034"
    refund = refund_record(operator=operator, by=None)
    assert (refund.amount, refund.iban) == (Decimal("10.00"), "BE68539007547034")


# --- an allocation reversed twice at once ---------------------------------------------------------------------


@POSTGRESQL
@pytest.mark.django_db(transaction=True)
def test_two_reversals_of_one_allocation_at_once_reverse_it_once() -> None:
    operator = belgian("Reverse NV")
    invoice = invoice_for(operator, "100.00")
    statement_import(data=coda([Payment(Decimal("100.00"), structured=invoice.structured_communication)]), name="r")
    (allocation,) = Allocation.objects.all()
    results, errors = at_once(
        lambda: allocation_reverse(allocation=allocation, by=None),
        lambda: allocation_reverse(allocation=allocation, by=None),
    )
    assert len(results) == 1 and len(errors) == 1, errors
    # 100.00 allocated, reversed once: −100.00; the invoice is open again for 100.00, the line back in the queue
    assert sorted(a.amount for a in Allocation.objects.all()) == [Decimal("-100.00"), Decimal("100.00")]
    assert account_balance(operator) == Decimal("100.00")


@pytest.mark.django_db
def test_an_allocation_of_a_fraction_of_a_cent_is_refused_not_rounded() -> None:
    """Money is euro and cents (ADR 3): the service refuses 10.005 rather than let the database round it."""
    operator = belgian("Cents NV")
    invoice = invoice_for(operator, "100.00")
    statement_import(data=coda([Payment(Decimal("100.00"), free_text="no reference")]), name="c")
    line = BankLine.objects.get()
    for _twice in range(2):
        with pytest.raises(ValidationError, match="at most two decimals"):
            payment_allocate(line=line, invoice=invoice, amount=Decimal("10.005"), by=None)
    assert not Allocation.objects.exists()
    assert payment_allocate(line=line, invoice=invoice, amount=Decimal("10.5"), by=None).amount == Decimal("10.50")


@pytest.mark.django_db
def test_a_refund_to_another_account_is_named_after_the_operator_not_the_third_party_payer() -> None:
    """D12, FAQ 19: an accountant paid (too much) for the operator; staff refund to the operator's own account:
    the transfer names the operator, the holder of that account, not the accountant."""
    operator = belgian("Holder NV")
    invoice = invoice_for(operator, "100.00")
    statement_import(
        data=coda(
            [
                Payment(
                    Decimal("130.00"),
                    payer="Boekhouder BV",
                    payer_account="BE62510007547061",
                    structured=invoice.structured_communication,
                )
            ]
        ),
        name="t",
    )
    # 130.00 − 100.00 = 30.00 to refund; to the accountant's account by default, in its name
    assert refund_iban(operator) == ("BE62510007547061", "Boekhouder BV")
    refund = refund_record(operator=operator, by=None, iban="BE68 5390 0754 7034")
    assert (refund.amount, refund.iban, refund.name) == (Decimal("30.00"), "BE68539007547034", "Holder NV")


@pytest.mark.django_db
def test_a_refund_returned_by_the_payees_bank_goes_back_to_the_operators_credit() -> None:
    """D12: a refund sent out and returned (the payee's account closed: a CODA return, R-transaction) is money
    that came back: staff allocate it to the operator's account (never automatically), the credit is refundable
    again, and the line leaves the queue."""
    operator = belgian("Returned NV")
    invoice = invoice_for(operator, "100.00")
    statement_import(data=coda([Payment(Decimal("160.00"), structured=invoice.structured_communication)]), name="1")
    # 160.00 − 100.00 = 60.00, to an account staff typed (not the payer's, BE62 5100 0754 7061)
    refund = refund_record(operator=operator, by=None, iban="BE68 5390 0754 7034")
    export = refunds_export(by=None)
    assert export is not None and refunds_mark_sent(export=export) == 1
    out, back = datetime.date(2026, 2, 2), datetime.date(2026, 2, 5)
    reference = f"FAMHP-REFUND-{refund.pk}"
    statement_import(
        data=coda(
            [Payment(Decimal("-60.00"), payer_account=refund.iban, end_to_end=reference, booked=out)],
            statement=2,
            day=out,
        ),
        name="2",
    )
    statement_import(
        data=coda(
            [
                Payment(
                    Decimal("60.00"),
                    payer_account=refund.iban,
                    end_to_end=reference,
                    booked=back,
                    reversal=True,
                    return_reason="AC04",
                )
            ],
            statement=3,
            day=back,
        ),
        name="3",
    )
    returned = BankLine.objects.get(booked_on=back)
    assert returned.reversal and not returned.allocations.exists()  # never allocated automatically
    # invoice 100.00 − payment 160.00 + refund 60.00 = 0.00 while the refund is out
    assert account_balance(operator) == Decimal("0.00")
    payment_allocate(line=returned, operator=operator, amount=Decimal("60.00"), by=None, seen=Decimal("0"))
    # + the 60.00 that came back, to the account: − 60.00, a credit balance, refundable again
    assert account_balance(operator) == Decimal("-60.00") and refundable(operator) == Decimal("60.00")
    assert returned not in unmatched_lines()
    # the account that returned the refund is no payer's account: the next refund goes to the payer's by default
    assert refund_iban(operator)[0] == "BE62510007547061"
    with pytest.raises(ValidationError, match="still unallocated"):  # twice: nothing more to allocate
        payment_allocate(line=returned, operator=operator, amount=Decimal("60.00"), by=None)


def during_a_slow_reminder_run(write: Callable[[], Any]) -> list[Any]:
    """``write`` run while a reminder run (today 10 March 2026) is sending its e-mails, with a 5 s lock timeout:
    the results of both; an error of either fails the test (a write that waited for the run's locks times out)."""
    started, done = threading.Event(), threading.Event()
    from famhp import mailing
    from famhp.payments import services

    real = mailing.send_each

    def slow(due: Any) -> Any:
        started.set()
        assert done.wait(20), "the write waited for the reminders"
        return real(due)

    def remind() -> int:
        with mock.patch.object(services, "send_each", slow):
            return reminders_send(today=datetime.date(2026, 3, 10))

    def meanwhile() -> Any:
        assert started.wait(20)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = '5s'")
            return write()
        finally:
            done.set()

    results, errors = at_once(remind, meanwhile)
    assert not errors, errors
    return results


@POSTGRESQL
@pytest.mark.django_db(transaction=True)
def test_a_reminder_run_does_not_hold_up_invoicing_its_operators() -> None:
    """The reminders' lock serialises reminder runs, not the operators' other writes: while a run sends its
    e-mails (minutes), an invoice of one of its operators is still issued."""
    year_2025()
    operator = belgian("Busy NV", email="busy@example.org")
    invoice_for(operator, "1000.00", year=2025, sequence=1)
    results = during_a_slow_reminder_run(lambda: invoice_for(operator, "50.00", year=2024, sequence=2))
    assert len(results) == 2 and Reminder.objects.count() == 1


@POSTGRESQL
@pytest.mark.django_db(transaction=True)
def test_a_reminder_run_does_not_hold_up_refunds_or_register_edits_of_its_operators() -> None:
    """While a reminder run sends its e-mails (minutes), a refund of one of its operators is recorded and exported
    and the operator's details are changed: the run holds no operator row."""
    from famhp.payments.services import refund_record, refunds_export

    year_2025()
    owing = belgian("Owing NV", email="owing@example.org")
    invoice_for(owing, "1000.00", year=2025, sequence=1)  # overdue: reminded
    credit = belgian("Credit NV", email="credit@example.org")
    overpaid = invoice_for(credit, "1000.00", year=2025, sequence=2)
    statement_import(
        data=coda([Payment(Decimal("1500.00"), structured=overpaid.structured_communication)], statement=9),
        name="over.cod",
    )

    def refund() -> tuple[Decimal, bool]:
        recorded = refund_record(operator=credit, by=None, iban="BE68539007547034")  # 1500 − 1000 = 500.00
        export = refunds_export(by=None)
        Operator.objects.filter(pk=owing.pk).update(contact_email="new@example.org")
        return recorded.amount, export is not None

    results = during_a_slow_reminder_run(refund)
    assert (Decimal("500.00"), True) in results and Reminder.objects.filter(operator=owing).count() == 1


# --- paid on the old communication after a correction (D8, D10, D12) --------------------------------------------


@pytest.mark.django_db
def test_a_payment_on_a_credited_invoices_communication_pays_the_invoice_that_follows_it() -> None:
    """D8: an invoice of 1,000.00 is credited and replaced by one of 1,100.00 (due 4 February 2026); the operator
    pays 1,000.00 on 20 January with the first invoice's communication. D12 puts it on the account (never on the
    dead invoice); it still pays the new invoice, on time, as a payment made on the old invoice before the
    credit note would (D10): only 100.00 is late, and interest, statuses and reminders say so."""
    from famhp.billing.models import InvoiceKind
    from famhp.billing.services import credit_note_issue
    from famhp.billing.services.invoices import _create
    from famhp.payments.selectors import account_statement, invoice_status, open_amount

    year_2025()
    operator = belgian("Old Reference NV")
    first = invoice_for(operator, "1000.00", year=2025, due=datetime.date(2025, 12, 31))
    corrected = datetime.date(2026, 1, 5)
    note = credit_note_issue(invoice=first, reason="corrected", issued_on=corrected)
    second = _create(
        year=2025,
        kind=InvoiceKind.ACTIVITY_TAX,
        operator=operator,
        lines=[{"description": "activity_tax", "amount": "1100.00", "rule": "D3", "explanation": []}],
        issued_on=corrected,
        due_days=30,
        parameters={},
        rules_version="test",
        assessment=None,
        follows=note,
        sequence=2,
    )
    paid_on = datetime.date(2026, 1, 20)
    statement_import(
        data=coda(
            [Payment(Decimal("1000.00"), structured=first.structured_communication, booked=paid_on)], day=paid_on
        ),
        name="old-reference",
    )
    assert Allocation.objects.get().invoice is None  # D12: to the account, never to the credited invoice
    # 1,000.00 + 1,100.00 − 1,000.00 (credit note) − 1,000.00 (paid) = 100.00 still owed
    assert account_balance(operator) == Decimal("100.00")
    for _twice in range(2):
        assert (invoice_status(second), open_amount(second)) == ("partly_paid", Decimal("100.00"))
        statement = account_statement(operator, today=datetime.date(2026, 4, 10))
        # D10: 100.00 late since 4 February 2026: March and April started = 2 × 0.8 % × 100.00 = 1.60 (not
        # 2 × 0.8 % × 1,100.00 = 17.60: the 1,000.00 was paid on time)
        assert [(i.base, i.periods, i.amount) for i in statement.interest_lines] == [
            (Decimal("100.00"), 2, Decimal("1.60"))
        ]
        assert statement.balance == Decimal("100.00")
    # the bank returns that payment (AC04): the new invoice is open for its whole 1,100.00 again
    returned = datetime.date(2026, 1, 27)
    statement_import(
        data=coda(
            [
                Payment(
                    Decimal("-1000.00"),
                    structured=first.structured_communication,
                    booked=returned,
                    reversal=True,
                    return_reason="AC04",
                )
            ],
            statement=2,
            day=returned,
        ),
        name="returned",
    )
    assert (invoice_status(second), open_amount(second)) == ("unpaid", Decimal("1100.00"))
    assert account_balance(operator) == Decimal("1100.00")
