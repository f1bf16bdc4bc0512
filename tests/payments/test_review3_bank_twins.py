"""Review 3 of the bank import: the same day's movements received as CODA (written here from the Febelfin layout)
and as camt.053 (from ISO 20022): the second file's lines are kept as possible duplicates, queued, never matched
or reversed automatically, so no invoice is paid twice; one after the other, in either order, and at the same
moment on PostgreSQL (two threads, each its own connection); the same file twice at once adds it once."""

from __future__ import annotations

import datetime
import os
import threading
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import translation

from famhp.billing.models import Invoice
from famhp.payments.models import Allocation, BankLine, StatementFile
from famhp.payments.selectors import invoice_status, queue_reason, unmatched_lines
from famhp.payments.services import statement_import
from tests.payments import test_review3_bank_coda as C
from tests.payments.test_review3_bank_camt import Entry, Statement, Tx, camt
from tests.portal.factories import belgian, invoice_for

DAY = datetime.date(2026, 1, 15)


def the_day(invoices: list[Invoice]) -> tuple[bytes, bytes]:
    """The same three movements of the 15th in both formats: two payments of invoices, and a debit."""
    a, b = invoices
    coda = C.coda(
        C.statement(
            [
                C.Move(Decimal("100.00"), ogm=a.structured_communication, booked=DAY),
                C.Move(Decimal("250.00"), ogm=b.structured_communication, booked=DAY),
                C.Move(Decimal("-3.50"), text="bank fees", booked=DAY),
            ]
        )
    )
    # camt.053 writes the communication with +++ and slashes, the account as an IBAN, its own references
    ogm_a, ogm_b = a.structured_communication, b.structured_communication
    xml = camt(
        [
            Statement(
                [
                    Entry(
                        "100.00", txs=[Tx(amount="100.00", structured=f"+++{ogm_a[:3]}/{ogm_a[3:7]}/{ogm_a[7:]}+++")]
                    ),
                    Entry("250.00", txs=[Tx(amount="250.00", structured=ogm_b)]),
                    Entry("3.50", credit=False, txs=[Tx(amount="3.50", unstructured="bank fees")]),
                ]
            )
        ],
        version=8,
    )
    return coda, xml


def two_invoices() -> list[Invoice]:
    medilab = belgian("Medilab NV")
    return [invoice_for(medilab, "100.00", sequence=1), invoice_for(medilab, "250.00", sequence=2)]


@pytest.mark.django_db
@pytest.mark.parametrize("coda_first", [True, False], ids=["coda-then-camt", "camt-then-coda"])
def test_the_same_day_in_both_formats_pays_each_invoice_once(coda_first: bool) -> None:
    invoices = two_invoices()
    coda, xml = the_day(invoices)
    files = [(coda, "day.cod"), (xml, "day.xml")]
    if not coda_first:
        files.reverse()
    first, _ = statement_import(data=files[0][0], name=files[0][1])
    second, _ = statement_import(data=files[1][0], name=files[1][1])
    assert (first.lines_new, first.lines_twin, first.lines_matched) == (3, 0, 2)
    assert (second.lines_new, second.lines_twin, second.lines_matched) == (3, 3, 0)
    # each invoice paid once: 100.00 and 250.00, never "overpaid"
    assert [invoice_status(i) for i in invoices] == ["paid", "paid"]
    assert sorted(Allocation.objects.values_list("amount", flat=True)) == [Decimal("100.00"), Decimal("250.00")]
    twins = [line for line in unmatched_lines() if line.twin_of_id]
    assert len(twins) == 3 and all(t.statement_file == second for t in twins)
    assert all(queue_reason(t).startswith("Possible duplicate of line") for t in twins)


needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql" and not os.environ.get("DATABASE_URL"),
    reason="imports at the same moment are shown on PostgreSQL",
)


def at_once(*calls: Callable[[], object]) -> list[BaseException]:
    barrier, errors = threading.Barrier(len(calls)), []

    def run(call: Callable[[], object]) -> None:
        translation.activate("en")
        try:
            barrier.wait()
            call()
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_coda_and_camt_of_the_same_day_imported_at_once_pay_each_invoice_once() -> None:
    invoices = two_invoices()
    coda, xml = the_day(invoices)
    errors = at_once(
        lambda: statement_import(data=coda, name="day.cod"), lambda: statement_import(data=xml, name="day.xml")
    )
    assert not errors, errors
    assert StatementFile.objects.count() == 2 and BankLine.objects.count() == 6
    assert BankLine.objects.filter(twin_of__isnull=False).count() == 3
    assert [invoice_status(i) for i in invoices] == ["paid", "paid"]
    assert Allocation.objects.count() == 2


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_the_same_file_imported_twice_at_once_is_added_once() -> None:
    invoices = two_invoices()
    _coda, xml = the_day(invoices)
    outcomes: list[bool] = []
    errors = at_once(*[lambda: outcomes.append(statement_import(data=xml, name="day.xml")[1]) for _ in range(2)])
    assert not errors, errors
    assert sorted(outcomes) == [False, True]
    assert StatementFile.objects.count() == 1 and BankLine.objects.count() == 3 and Allocation.objects.count() == 2
    assert [invoice_status(i) for i in invoices] == ["paid", "paid"]


@pytest.mark.django_db
def test_a_return_as_camt_undoes_a_payment_received_as_coda_on_the_accounts_other_form() -> None:
    """The payment came as CODA (the agency's Belgian account number, structure 0), its return as camt.053 (the
    same account as an IBAN, a return: RtrInf, no RvslInd) found by the end-to-end reference."""
    invoice = invoice_for(belgian("Medilab NV"), "100.00")
    paid = C.Move(Decimal("100.00"), ogm=invoice.structured_communication, end_to_end="E2E-X", booked=DAY)
    statement_import(data=C.coda(C.statement([paid])), name="day.cod")
    assert invoice_status(invoice) == "paid"
    back = Entry(
        "100.00",
        credit=False,
        booked="<Dt>2026-01-20</Dt>",
        txs=[Tx(amount="100.00", end_to_end="E2E-X", return_reason="AC04")],
    )
    statement_import(data=camt([Statement([back], opening="1100.00")]), name="later.xml")
    # 100.00 paid − 100.00 returned = nothing paid
    assert invoice_status(invoice) == "unpaid"
    returned = BankLine.objects.get(reversal=True)
    assert returned.reverses_line == BankLine.objects.get(amount=Decimal("100.00"))
    assert sorted(Allocation.objects.values_list("amount", flat=True)) == [Decimal("-100.00"), Decimal("100.00")]
