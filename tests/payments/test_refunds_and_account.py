"""D12 refunds and the account: the refundable amount is the credit balance of the whole account; a refund is a
document, recorded once, exported once, then sent. The account statement shows a credit note as a credit. Each
case twice; where money moves, twice at once as well (two threads with their own connections, PostgreSQL)."""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from lxml import etree

from famhp.billing.services import credit_note_issue
from famhp.payments.models import Allocation, BankLine, Refund, RefundExport
from famhp.payments.samples import Payment, camt053, coda
from famhp.payments.selectors import account_balance, account_statement, invoice_status, refundable
from famhp.payments.services import (
    payment_allocate,
    refund_record,
    refunds_export,
    refunds_mark_sent,
    statement_import,
)
from famhp.registry.models import Operator
from tests.concurrency import POSTGRESQL
from tests.concurrency import at_once as concurrently
from tests.portal.factories import belgian, invoice_for

pytestmark = pytest.mark.django_db
PAIN = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}


@pytest.fixture
def medilab() -> Operator:
    return belgian("Medilab NV", language="nl", email="boekhouding@medilab.example")


def test_no_refund_while_another_invoice_of_the_operator_is_open(medilab: Operator) -> None:
    """D12, rewritten from the superseded reading (an invoice's overpayment refunded on its own)."""
    overpaid, still_open = invoice_for(medilab, "100.00", sequence=1), invoice_for(medilab, "50.00", sequence=2)
    statement_import(data=coda([Payment(Decimal("130.00"), structured=overpaid.structured_communication)]), name="a")
    assert invoice_status(overpaid) == "overpaid" and invoice_status(still_open) == "unpaid"
    # invoices 100.00 + 50.00 = 150.00; paid 130.00; 150.00 − 130.00 = 20.00 still owed: nothing to refund
    assert account_balance(medilab) == Decimal("20.00") and refundable(medilab) == Decimal("0.00")
    for _twice in range(2):
        with pytest.raises(ValidationError, match="no credit balance"):
            refund_record(operator=medilab, by=None)
    assert not Refund.objects.exists()
    # the open invoice paid: 150.00 − (130.00 + 50.00) = −30.00, a credit balance of 30.00
    statement_import(
        data=coda([Payment(Decimal("50.00"), structured=still_open.structured_communication)], statement=2),
        name="b",
    )
    assert refundable(medilab) == Decimal("30.00")


def test_credit_notes_count_in_the_account_and_show_as_credits(medilab: Operator) -> None:
    cancelled, kept = invoice_for(medilab, "200.00", sequence=1), invoice_for(medilab, "80.00", sequence=2)
    statement_import(
        data=coda(
            [
                Payment(Decimal("200.00"), structured=cancelled.structured_communication),
                Payment(Decimal("80.00"), structured=kept.structured_communication),
            ]
        ),
        name="paid",
    )
    credit_note = credit_note_issue(
        invoice=cancelled, reason="ceased before the year", issued_on=datetime.date(2026, 2, 1)
    )
    statement = account_statement(medilab, today=datetime.date(2026, 2, 2))
    rows = {row.reference: row for row in statement.rows}
    assert (rows[credit_note.number].debit, rows[credit_note.number].credit) == (Decimal(0), Decimal("200.00"))
    # invoices 200.00 + 80.00 − credit note 200.00 − payments 280.00 = −200.00: 200.00 to refund
    assert statement.balance == Decimal("-200.00") == account_balance(medilab)
    assert refundable(medilab) == Decimal("200.00")


def test_a_refund_is_recorded_once_exported_once_then_sent(medilab: Operator) -> None:
    invoice = invoice_for(medilab, "100.00")
    statement_import(
        data=camt053([Payment(Decimal("125.00"), structured=invoice.structured_communication)]), name="over.xml"
    )
    refund = refund_record(operator=medilab, by=None, today=datetime.date(2026, 2, 1))
    # 100.00 invoiced − 125.00 paid = −25.00: 25.00 refunded, to the payer's account of the payment
    assert (refund.amount, refund.iban, refund.state) == (Decimal("25.00"), "BE62510007547061", "recorded")
    with pytest.raises(ValidationError, match="no credit balance"):
        refund_record(operator=medilab, by=None)  # the refund is counted: the balance is 0.00 now
    assert account_balance(medilab) == Decimal("0.00")

    export = refunds_export(by=None, today=datetime.date(2026, 2, 2))
    assert export is not None and refunds_export(by=None) is None  # exporting again exports nothing new
    document = etree.fromstring(bytes(export.data))
    assert document.findtext(".//p:GrpHdr/p:NbOfTxs", namespaces=PAIN) == "1"
    assert document.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=PAIN) == "25.00"
    assert document.findtext(".//p:CdtTrfTxInf/p:Amt/p:InstdAmt", namespaces=PAIN) == "25.00"
    assert document.findtext(".//p:CdtTrfTxInf/p:CdtrAcct/p:Id/p:IBAN", namespaces=PAIN) == "BE62510007547061"
    refund.refresh_from_db()
    assert refund.state == "exported" and refund.export == export

    assert refunds_mark_sent(export=export, today=datetime.date(2026, 2, 5)) == 1
    assert refunds_mark_sent(export=export, today=datetime.date(2026, 2, 6)) == 0
    refund.refresh_from_db()
    assert (refund.state, refund.sent_on) == ("sent", datetime.date(2026, 2, 5))
    statement = account_statement(medilab, today=datetime.date(2026, 2, 6))
    assert [row.kind for row in statement.rows][-1] == "refund" and statement.balance == Decimal("0.00")


def test_refund_needs_an_account(medilab: Operator) -> None:
    invoice = invoice_for(medilab, "10.00")
    credit_note_issue(invoice=invoice, reason="wrong")
    # a staff allocation to the account from a line without the payer's IBAN
    statement_import(data=coda([Payment(Decimal("10.00"), payer_account="", free_text="x")]), name="x")
    payment_allocate(line=BankLine.objects.get(), operator=medilab, amount=Decimal("10.00"), by=None)
    with pytest.raises(ValidationError, match="give the IBAN"):
        refund_record(operator=medilab, by=None)
    assert refund_record(operator=medilab, by=None, iban="BE68 5390 0754 7034").iban == "BE68539007547034"


# --- twice at once (PostgreSQL) ------------------------------------------------------------------------------


def at_once(work: Callable[[], Any], times: int = 2) -> tuple[list[Any], list[BaseException]]:
    """The same work ``times`` at once (:func:`tests.concurrency.at_once`)."""
    return concurrently(*[work] * times)


@POSTGRESQL
@pytest.mark.django_db(transaction=True)
def test_two_refunds_at_once_refund_once() -> None:
    operator = belgian("Twice NV")
    invoice = invoice_for(operator, "100.00")
    statement_import(data=coda([Payment(Decimal("160.00"), structured=invoice.structured_communication)]), name="a")
    results, errors = at_once(lambda: refund_record(operator=operator, by=None))
    assert len(results) == 1 and len(errors) == 1 and isinstance(errors[0], ValidationError)
    assert [r.amount for r in Refund.objects.all()] == [Decimal("60.00")]  # 160.00 − 100.00


@POSTGRESQL
@pytest.mark.django_db(transaction=True)
def test_two_exports_at_once_export_each_refund_once() -> None:
    operator = belgian("Export NV")
    invoice = invoice_for(operator, "100.00")
    statement_import(data=coda([Payment(Decimal("110.00"), structured=invoice.structured_communication)]), name="a")
    refund_record(operator=operator, by=None)
    results, errors = at_once(lambda: refunds_export(by=None))
    assert not errors and sorted(r is None for r in results) == [False, True]
    assert RefundExport.objects.count() == 1 and Refund.objects.get().state == "exported"


@POSTGRESQL
@pytest.mark.django_db(transaction=True)
def test_two_allocations_of_one_payment_at_once_never_exceed_it() -> None:
    operator = belgian("Click NV")
    invoice = invoice_for(operator, "100.00")
    statement_import(data=coda([Payment(Decimal("100.00"), free_text="no reference")]), name="a")
    line = BankLine.objects.get()
    results, errors = at_once(lambda: payment_allocate(line=line, invoice=invoice, amount=Decimal("100.00"), by=None))
    assert len(results) == 1 and len(errors) == 1 and isinstance(errors[0], ValidationError)
    assert invoice_status(invoice) == "paid"


@POSTGRESQL
@pytest.mark.django_db(transaction=True)
def test_a_reversal_imported_twice_at_once_undoes_the_payment_once() -> None:
    operator = belgian("Returned NV")
    invoice = invoice_for(operator, "100.00")
    paid = Payment(Decimal("100.00"), structured=invoice.structured_communication, end_to_end="E2E-R")
    statement_import(data=camt053([paid]), name="paid.xml")
    returned = Payment(Decimal("-100.00"), end_to_end="E2E-R", reversal=True, return_reason="AC04")
    files = iter(
        [
            camt053([returned], statement_id="R", opening=Decimal("1100.00")),
            camt053([returned], statement_id="R", opening=Decimal("1100.00")).replace(b"</Document>", b"</Document>\n"),
        ]
    )
    lock = threading.Lock()

    def one() -> Any:
        with lock:
            data = next(files)
        return statement_import(data=data, name=f"returned-{len(data)}.xml")

    _results, errors = at_once(one)
    assert not errors, errors
    assert Allocation.objects.filter(amount=Decimal("-100.00")).count() == 1
    assert BankLine.objects.filter(reversal=True).count() == 1
    assert invoice_status(invoice) == "unpaid"
