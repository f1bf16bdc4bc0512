"""A large statement file is read by a second process, part by part, while the import stores the parts it has
(issue 15, ADR 12 addendum). What is stored must be what the import reading the whole file first stores: the
same lines (twins, reversals, pending, batches), allocations, queue reasons and counts; a file refused in a late
part leaves nothing; the same file again adds nothing. Here every file is read apart, in parts of 3 movements
(the first part fewer), and compared with the same file imported in one process, in a savepoint rolled back in
between."""

from __future__ import annotations

import contextlib
import datetime
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from famhp.billing.models import Invoice
from famhp.payments import parsers, services
from famhp.payments.models import Allocation, BankLine, StatementFile
from famhp.payments.samples import Payment, camt053, coda
from famhp.payments.selectors import queue_reason, unmatched_lines
from famhp.payments.services import statement_import
from famhp.registry.models import Operator
from tests.portal.factories import belgian, invoice_for

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 1, 15)
Writer = Callable[[list[Payment]], bytes]


def as_camt(payments: list[Payment]) -> bytes:
    return camt053(payments, statement_id="2026-015", version=8)


def as_coda(payments: list[Payment]) -> bytes:
    return coda(payments, statement=7, day=DAY)


@pytest.fixture
def read_apart(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[bool], list[bool]]]:
    """``read_apart(True)``: every file from now on read by a second process, 3 movements a part; ``False``: read
    whole by the importing process. Returns the list saying, per import read apart, whether a second process
    did read it."""
    used: list[bool] = []
    real = services._read_apart

    @contextlib.contextmanager
    def spied(data: bytes) -> Iterator[Any]:
        with real(data) as reading:
            used.append(reading is not None)
            yield reading

    monkeypatch.setattr(services, "_read_apart", spied)
    monkeypatch.setattr(parsers, "PART_ENTRIES", 3)

    def switch(apart: bool) -> list[bool]:
        monkeypatch.setattr(services, "READ_APART_FROM", 0 if apart else 1 << 40)
        return used

    yield switch


@pytest.fixture
def invoices() -> tuple[Invoice, Invoice, Operator]:
    medilab = belgian("Medilab NV")
    return invoice_for(medilab, "100.00", sequence=1), invoice_for(medilab, "50.00", sequence=2), medilab


def day_of(invoices: tuple[Invoice, Invoice, Operator], *, with_reversal: bool) -> list[Payment]:
    """A day of movements of every kind, over several parts of 3."""
    first, second, _operator = invoices
    payments = [
        Payment(Decimal("100.00"), structured=first.structured_communication, end_to_end="E2E-A"),
        # the same movement as the earlier file's (a possible duplicate): kept, queued, not matched
        Payment(Decimal("30.00"), structured=second.structured_communication, end_to_end="E2E-B"),
        Payment(Decimal("20.00"), free_text="no reference", end_to_end="E2E-C"),
        Payment(Decimal("10.00"), structured=second.structured_communication, pending=True, end_to_end="E2E-D"),
        Payment(
            Decimal("20.00"),
            end_to_end="E2E-E",
            details=[
                Payment(Decimal("15.00"), structured=second.structured_communication, end_to_end="E2E-E1"),
                Payment(Decimal("5.00"), free_text=f"for {second.formatted_communication}", end_to_end="E2E-E2"),
            ],
        ),
        Payment(Decimal("-2.50"), payer="Bank fees", free_text="fees January", end_to_end="E2E-F"),
        Payment(Decimal("7.00"), payer="Other Payer BV", structured=second.structured_communication, end_to_end="G"),
        Payment(Decimal("8.00"), free_text="AT2025-000001", end_to_end="E2E-H"),
        Payment(Decimal("9.00"), structured="000000000097", end_to_end="E2E-I"),
    ]
    if with_reversal:  # the first credit returned in the same file, parts later: never matched, its return queued
        payments.append(
            Payment(Decimal("-100.00"), end_to_end="E2E-A", reversal=True, return_reason="AC04", free_text="return")
        )
    payments.append(Payment(Decimal("11.00"), free_text="last", end_to_end="E2E-Z"))
    return payments


def stored(statement: StatementFile) -> dict[str, Any]:
    """What an import stored, without the ids the database gave (a line named by its fingerprint)."""
    lines = list(BankLine.objects.filter(statement_file=statement).order_by("pk"))
    fingerprints = {line.pk: line.fingerprint for line in BankLine.objects.all()}
    waiting = {line.pk for line in unmatched_lines()}

    def reason(line: BankLine) -> str | None:
        if line.pk not in waiting:
            return None
        return queue_reason(line).replace(f"line {line.twin_of_id} ", "line (its twin) ")

    columns = [field.attname for field in BankLine._meta.concrete_fields if field.attname not in {"id", "created_at"}]
    return {
        "counts": (statement.format, statement.lines_new, statement.lines_twin, statement.lines_matched),
        "lines": [
            (
                *(getattr(line, name) for name in columns if not name.endswith("_id")),
                fingerprints.get(line.twin_of_id or 0),
                fingerprints.get(line.reverses_line_id or 0),
                reason(line),
            )
            for line in lines
        ],
        "allocations": sorted(
            (
                fingerprints[allocation.bank_line_id],
                allocation.invoice_id,
                allocation.operator_id,
                allocation.amount,
                allocation.automatic,
                allocation.third_party,
                allocation.payer_name,
                fingerprints[allocation.reverses.bank_line_id] if allocation.reverses else None,
            )
            for allocation in Allocation.objects.filter(bank_line__statement_file=statement)
        ),
    }


def imported_both_ways(data: bytes, read_apart: Callable[[bool], list[bool]]) -> tuple[dict[str, Any], ...]:
    """The file imported read whole, then read apart, each in a savepoint rolled back after; the same file
    again a no-op both times."""
    results = []
    for apart in (False, True):
        used = read_apart(apart)
        with transaction.atomic():
            statement, new = statement_import(data=data, name="day.file")
            again, new_again = statement_import(data=data, name="again")
            assert new and not new_again and again.pk == statement.pk
            results.append(stored(statement))
            transaction.set_rollback(True)
    assert used == [True]  # read by a second process the second time (and only then)
    return tuple(results)


@pytest.mark.parametrize("with_reversal", [True, False], ids=["stored-then-matched", "matched-as-read"])
@pytest.mark.parametrize(("write", "earlier"), [(as_camt, as_coda), (as_coda, as_camt)], ids=["camt053", "coda"])
def test_a_file_read_apart_stores_what_the_whole_file_read_at_once_stores(
    write: Writer,
    earlier: Writer,
    with_reversal: bool,
    invoices: tuple[Invoice, Invoice, Operator],
    read_apart: Callable[[bool], list[bool]],
) -> None:
    first, second, medilab = invoices
    # the 30.00 of E2E-B received before in the other format: its twin in the file waits as a possible duplicate
    twin_before, _new = statement_import(
        data=earlier([Payment(Decimal("30.00"), structured=second.structured_communication)]), name="before"
    )
    whole, apart = imported_both_ways(write(day_of(invoices, with_reversal=with_reversal)), read_apart)
    assert apart == whole
    # and what it is, worked out by hand: 10 entries (11 with the return), the batch's two details each a line
    # (11 or 12 lines); one twin; matched: 15.00 + 5.00 (the batch's details to the second invoice), 7.00 (its
    # communication, another payer), 10.00 unless pending (camt.053; CODA has no pending entries), and 100.00
    # unless returned in the file; waiting: the twin, the no-reference 20.00, 8.00 (an invoice number only), 9.00
    # (a valid communication of no invoice), 11.00, the fee (6), the pending 10.00, and the return (the returned
    # credit is settled by it)
    camt = write is as_camt
    lines = 12 if with_reversal else 11
    matched = 3 + (0 if camt else 1) + (0 if with_reversal else 1)
    assert whole["counts"] == (("camt053" if camt else "coda"), lines, 1, matched)
    reasons = [line[-1] for line in whole["lines"]]
    assert sum(1 for r in reasons if r and r.startswith("Possible duplicate of line (its twin)")) == 1
    assert sum(1 for r in reasons if r is not None) == 6 + (1 if camt else 0) + (1 if with_reversal else 0)
    paid = {(a[1], a[3]) for a in whole["allocations"]}
    expected = {(second.pk, Decimal("15.00")), (second.pk, Decimal("5.00")), (second.pk, Decimal("7.00"))}
    expected |= set() if camt else {(second.pk, Decimal("10.00"))}
    assert paid == (expected if with_reversal else expected | {(first.pk, Decimal("100.00"))})
    assert any(a[5] for a in whole["allocations"])  # 7.00 from Other Payer BV: a third party (FAQ 19)
    assert twin_before.lines_new == 1 and medilab.pk


def test_a_large_file_is_read_by_a_second_process_in_parts(
    invoices: tuple[Invoice, Invoice, Operator], read_apart: Callable[[bool], list[bool]]
) -> None:
    data = as_camt(day_of(invoices, with_reversal=False))
    reading = parsers.read(data, 3)
    # 10 entries, 1 then 3 a part: entries 1 | 2-4 | 5-7 (5 the batch of two) | 8-10
    assert [len(part) for part in reading.parts] == [1, 3, 4, 3]
    used = read_apart(True)
    statement, _new = statement_import(data=data, name="day.xml")
    assert used == [True] and statement.lines_new == 11


def refused(data: bytes, words: str, read_apart: Callable[[bool], list[bool]], *, at_start: bool = False) -> None:
    """Refused, read apart, with these words; nothing stored, by this import or left half-done. ``at_start``:
    refused by the second process before it gave its first word on the file (the import never began)."""
    counts = (StatementFile.objects.count(), BankLine.objects.count(), Allocation.objects.count())
    used = read_apart(True)
    with pytest.raises(ValidationError, match=words):
        statement_import(data=data, name="bad.file")
    assert used == ([] if at_start else [True])
    assert (StatementFile.objects.count(), BankLine.objects.count(), Allocation.objects.count()) == counts


def test_a_camt_file_whose_balance_is_wrong_is_refused_after_its_last_part_and_leaves_nothing(
    invoices: tuple[Invoice, Invoice, Operator], read_apart: Callable[[bool], list[bool]]
) -> None:
    data = as_camt(day_of(invoices, with_reversal=False))
    # opening 1,000.00 + the booked entries 100 + 30 + 20 + 20 − 2.50 + 7 + 8 + 9 + 11 = 1,202.50; said 1,203.50
    assert b'<Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1202.50</Amt>' in data
    bad = data.replace(b'<Amt Ccy="EUR">1202.50</Amt>', b'<Amt Ccy="EUR">1203.50</Amt>')
    refused(bad, "the closing balance", read_apart)


def test_an_entry_that_cannot_be_read_in_a_late_part_refuses_the_file_and_leaves_nothing(
    invoices: tuple[Invoice, Invoice, Operator], read_apart: Callable[[bool], list[bool]]
) -> None:
    data = as_camt(day_of(invoices, with_reversal=False))
    bad = re.sub(rb'<Amt Ccy="EUR">11.00</Amt><CdtDbtInd>', b'<Amt Ccy="EUR">eleven</Amt><CdtDbtInd>', data)
    assert bad != data
    refused(bad, r"entry 10 \(line \d+\): no readable amount", read_apart)


def test_a_coda_statement_that_does_not_add_up_refuses_the_file_after_others_were_stored(
    invoices: tuple[Invoice, Invoice, Operator], read_apart: Callable[[bool], list[bool]]
) -> None:
    payments = day_of(invoices, with_reversal=False)
    good = coda(payments, statement=1, day=DAY)
    second = coda(payments[:3], statement=2, day=DAY).decode("windows-1252").splitlines()
    trailer = second[-1]
    second[-1] = trailer[:16] + "999999" + trailer[22:]  # record 9: the number of records
    refused(good + ("\n".join(second) + "\n").encode("windows-1252"), "the trailer counts 999999 records", read_apart)


def test_a_file_that_is_no_statement_is_refused_and_leaves_nothing(read_apart: Callable[[bool], list[bool]]) -> None:
    refused(b"neither", "neither a CODA file", read_apart, at_start=True)
    # well-formed or not is known at the document's end, parts later: what they stored is rolled back
    refused(b"<Document><BkToCstmrStmt>", "not well-formed XML", read_apart)


def test_a_camt_file_cut_off_is_refused_after_its_parts_were_stored_and_leaves_nothing(
    invoices: tuple[Invoice, Invoice, Operator], read_apart: Callable[[bool], list[bool]]
) -> None:
    data = as_camt(day_of(invoices, with_reversal=False))
    refused(data[: data.rindex(b"</Stmt>")], "not well-formed XML", read_apart)
