"""ADR 12 addendum: a bank movement received once as CODA and once as camt.053 is booked once. The files are
written from the standards' layouts by famhp.payments.samples (CODA records 0, 1, 2.1/2.2/2.3, 8, 9; camt.053
Bal OPBD/CLBD, TxsSummry, Ntry/NtryDtls/TxDtls), the same payments in both formats, as a bank sends the same
day's statement in either."""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from famhp.payments.models import Allocation, BankLine, StatementFile
from famhp.payments.samples import Payment, camt053, coda
from famhp.payments.selectors import invoice_status, queue_reason, unmatched_lines
from famhp.payments.services import line_mark_handled, payment_allocate, statement_import, twins_mark_handled
from famhp.registry.models import Operator
from tests.accounts.conftest import staff, staff_client
from tests.concurrency import POSTGRESQL
from tests.payments.test_refunds_and_account import at_once
from tests.portal.factories import belgian, invoice_for

pytestmark = pytest.mark.django_db

Writer = Callable[[list[Payment]], bytes]
DAY = datetime.date(2026, 1, 15)


def as_coda(payments: list[Payment]) -> bytes:
    return coda(payments, statement=7, day=DAY)


def as_camt(payments: list[Payment]) -> bytes:
    return camt053(payments, statement_id="2026-015", version=8)


ORDERS = pytest.mark.parametrize(
    ("first", "second"), [(as_coda, as_camt), (as_camt, as_coda)], ids=["coda-then-camt", "camt-then-coda"]
)
FORMATS = pytest.mark.parametrize("write", [as_coda, as_camt], ids=["coda", "camt053"])


def imported(data: bytes, name: str) -> StatementFile:
    statement, new = statement_import(data=data, name=name)
    assert new
    again, new_again = statement_import(data=data, name=f"again-{name}")  # the same file again: a no-op
    assert not new_again and again.pk == statement.pk
    return statement


@pytest.fixture
def medilab() -> Operator:
    return belgian("Medilab NV")


@ORDERS
def test_the_same_days_movements_in_both_formats_are_allocated_once(
    first: Writer, second: Writer, medilab: Operator
) -> None:
    a = invoice_for(medilab, "100.00", sequence=1)
    b = invoice_for(medilab, "250.00", sequence=2)
    day = [
        Payment(Decimal("100.00"), structured=a.structured_communication),
        Payment(Decimal("250.00"), structured=b.structured_communication, payer="Other Payer BV"),
        Payment(Decimal("30.00"), free_text="gift  for the   agency"),  # no reference: waits in the queue anyway
    ]
    one = imported(first(day), "day-one")
    assert (one.lines_new, one.lines_matched, one.lines_twin) == (3, 2, 0)
    other = imported(second(day), "day-other")
    # the three movements are kept (facts), none of them matched: 2 allocations in all, not 4
    assert (other.lines_new, other.lines_matched, other.lines_twin) == (3, 0, 3)
    assert Allocation.objects.count() == 2
    # 100.00 paid on a of 100.00 and 250.00 on b of 250.00: paid, not overpaid
    assert invoice_status(a) == "paid" and invoice_status(b) == "paid"
    first_lines = {line.amount: line for line in BankLine.objects.filter(statement_file=one)}
    waiting = list(unmatched_lines())
    # the 30.00 of the first file (no reference) and the three twins of the second
    assert sorted((line.statement_file_id, line.amount) for line in waiting) == sorted(
        [(one.pk, Decimal("30.00"))] + [(other.pk, amount) for amount in first_lines]
    )
    for line in waiting:
        if line.statement_file_id == other.pk:
            twin = first_lines[line.amount]
            assert line.twin_of == twin
            reason = queue_reason(line)
            assert reason.startswith(f"Possible duplicate of line {twin.pk} (") and "imported from day-one on" in reason
            assert str(timezone.localdate(twin.statement_file.imported_at)) in reason


@FORMATS
def test_two_identical_payments_in_one_file_are_two_payments(write: Writer, medilab: Operator) -> None:
    invoice = invoice_for(medilab, "200.00")
    twin = Payment(Decimal("100.00"), structured=invoice.structured_communication)
    statement = imported(write([twin, twin]), "two")
    # 100.00 + 100.00 = 200.00: both allocated, the invoice paid
    assert (statement.lines_new, statement.lines_matched, statement.lines_twin) == (2, 2, 0)
    assert invoice_status(invoice) == "paid" and not unmatched_lines().exists()


def test_two_identical_payments_received_again_in_the_other_format_each_name_their_own(medilab: Operator) -> None:
    invoice = invoice_for(medilab, "200.00")
    twin = Payment(Decimal("100.00"), structured=invoice.structured_communication)
    one = imported(as_coda([twin, twin]), "two.coda")
    other = imported(as_camt([twin, twin]), "two.xml")
    assert (other.lines_new, other.lines_matched, other.lines_twin) == (2, 0, 2)
    twins = {line.twin_of_id for line in BankLine.objects.filter(statement_file=other)}
    assert twins == set(BankLine.objects.filter(statement_file=one).values_list("pk", flat=True))
    assert invoice_status(invoice) == "paid"  # 200.00, not 400.00
    assert Allocation.objects.count() == 2


def test_a_person_decides_a_twin_was_a_second_payment_or_marks_it_handled(medilab: Operator) -> None:
    invoice = invoice_for(medilab, "100.00")
    payment = Payment(Decimal("100.00"), structured=invoice.structured_communication)
    imported(as_coda([payment]), "one.coda")
    other = imported(as_camt([payment, Payment(Decimal("100.00"), structured=invoice.structured_communication)]), "x")
    # the second file holds the same payment twice: two twins of the one earlier line, both waiting
    first, second = BankLine.objects.filter(statement_file=other).order_by("pk")
    assert first.twin_of_id == second.twin_of_id
    payment_allocate(line=first, invoice=invoice, amount=Decimal("40.00"), by=None, second_payment=True)
    line_mark_handled(line=second, by=None, note="the camt.053 of the CODA already imported")
    # 100.00 + 40.00 = 140.00 on an invoice of 100.00: overpaid, as the person decided
    assert invoice_status(invoice) == "overpaid"
    assert list(unmatched_lines()) == [first]  # 60.00 of it still unallocated


def test_a_reversal_received_again_does_not_undo_another_payment(medilab: Operator) -> None:
    invoice = invoice_for(medilab, "200.00")
    twin = Payment(Decimal("100.00"), structured=invoice.structured_communication, end_to_end="E2E-1")
    imported(coda([twin, twin], day=DAY), "day.coda")
    assert invoice_status(invoice) == "paid"  # 100.00 + 100.00
    later = datetime.date(2026, 1, 20)
    returned = Payment(
        Decimal("-100.00"),
        structured=invoice.structured_communication,
        end_to_end="E2E-1",
        reversal=True,
        return_reason="AC04",
        booked=later,
    )
    imported(coda([returned], statement=8, old_balance=Decimal("1200.00"), day=later), "return.coda")
    # 200.00 − 100.00 returned = 100.00: partly paid
    assert invoice_status(invoice) == "partly_paid"
    again = imported(camt053([returned], statement_id="2026-020", opening=Decimal("1200.00")), "return.xml")
    # the same return in camt.053 is a twin: kept and queued, the other 100.00 payment stays allocated
    assert again.lines_twin == 1
    assert invoice_status(invoice) == "partly_paid"
    assert Allocation.objects.filter(amount__lt=0).count() == 1
    line = BankLine.objects.get(statement_file=again)
    assert line.reverses_line is None and line in unmatched_lines()
    assert queue_reason(line).startswith("Possible duplicate of line")


def test_a_credit_received_again_after_its_reversal_leaves_the_reversal_with_the_first(medilab: Operator) -> None:
    invoice = invoice_for(medilab, "100.00")
    payment = Payment(Decimal("100.00"), structured=invoice.structured_communication, end_to_end="E2E-9")
    imported(as_coda([payment]), "day.coda")
    imported(as_camt([payment]), "day.xml")  # a twin: not matched
    later = datetime.date(2026, 1, 20)
    returned = Payment(
        Decimal("-100.00"),
        structured=invoice.structured_communication,
        end_to_end="E2E-9",
        reversal=True,
        return_reason="AC04",
        booked=later,
    )
    imported(coda([returned], statement=8, old_balance=Decimal("1100.00"), day=later), "return.coda")
    # the return undoes the allocated payment (the first), not its unmatched twin: 100.00 − 100.00 = unpaid
    assert invoice_status(invoice) == "unpaid"
    reversal = BankLine.objects.get(reversal=True)
    assert reversal.reverses_line is not None and reversal.reverses_line.twin_of_id is None


def test_a_files_twins_leave_the_queue_at_once_when_staff_decide_so(medilab: Operator) -> None:
    invoice = invoice_for(medilab, "100.00")
    day = [
        Payment(Decimal("100.00"), structured=invoice.structured_communication),
        Payment(Decimal("5.00"), free_text="no reference"),
    ]
    one = imported(as_coda(day), "day.coda")
    other = imported(as_camt([*day, Payment(Decimal("7.00"), free_text="new")]), "day.xml")
    assert (other.lines_new, other.lines_twin, other.lines_matched) == (3, 2, 0)
    assert twins_mark_handled(statement=other, by=None, note="the camt.053 of day.coda") == 2
    assert twins_mark_handled(statement=other, by=None) == 0  # again: none
    # left: the 5.00 of the first file (no reference) and the 7.00 that only the second file holds
    assert sorted((line.statement_file_id, line.amount) for line in unmatched_lines()) == [
        (one.pk, Decimal("5.00")),
        (other.pk, Decimal("7.00")),
    ]


@pytest.mark.parametrize("written", ["\ue000", "&#xE001;", "&#57346;"], ids=["literal", "hex", "decimal"])
def test_a_camt_text_holding_a_private_use_character_is_read_all_the_same(written: str, medilab: Operator) -> None:
    """camt.053 entries are read as records separated by U+E000 to U+E003 (ADR 12 addendum): such a character in
    a bank's text becomes a space, and the entry is read whole."""
    invoice = invoice_for(medilab, "100.00")
    payment = Payment(Decimal("100.00"), structured=invoice.structured_communication, payer="Medilab NV")
    data = as_camt([payment]).replace(b"<Nm>Medilab NV</Nm>", f"<Nm>Medi{written}lab NV</Nm>".encode())
    assert f"Medi{written}lab".encode() in data
    statement = imported(data, "private-use.xml")
    (line,) = BankLine.objects.filter(statement_file=statement)
    assert line.counterparty_name == "Medi lab NV" and invoice_status(invoice) == "paid"


def test_a_camt_date_that_is_no_date_is_refused_in_words() -> None:
    data = as_camt([Payment(Decimal("10.00"), free_text="x")]).replace(
        b"<Dt>2026-01-15</Dt></BookgDt>", b"<Dt>2026-13-45</Dt></BookgDt>"
    )
    with pytest.raises(ValidationError, match=r"entry 1 \(line \d+\): '2026-13-45' is not a date"):
        statement_import(data=data, name="bad-date.xml")
    assert not StatementFile.objects.exists()


@POSTGRESQL
@pytest.mark.django_db(transaction=True)
def test_the_same_day_in_both_formats_imported_at_the_same_moment_is_allocated_once() -> None:
    operator = belgian("Both At Once NV")
    invoice = invoice_for(operator, "100.00")
    day = [Payment(Decimal("100.00"), structured=invoice.structured_communication)]
    files = iter([as_coda(day), as_camt(day)])
    lock = threading.Lock()

    def one() -> Any:
        with lock:
            data = next(files)
        return statement_import(data=data, name=f"day-{len(data)}")

    _results, errors = at_once(one)
    assert not errors, errors
    # two lines kept, one of them the other's twin; one allocation of 100.00: paid, not overpaid
    assert BankLine.objects.count() == 2 and BankLine.objects.filter(twin_of__isnull=False).count() == 1
    assert Allocation.objects.count() == 1 and invoice_status(invoice) == "paid"


def test_the_import_page_says_how_many_lines_wait_as_possible_duplicates(medilab: Operator) -> None:
    invoice = invoice_for(medilab, "100.00")
    day = [Payment(Decimal("100.00"), structured=invoice.structured_communication)]
    client = staff_client(staff("finance", "Finance officer"))
    for name, data in (("day.coda", as_coda(day)), ("day.xml", as_camt(day))):
        client.post("/admin/payments/statementfile/import/", {"file": SimpleUploadedFile(name, data)})
    queue = client.get("/admin/payments/statementfile/queue/", follow=True)
    shown = [str(message) for message in queue.context["messages"]]
    assert "1 of them are the same movements as lines of a file imported before" in " ".join(shown)
    assert b"Possible duplicate of line" in queue.content
    assert invoice_status(invoice) == "paid" and Allocation.objects.count() == 1
