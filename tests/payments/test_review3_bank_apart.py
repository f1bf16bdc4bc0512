"""Review 3 of the bank import: files larger than the size from which a second process reads them
(``services.READ_APART_FROM``, 4 MiB), written by hand (tests.payments.test_review3_bank_camt / _coda), so that the
forked, part-by-part path runs as in production; parts made small (``parsers.PART_ENTRIES``) so that statements,
days, batches, twins and a reversal straddle them. Each file is imported read whole (in a savepoint rolled back)
and read apart, and both must store the same lines, twins, reversals, allocations, queue reasons and counts; the
figures are also checked against what was worked out by hand. A refusal in a late part leaves nothing."""

from __future__ import annotations

import contextlib
import datetime
import os
import re
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import translation

from famhp.billing.models import Invoice
from famhp.payments import parsers, services
from famhp.payments.models import Allocation, BankLine, StatementFile
from famhp.payments.selectors import invoice_status
from famhp.payments.services import statement_import
from tests.payments import test_review3_bank_coda as C
from tests.payments.test_import_apart import stored
from tests.payments.test_review3_bank_camt import Entry, Statement, Tx, camt
from tests.portal.factories import belgian, invoice_for

pytestmark = pytest.mark.django_db

SECOND = "BE71096123456769"
PAD = "<AddtlNtryInf>" + "x" * 500 + "</AddtlNtryInf></Ntry>"


@pytest.fixture
def read_apart(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[bool], list[bool]]]:
    """``read_apart(True)``: files from the real threshold on read by a second process, 400 movements a part;
    ``False``: every file read whole. Returns, per import that tried, whether a second process read it."""
    used: list[bool] = []
    real, threshold = services._read_apart, services.READ_APART_FROM

    @contextlib.contextmanager
    def spied(data: bytes) -> Iterator[Any]:
        with real(data) as reading:
            used.append(reading is not None)
            yield reading

    monkeypatch.setattr(services, "_read_apart", spied)
    monkeypatch.setattr(parsers, "PART_ENTRIES", 400)

    def switch(apart: bool) -> list[bool]:
        monkeypatch.setattr(services, "READ_APART_FROM", threshold if apart else 1 << 40)
        return used

    yield switch


def both_ways(data: bytes, read_apart: Callable[[bool], list[bool]]) -> tuple[dict[str, Any], dict[str, Any]]:
    assert len(data) >= services.READ_APART_FROM  # the production threshold, not lowered
    results = []
    for apart in (False, True):
        used = read_apart(apart)
        with transaction.atomic():
            statement, new = statement_import(data=data, name="large.file")
            again, new_again = statement_import(data=data, name="again")
            assert new and not new_again and again.pk == statement.pk
            results.append(stored(statement))
            transaction.set_rollback(True)
    assert used == [True]
    return results[0], results[1]


def day(n: int) -> str:
    return f"<Dt>2026-01-{n:02d}</Dt>"


def invoices(count: int) -> list[Invoice]:
    medilab = belgian("Medilab NV")
    return [invoice_for(medilab, "10.00", sequence=n) for n in range(1, count + 1)]


def earlier_coda() -> bytes:
    """The day received before as CODA (Belgian account number, structure 0): 30.00 on the 15th, two identical
    12.00 on the 15th, 44.00 on the 16th."""
    moves = [
        C.Move(Decimal("30.00"), text="twin thirty", booked=datetime.date(2026, 1, 15)),
        C.Move(Decimal("12.00"), text="twin double", booked=datetime.date(2026, 1, 15)),
        C.Move(Decimal("12.00"), text="twin double", booked=datetime.date(2026, 1, 15)),
        C.Move(Decimal("44.00"), text="twin late", booked=datetime.date(2026, 1, 16)),
    ]
    return C.coda(C.statement(moves, paper=1))


def filler(n: int) -> Entry:
    return Entry("1.00", booked=day(14 + n % 3), txs=[Tx(amount="1.00", unstructured=f"filler {n} ".ljust(140, "."))])


def test_a_large_camt_document_read_apart_stores_what_it_stores_read_whole(
    read_apart: Callable[[bool], list[bool]],
) -> None:
    paid = invoices(20)
    assert statement_import(data=earlier_coda(), name="earlier.cod")[0].lines_new == 4
    first: list[Entry] = [
        Entry(
            "100.00",
            booked=day(14),
            txs=[Tx(amount="100.00", structured=paid[0].structured_communication, end_to_end="E2E-A")],
        )
    ]
    for n in range(1, 3000):
        if n == 30:
            first.append(Entry("12.00", booked=day(15), txs=[Tx(amount="12.00", unstructured="twin double")]))
        elif n == 399:  # a batch of two across the end of the first parts: 4.00 + 6.00
            txs = [Tx(amount=a, structured=paid[i].structured_communication) for a, i in (("4.00", 1), ("6.00", 2))]
            first.append(Entry("10.00", booked=day(15), batch=True, txs=txs))
        elif n == 900:
            first.append(Entry("30.00", booked=day(15), txs=[Tx(amount="30.00", unstructured="twin thirty")]))
        elif n == 1500:
            first.append(Entry("12.00", booked=day(15), txs=[Tx(amount="12.00", unstructured="twin double")]))
        elif n == 2000:
            first.append(Entry("44.00", booked=day(16), txs=[Tx(amount="44.00", unstructured="twin late")]))
        elif n == 2100:
            pending = Entry(
                "10.00",
                status="PDNG",
                booked=day(16),
                txs=[Tx(amount="10.00", structured=paid[3].structured_communication)],
            )
            first.append(pending)
        elif (
            n % 250 == 0
        ):  # 10.00 on invoices 5 to 15, eleven of them: n = 250, 500, 750, 1000, ..., 2750 but 1500, 2000
            first.append(
                Entry(
                    "10.00",
                    booked=day(15),
                    txs=[Tx(amount="10.00", structured=paid[4 + n // 250].structured_communication)],
                )
            )
        else:
            first.append(filler(n))
    # the first credit returned at the end of the first statement
    first.append(
        Entry("100.00", credit=False, reversal=True, booked=day(16), txs=[Tx(amount="100.00", end_to_end="E2E-A")])
    )
    second = [filler(n) for n in range(400)]
    second[5] = Entry("10.00", booked=day(15), txs=[Tx(amount="10.00", structured=paid[16].structured_communication)])
    second.append(Entry("3.50", credit=False, booked=day(16), txs=[Tx(amount="3.50", unstructured="fees")]))
    data = camt(
        [Statement(first, ident="S-1", opening="0"), Statement(second, ident="S-2", account=SECOND, opening="0")],
        version=8,
    ).replace(b"</Ntry>", PAD.encode())
    whole, apart = both_ways(data, read_apart)
    assert apart == whole
    # by hand: statement 1 has 3,000 entries + the return = 3,001, the batch two lines: 3,002 lines; statement 2
    # 401; 3,403 lines. Twins: 12.00 twice, 30.00, 44.00 = 4. Matched: the batch's 2, the 10.00 on invoices 5..15
    # at n = 250, 500, 750, 1000, 1250, 1750, 2250, 2500, 2750 (9: 1500 and 2000 are twins) and statement 2's 1
    # = 12; not the 100.00 (returned), not the pending 10.00.
    assert whole["counts"] == ("camt053", 3403, 4, 12)
    allocated = sorted(a[3] for a in whole["allocations"])
    assert allocated == [Decimal("4.00"), Decimal("6.00")] + [Decimal("10.00")] * 10
    reasons = [line[-1] for line in whole["lines"] if line[-1]]
    assert sum(1 for r in reasons if r.startswith("Possible duplicate")) == 4
    # the two 12.00 twins each name their own earlier line
    twins_of = {line[-3] for line in whole["lines"] if line[-1] and "12.00" in line[-1]}
    assert len(twins_of) == 2


def coda_large() -> tuple[bytes, list[Invoice]]:
    """12 statements of 950 movements, two accounts by turn: 11,400 movements, 34,200 records 2.x."""
    paid = invoices(12)
    statements = []
    for s in range(12):
        moves = [C.Move(Decimal("1.00"), text=f"filler {s}-{n}", name="Payer Ltd") for n in range(950)]
        moves[400] = C.Move(Decimal("10.00"), ogm=paid[s].structured_communication)
        if s == 0:
            moves[0] = C.Move(Decimal("100.00"), ogm=paid[0].structured_communication, end_to_end="E2E-A")
            moves[10] = C.Move(Decimal("12.00"), text="twin double", booked=datetime.date(2026, 1, 15))
        if s == 5:
            moves[10] = C.Move(Decimal("12.00"), text="twin double", booked=datetime.date(2026, 1, 15))
            moves[20] = C.Move(Decimal("30.00"), text="twin thirty", booked=datetime.date(2026, 1, 15))
        if s == 10:  # the same account as statement 1 (statements 1, 3, ..., 11: the agency's account number)
            moves[-1] = C.Move(Decimal("-100.00"), text="return", end_to_end="E2E-A", r_type="2", reason="AC04")
        account = C.AGENCY_NUMBER if s % 2 == 0 else SECOND
        statements.append(C.statement(moves, paper=s + 1, account=account, structure="0" if s % 2 == 0 else "2"))
    return C.coda(*statements), paid


def test_a_large_coda_file_read_apart_stores_what_it_stores_read_whole(
    read_apart: Callable[[bool], list[bool]],
) -> None:
    data, _paid = coda_large()
    camt_before = camt(
        [
            Statement(
                [
                    Entry("30.00", booked=day(15), txs=[Tx(amount="30.00", unstructured="twin thirty")]),
                    Entry("12.00", booked=day(15), txs=[Tx(amount="12.00", unstructured="twin double")]),
                    Entry("12.00", booked=day(15), txs=[Tx(amount="12.00", unstructured="twin double")]),
                ]
            )
        ]
    )
    assert statement_import(data=camt_before, name="before.xml")[0].lines_new == 3
    whole, apart = both_ways(data, read_apart)
    assert apart == whole
    # by hand: 11,400 lines. Twins: the camt.053 lines are of the agency's IBAN; statement 1 is of the same account
    # (its Belgian account number): its 12.00 is a twin; statement 6's 12.00 and 30.00 are of the second account:
    # none. 1 twin. Matched: the 10.00 of each of the 12 statements; statement 1's 100.00 is returned by statement
    # 11 (same account, found by its end-to-end reference): 12.
    assert whole["counts"] == ("coda", 11400, 1, 12)


def test_a_large_document_whose_last_statement_does_not_add_up_leaves_nothing(
    read_apart: Callable[[bool], list[bool]],
) -> None:
    paid = invoices(1)
    first = [filler(n) for n in range(3500)]
    first[0] = Entry("10.00", txs=[Tx(amount="10.00", structured=paid[0].structured_communication)])
    data = camt(
        [
            Statement(first, ident="S-1", opening="0"),
            # 0.00 + 1.00 = 1.00, the bank says 1.01
            Statement([filler(1)], ident="S-2", account=SECOND, opening="0", closing="1.01"),
        ],
        version=8,
    ).replace(b"</Ntry>", PAD.encode())
    assert len(data) >= services.READ_APART_FROM
    used = read_apart(True)
    with pytest.raises(ValidationError, match="S-2"):
        statement_import(data=data, name="large.xml")
    assert used == [True]
    assert not StatementFile.objects.exists() and not BankLine.objects.exists() and not Allocation.objects.exists()
    # cut off in its last kilobytes: refused as not well-formed, nothing left either
    with pytest.raises(ValidationError, match="not well-formed"):
        statement_import(data=data[:-2000], name="cut.xml")
    assert not StatementFile.objects.exists() and not BankLine.objects.exists()


def refusal(data: bytes) -> str:
    with pytest.raises(ValidationError) as error, transaction.atomic():
        statement_import(data=data, name="groot.xml")
    return " ".join(error.value.messages)


def test_a_large_document_is_refused_in_the_users_language_in_the_same_words_read_apart_or_whole(
    read_apart: Callable[[bool], list[bool]],
) -> None:
    entries = [filler(n) for n in range(3500)]
    data = camt([Statement(entries, ident="S-1", opening="0", closing="3499.99")], version=8).replace(
        b"</Ntry>", PAD.encode()
    )
    assert len(data) >= services.READ_APART_FROM
    with translation.override("nl"):
        read_apart(False)
        whole = refusal(data)
        used = read_apart(True)
        apart = refusal(data)
    assert used == [True]
    # 3,500 entries of 1.00 from 0.00: 3,500.00; the bank says 3,499.99
    assert whole == apart
    assert whole.startswith("groot.xml werd niet geïmporteerd") and "het eindsaldo (CLBD) is 3,499.99" in whole
    assert not StatementFile.objects.exists() and not BankLine.objects.exists()


def large_day() -> tuple[bytes, list[Invoice]]:
    paid = invoices(3)
    entries = [filler(n) for n in range(3500)]
    for n, invoice in enumerate(paid):
        entries[1000 * n + 7] = Entry(
            "10.00", booked=day(15), txs=[Tx(amount="10.00", structured=invoice.structured_communication)]
        )
    data = camt([Statement(entries, opening="0")], version=8).replace(b"</Ntry>", PAD.encode())
    assert len(data) >= services.READ_APART_FROM
    return data, paid


@pytest.mark.skipif(
    connection.vendor != "postgresql" and not os.environ.get("DATABASE_URL"),
    reason="imports at the same moment are shown on PostgreSQL",
)
@pytest.mark.django_db(transaction=True)
def test_a_large_document_imported_twice_at_once_each_read_by_its_own_process_is_added_once() -> None:
    data, paid = large_day()
    barrier, outcomes, errors = threading.Barrier(2), [], []

    def run() -> None:
        translation.activate("en")
        try:
            barrier.wait()
            outcomes.append(statement_import(data=data, name="large.xml")[1])
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert sorted(outcomes) == [False, True]
    assert StatementFile.objects.count() == 1 and BankLine.objects.count() == 3500
    assert Allocation.objects.count() == 3 and all(invoice_status(i) == "paid" for i in paid)


def test_a_prefixed_document_with_an_empty_statement_read_apart_in_small_parts(
    read_apart: Callable[[bool], list[bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every element with a namespace prefix (``c:Stmt``), a statement without entries between two others, the
    last statement's account as ``Othr/Id``: read apart in parts of 3 (the threshold lowered to 0 here)."""
    medilab = belgian("Medilab NV")
    a, b = invoice_for(medilab, "100.00", sequence=1), invoice_for(medilab, "50.00", sequence=2)
    first = [Entry("100.00", txs=[Tx(amount="100.00", structured=a.structured_communication)])]
    first += [Entry("1.00", txs=[Tx(amount="1.00", unstructured=f"f{n}")]) for n in range(7)]
    paid_b = Entry("50.00", txs=[Tx(amount="50.00", structured=b.structured_communication)])
    text = camt(
        [
            Statement(first, ident="S1"),
            Statement([], ident="S0", account=SECOND),
            Statement([paid_b], ident="S2", account=SECOND, account_other=True),
        ],
        version=8,
    ).decode()
    data = re.sub(r"<(/?)([A-Z][A-Za-z]*)", r"<\1c:\2", text.replace('xmlns="urn', 'xmlns:c="urn')).encode()
    monkeypatch.setattr(parsers, "PART_ENTRIES", 3)
    used = read_apart(True)
    monkeypatch.setattr(services, "READ_APART_FROM", 0)
    statement, _new = statement_import(data=data, name="prefixed.xml")
    assert used == [True]
    # 8 + 0 + 1 = 9 lines; 100.00 and 50.00 matched
    assert (statement.lines_new, statement.lines_matched) == (9, 2)
    assert invoice_status(a) == "paid" and invoice_status(b) == "paid"
