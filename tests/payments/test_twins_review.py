"""ADR 12 addendum, after review: the same movement received as CODA and as camt.053 is recognised however each
format fills its optional fields, a return of a possible duplicate that staff allocated as a second payment undoes
that allocation (not the first payment's), and handling a file's possible duplicates says how many it handled.

The files are written by famhp.payments.samples from the standards' layouts and changed here where a bank writes
a field differently: camt.053 without the optional ``ValDt``, the payer's account as ``DbtrAcct/Id/Othr/Id``
instead of ``IBAN``, a CODA record 1 with account structure 0 (a Belgian account number at positions 6–17,
currency at 19–21) instead of 2 (IBAN), a structured communication written as ``+++…+++`` free text."""

from __future__ import annotations

import datetime
import importlib
import types
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import DatabaseError, connection, transaction

from famhp.payments.models import Allocation, BankLine, StatementFile
from famhp.payments.parsers import account_compact, twin_key
from famhp.payments.samples import ACCOUNT, Payment, camt053, coda
from famhp.payments.selectors import invoice_status, unmatched_lines
from famhp.payments.services import payment_allocate, statement_import, twins_mark_handled
from famhp.registry.models import Operator
from tests.concurrency import POSTGRESQL
from tests.payments.test_refunds_and_account import at_once
from tests.portal.factories import belgian, invoice_for

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 1, 15)
LATER = datetime.date(2026, 1, 20)
#: the agency's account (samples.ACCOUNT, BE71 0961 2345 6769) as a Belgian account number: 096-1234567-69,
#: 0961234567 mod 97 = 69
BELGIAN_ACCOUNT = "096123456769"
#: the payer's IBAN of samples.Payment and its Belgian account number
PAYER_IBAN, PAYER_BELGIAN = "BE62510007547061", "510007547061"


def formatted(ogm: str) -> str:
    return f"+++{ogm[:3]}/{ogm[3:7]}/{ogm[7:]}+++"


def imported(data: bytes, name: str) -> StatementFile:
    statement, new = statement_import(data=data, name=name)
    assert new
    return statement


def as_coda(payments: list[Payment]) -> bytes:
    return coda(payments, statement=7, day=DAY)


def as_camt(payments: list[Payment]) -> bytes:
    return camt053(payments, statement_id="2026-015", version=8)


def camt_without_value_date(payments: list[Payment]) -> bytes:
    data = as_camt(payments)
    value_date = f"<ValDt><Dt>{DAY.isoformat()}</Dt></ValDt>".encode()
    assert value_date in data
    return data.replace(value_date, b"")  # ValDt is optional in camt.053 (0..1)


def camt_payer_as_other_id(payments: list[Payment]) -> bytes:
    data = as_camt(payments)
    iban = f"<DbtrAcct><Id><IBAN>{PAYER_IBAN}</IBAN></Id></DbtrAcct>".encode()
    assert iban in data
    return data.replace(iban, f"<DbtrAcct><Id><Othr><Id>{PAYER_BELGIAN}</Id></Othr></Id></DbtrAcct>".encode())


def coda_belgian_account(payments: list[Payment]) -> bytes:
    """CODA record 1 with account structure 0: 2 "0", 3–5 paper number, 6–17 the Belgian account number, 18 blank,
    19–21 currency, 22 qualification code, 23–24 country, 25–27 blank, 28–42 extension zone; from 43 as before.
    The payer's account of each record 2.3 (11–47) as a Belgian account number and its currency, too."""
    records = as_coda(payments).decode("windows-1252").split("\n")
    out = []
    for record in records:
        written = record
        if record.startswith("1"):
            assert record[1] == "2" and record[5:21] == ACCOUNT
            written = record[:1] + "0" + record[2:5] + BELGIAN_ACCOUNT + " EUR BE" + " " * 18 + record[42:]
        elif record.startswith("23"):
            assert record[10:26] == PAYER_IBAN
            written = record[:10] + f"{PAYER_BELGIAN} EUR".ljust(37) + record[47:]
        assert not written or len(written) == 128
        out.append(written)
    return "\n".join(out).encode("windows-1252")


@pytest.fixture
def medilab() -> Operator:
    return belgian("Medilab NV")


# --- the twin key: what either format may leave out or write otherwise (review point 3) ---------------------------

Writer = Callable[[list[Payment]], bytes]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (as_coda, camt_without_value_date),
        (camt_without_value_date, as_coda),
        (as_coda, camt_payer_as_other_id),
        (camt_payer_as_other_id, as_coda),
        (coda_belgian_account, as_camt),
        (as_camt, coda_belgian_account),
    ],
    ids=[
        "coda-then-camt-without-value-date",
        "camt-without-value-date-then-coda",
        "coda-then-camt-payer-as-other-id",
        "camt-payer-as-other-id-then-coda",
        "coda-belgian-account-then-camt",
        "camt-then-coda-belgian-account",
    ],
)
def test_the_same_movement_written_differently_by_each_format_is_allocated_once(
    first: Writer, second: Writer, medilab: Operator
) -> None:
    invoice = invoice_for(medilab, "100.00")
    day = [Payment(Decimal("100.00"), structured=invoice.structured_communication, payer_account=PAYER_IBAN)]
    one = imported(first(day), "day-one")
    assert (one.lines_new, one.lines_matched, one.lines_twin) == (1, 1, 0)
    other = imported(second(day), "day-other")
    # kept (a fact) and queued as a possible duplicate, not matched: one allocation of 100.00 on an invoice of
    # 100.00 = paid (before the fix: 2 allocations, 200.00, overpaid)
    assert (other.lines_new, other.lines_matched, other.lines_twin) == (1, 0, 1)
    assert Allocation.objects.count() == 1 and invoice_status(invoice) == "paid"


@pytest.mark.parametrize("marks", ["+++", "***"])
@pytest.mark.parametrize("structured_first", [True, False], ids=["structured-then-text", "text-then-structured"])
def test_a_structured_communication_given_as_free_text_in_one_format_is_the_same_movement(
    marks: str, structured_first: bool, medilab: Operator
) -> None:
    invoice = invoice_for(medilab, "100.00")
    ogm = invoice.structured_communication
    as_field = Payment(Decimal("100.00"), structured=ogm)
    written = formatted(ogm).replace("+++", marks)
    as_text = Payment(Decimal("100.00"), free_text=f"Contribution {written} Medilab")
    if structured_first:
        imported(as_coda([as_field]), "structured.coda")
        other = imported(as_camt([as_text]), "text.xml")
    else:
        imported(as_coda([as_text]), "text.coda")
        other = imported(as_camt([as_field]), "structured.xml")
    # the first is matched by its communication (100.00, paid); the second is the same movement: queued
    assert (other.lines_matched, other.lines_twin) == (0, 1)
    assert Allocation.objects.count() == 1 and invoice_status(invoice) == "paid"


def test_the_key_ignores_value_date_payer_and_spacing_but_not_the_amount_day_or_status() -> None:
    base = {
        "account": "BE71 0961 2345 6769",
        "booked_on": DAY,
        "amount": Decimal("100.00"),
        "currency": "EUR",
        "pending": False,
        "structured_communication": "",
        "free_text": "Gift  for the agency",
    }
    key = twin_key(**base)  # type: ignore[arg-type]
    assert twin_key(**{**base, "account": "be71096123456769"}) == key  # type: ignore[arg-type]
    assert twin_key(**{**base, "account": "096-1234567-69"}) == key  # type: ignore[arg-type]
    assert twin_key(**{**base, "free_text": "gift for the  AGENCY"}) == key  # type: ignore[arg-type]
    for changed in (
        {"amount": Decimal("100.01")},
        {"amount": Decimal("-100.00")},
        {"booked_on": LATER},
        {"pending": True},
        {"currency": "USD"},
        {"free_text": "another gift"},
    ):
        assert twin_key(**{**base, **changed}) != key, changed  # type: ignore[arg-type]
    # 096123456769: check digits of BE + 096123456769 = 98 − (096123456769 111400 mod 97) = 71
    assert account_compact("096123456769") == "BE71096123456769"
    assert account_compact("123456789012") == "123456789012"  # 1234567890 mod 97 = 2, not 12: not Belgian


def test_lines_imported_before_get_the_new_key_with_the_facts_protected_again(medilab: Operator) -> None:
    statement = StatementFile.objects.create(sha256="a" * 64, name="old.coda", format="coda")
    line = BankLine.objects.create(
        statement_file=statement,
        fingerprint="f" * 64,
        account=BELGIAN_ACCOUNT,
        booked_on=DAY,
        value_on=DAY,
        amount=Decimal("100.00"),
        counterparty_account=PAYER_IBAN,
        free_text="+++090/9337/55493+++",
        twin_key="key of migration 0004",
    )
    migration = importlib.import_module("famhp.payments.migrations.0005_twin_key_without_value_date_and_payer")
    migration.twin_keys_again(apps, types.SimpleNamespace(connection=connection))
    line.refresh_from_db()
    assert line.twin_key == twin_key(
        account=ACCOUNT,
        booked_on=DAY,
        amount=Decimal("100.00"),
        currency="EUR",
        pending=False,
        structured_communication="090933755493",
        free_text="",
    )
    with pytest.raises(DatabaseError), transaction.atomic():  # the UPDATE trigger is back (ADR 14)
        BankLine.objects.filter(pk=line.pk).update(twin_key="changed")


# --- a return of a possible duplicate allocated as a second payment (review point 1) -----------------------------


def test_a_return_of_a_second_payment_undoes_that_payment_not_the_first(medilab: Operator) -> None:
    i = invoice_for(medilab, "100.00", sequence=1)
    j = invoice_for(medilab, "100.00", sequence=2)
    # L1 (CODA, E1) pays I on import; L2 (camt.053, the same day, amount, payer and communication, E2) is held
    first = Payment(Decimal("100.00"), structured=i.structured_communication, end_to_end="E1")
    second = Payment(Decimal("100.00"), structured=i.structured_communication, end_to_end="E2")
    imported(as_coda([first]), "day.coda")
    other = imported(as_camt([second]), "day.xml")
    l2 = BankLine.objects.get(statement_file=other)
    assert l2.twin_of is not None and l2.end_to_end_id == "E2"
    # staff decide it was a real second payment, meant for J
    payment_allocate(line=l2, invoice=j, amount=Decimal("100.00"), by=None, seen=Decimal("0.00"), second_payment=True)
    assert invoice_status(i) == "paid" and invoice_status(j) == "paid"
    # the bank returns L2 (E2)
    returned = Payment(
        Decimal("-100.00"),
        structured=i.structured_communication,
        end_to_end="E2",
        reversal=True,
        return_reason="AC04",
        booked=LATER,
    )
    imported(coda([returned], statement=8, old_balance=Decimal("1100.00"), day=LATER), "return.coda")
    # J: 100.00 − 100.00 returned = 0.00, unpaid; I keeps its 100.00 (before the fix: I unpaid, J paid)
    assert invoice_status(i) == "paid" and invoice_status(j) == "unpaid"
    assert BankLine.objects.get(reversal=True).reverses_line == l2


def test_a_return_without_reference_still_leaves_an_unallocated_duplicate_alone(medilab: Operator) -> None:
    invoice = invoice_for(medilab, "100.00")
    payment = Payment(Decimal("100.00"), structured=invoice.structured_communication)
    l1 = BankLine.objects.get(statement_file=imported(as_coda([payment]), "day.coda"))
    imported(as_camt([payment]), "day.xml")  # its possible duplicate, nobody allocated it
    returned = Payment(
        Decimal("-100.00"),
        structured=invoice.structured_communication,
        reversal=True,
        return_reason="AC04",
        booked=LATER,
    )
    imported(coda([returned], statement=8, old_balance=Decimal("1100.00"), day=LATER), "return.coda")
    # found by the structured communication: the allocated L1, not its later unallocated twin: 100 − 100 = unpaid
    assert BankLine.objects.get(reversal=True).reverses_line == l1
    assert invoice_status(invoice) == "unpaid"


# --- handling a file's possible duplicates at once (review point 4) ------------------------------------------------


def test_handling_a_files_duplicates_counts_what_it_handled(medilab: Operator) -> None:
    invoice = invoice_for(medilab, "100.00")
    day = [
        Payment(Decimal("100.00"), structured=invoice.structured_communication),
        Payment(Decimal("5.00"), free_text="no reference"),
        Payment(Decimal("6.00"), free_text="allocated by staff"),
    ]
    imported(as_coda(day), "day.coda")
    other = imported(as_camt(day), "day.xml")
    allocated = BankLine.objects.get(statement_file=other, amount=Decimal("6.00"))
    payment_allocate(line=allocated, invoice=invoice, amount=Decimal("6.00"), by=None, second_payment=True)
    # 3 twins, one of them allocated by staff: 2 handled, then none
    assert twins_mark_handled(statement=other, by=None, note="the camt.053 of day.coda") == 2
    assert twins_mark_handled(statement=other, by=None) == 0
    assert not unmatched_lines().filter(statement_file=other).exclude(pk=allocated.pk).exists()


@POSTGRESQL
@pytest.mark.django_db(transaction=True)
def test_handling_a_files_duplicates_twice_at_once_counts_each_line_once() -> None:
    operator = belgian("Twice At Once NV")
    invoice = invoice_for(operator, "100.00")
    day = [
        Payment(Decimal("100.00"), structured=invoice.structured_communication),
        Payment(Decimal("5.00"), free_text="no reference"),
    ]
    statement_import(data=as_coda(day), name="day.coda")
    other, _new = statement_import(data=as_camt(day), name="day.xml")
    counts, errors = at_once(lambda: twins_mark_handled(statement=other, by=None, note="twice"))
    assert not errors, errors
    # two twins handled in all: 2 + 0 (before the fix each call said 2: 4 for two lines)
    assert sorted(counts) == [0, 2]
