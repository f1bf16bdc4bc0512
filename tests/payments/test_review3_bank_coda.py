"""Review 3 of the bank import: CODA files written here by hand, record by record, from the Febelfin "Coded
statement of account" (CODA) 2.x layout: 128 characters a record; record 0 (header, version 2 at 128), 1 (old
balance: account structure at 2, paper number 3-5, account 6-42, sign 43, balance 44-58 with 3 decimals, date
59-64), 2.1 (sequence 3-6, detail 7-10, bank reference 11-31, sign 32, amount 33-47, value date 48-53, transaction
code 54-61, communication type 62, communication 63-115 (structured: type 101 at 63-65, 12 digits 66-77), entry
date 116-121, globalisation code 125, next code 126), 2.2 (communication 11-63, customer reference 64-98, type of
R-transaction 113, ISO reason 114-117), 2.3 (counterparty account 11-47, name 48-82, communication 83-125), 3.1
(information), 4 (free communication), 8 (new balance: sign 42, balance 43-57, date 58-63) and 9 (number of records
1, 2.x, 3.x and 8 at 17-22, debits 23-37, credits 38-52). Files in windows-1252, as banks write them. Expected
outcomes from RULES.md (D12) and ADR 12."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from famhp.payments.models import Allocation, BankLine, StatementFile
from famhp.payments.selectors import invoice_status, queue_reason, unmatched_lines
from famhp.payments.services import statement_import
from famhp.registry.models import Operator
from tests.portal.factories import belgian, invoice_for

pytestmark = pytest.mark.django_db

AGENCY_NUMBER = "539007547034"  # a Belgian account number (account structure 0): 5390075470 mod 97 = 34
AGENCY_IBAN = "BE68539007547034"


def record(*fields: tuple[int, str]) -> str:
    """A 128-character record with each text at its 1-based position."""
    line = [" "] * 128
    for start, text in fields:
        line[start - 1 : start - 1 + len(text)] = list(text)
    assert len(line) == 128
    return "".join(line)


def coda_amount(value: Decimal) -> tuple[str, str]:
    """The sign code (0 credit, 1 debit) and 15 digits with 3 decimals."""
    return ("1" if value < 0 else "0"), f"{int(abs(value) * 1000):015d}"


def ddmmyy(day: datetime.date) -> str:
    return day.strftime("%d%m%y")


@dataclass
class Move:
    amount: Decimal
    ogm: str = ""  # 12 digits: a structured communication (type 1, code 101)
    text: str = ""  # else a free communication (type 0)
    name: str = "Medilab NV"
    iban: str = "BE62510007547061"
    end_to_end: str = ""
    r_type: str = " "  # record 2.2 position 113: 1 reject, 2 return, 3 refund, 4 reversal, 5 cancellation
    reason: str = ""
    booked: datetime.date = datetime.date(2026, 1, 15)
    code: str = (
        "10150000"  # transaction code: type 1, family 01, transaction 50 (transfer in your favour), category 000
    )


def movement(move: Move, sequence: int, detail: int = 0, glob: str = "0") -> list[str]:
    sign, digits = coda_amount(move.amount)
    seq, det = f"{sequence:04d}", f"{detail:04d}"
    if move.ogm:
        kind, communication = "1", "101" + move.ogm
    else:
        kind, communication = "0", move.text[:53]
    r21 = record(
        (1, "21"),
        (3, seq),
        (7, det),
        (11, f"REF{sequence:06d}{detail:04d}".ljust(21)),
        (32, sign),
        (33, digits),
        (48, ddmmyy(move.booked)),
        (54, move.code),
        (62, kind),
        (63, communication),
        (116, ddmmyy(move.booked)),
        (122, "015"),
        (125, glob),
        (126, "1"),  # a record 2.2 follows
        (128, "0"),
    )
    r22 = record(
        (1, "22"), (3, seq), (7, det), (64, move.end_to_end), (99, "GEBABEBB"), (113, move.r_type), (114, move.reason),
        (126, "1"), (128, "0"),
    )  # fmt: skip
    r23 = record((1, "23"), (3, seq), (7, det), (11, move.iban), (48, move.name), (128, "0"))
    return [r21, r22, r23]


def statement(
    moves: list[Move],
    *,
    paper: int = 15,
    old: Decimal = Decimal("1000.00"),
    day: datetime.date = datetime.date(2026, 1, 15),
    account: str = AGENCY_NUMBER,
    structure: str = "0",
    globalised: dict[int, list[Move]] | None = None,
    information: bool = False,
    currency: str = "EUR",
) -> list[str]:
    """One statement, records 0 to 9; ``globalised``: for the movement at that index, its details (the movement is
    then their total, detail 0000, globalisation code 1, the details code 0)."""
    globalised = globalised or {}
    body: list[str] = []
    for n, move in enumerate(moves, start=1):
        body += movement(move, n, glob="1" if n - 1 in globalised else "0")
        for d, detail in enumerate(globalised.get(n - 1, []), start=1):
            body += movement(detail, n, d)
    if information:
        body.append(record((1, "31"), (3, "0001"), (7, "0000"), (11, "REF".ljust(21)), (40, "info"), (128, "0")))
    credits = sum((m.amount for m in moves if m.amount > 0), Decimal("0"))
    debits = -sum((m.amount for m in moves if m.amount < 0), Decimal("0"))
    new = old + credits - debits
    account_field = (account, (19, currency)) if structure == "0" else (account, (40, currency))
    header = record((1, "0"), (2, "0000"), (6, ddmmyy(day)), (12, "300"), (15, "05"), (35, "FAMHP"), (128, "2"))
    old_sign, old_digits = coda_amount(old)
    old_record = record(
        (1, "1"), (2, structure), (3, f"{paper:03d}"), (6, account_field[0]), account_field[1], (43, old_sign),
        (44, old_digits), (59, ddmmyy(day - datetime.timedelta(days=1))), (65, "FAMHP"), (126, f"{paper:03d}"),
    )  # fmt: skip
    new_sign, new_digits = coda_amount(new)
    new_record = record(
        (1, "8"), (2, f"{paper:03d}"), (5, account), (42, new_sign), (43, new_digits), (58, ddmmyy(day))
    )
    free = record((1, "4"), (2, " "), (3, "0001"), (7, "0000"), (33, "a free communication record"), (128, "0"))
    counted = 1 + len(body) + 1  # records 1, 2.x, 3.x and 8 (not 0, 4, 9)
    trailer = record(
        (1, "9"), (17, f"{counted:06d}"), (23, f"{int(debits * 1000):015d}"), (38, f"{int(credits * 1000):015d}"),
        (128, "2"),
    )  # fmt: skip
    return [header, old_record, *body, free, new_record, trailer]


def coda(*statements: list[str], encoding: str = "windows-1252") -> bytes:
    return ("\r\n".join(line for s in statements for line in s) + "\r\n").encode(encoding)


def replaced(lines: list[str], kind: str, start: int, text: str) -> list[str]:
    """The statement with the first record starting with ``kind`` changed at ``start``."""
    for n, line in enumerate(lines):
        if line.startswith(kind):
            lines = list(lines)
            lines[n] = line[: start - 1] + text + line[start - 1 + len(text) :]
            return lines
    raise AssertionError(kind)


@pytest.fixture
def medilab() -> Operator:
    return belgian("Medilab NV")


def imported(data: bytes, name: str = "day.cod") -> StatementFile:
    result, new = statement_import(data=data, name=name)
    assert new
    return result


def test_a_structured_communication_type_101_pays_its_invoice_and_a_free_text_one_too(medilab: Operator) -> None:
    a, b = invoice_for(medilab, "100.00", sequence=1), invoice_for(medilab, "80.00", sequence=2)
    c = b.structured_communication
    moves = [
        Move(Decimal("100.00"), ogm=a.structured_communication),
        Move(Decimal("80.00"), text=f"+++{c[:3]}/{c[3:7]}/{c[7:]}+++"),
    ]
    result = imported(coda(statement(moves, information=True)))
    assert (result.lines_new, result.lines_matched) == (2, 2)
    assert invoice_status(a) == "paid" and invoice_status(b) == "paid"
    line = BankLine.objects.get(amount=Decimal("100.00"))
    # account structure 0 (a Belgian account number) is stored as written; the payer's IBAN from record 2.3
    assert (line.account, line.counterparty_account, line.counterparty_name) == (
        AGENCY_NUMBER,
        "BE62510007547061",
        "Medilab NV",
    )


def test_several_statements_of_several_accounts_in_one_file(medilab: Operator) -> None:
    a, b = invoice_for(medilab, "100.00", sequence=1), invoice_for(medilab, "200.00", sequence=2)
    first = statement([Move(Decimal("100.00"), ogm=a.structured_communication)], paper=15)
    second = statement(
        [Move(Decimal("200.00"), ogm=b.structured_communication), Move(Decimal("-12.34"), text="costs")],
        paper=3,
        account="BE71096123456769",
        structure="2",  # a Belgian IBAN
    )
    result = imported(coda(first, second))
    assert (result.lines_new, result.lines_matched) == (3, 2)
    assert sorted(BankLine.objects.values_list("account", flat=True)) == [
        AGENCY_NUMBER,
        "BE71096123456769",
        "BE71096123456769",
    ]
    assert invoice_status(a) == "paid" and invoice_status(b) == "paid"
    (debit,) = unmatched_lines()
    assert debit.amount == Decimal("-12.34") and "A debit" in queue_reason(debit)


def test_a_statement_of_a_dollar_account_is_never_allocated(medilab: Operator) -> None:
    """Account structure 3 (a foreign IBAN), currency USD at positions 40-42: D12, never allocated automatically."""
    invoice = invoice_for(medilab, "100.00")
    moves = [Move(Decimal("100.00"), ogm=invoice.structured_communication)]
    result = imported(coda(statement(moves, account="LU280019400644750000", structure="3", currency="USD")))
    assert (result.lines_new, result.lines_matched) == (1, 0)
    (line,) = unmatched_lines()
    assert line.currency == "USD" and "USD, not euro" in queue_reason(line)
    assert invoice_status(invoice) == "unpaid"


def test_globalised_details_each_pay_their_own_invoice(medilab: Operator) -> None:
    a, b = invoice_for(medilab, "40.00", sequence=1), invoice_for(medilab, "60.00", sequence=2)
    total = Move(Decimal("100.00"), text="collective")  # 40.00 + 60.00 = 100.00
    details = [
        Move(Decimal("40.00"), ogm=a.structured_communication),
        Move(Decimal("60.00"), ogm=b.structured_communication),
    ]
    result = imported(coda(statement([total], globalised={0: details})))
    assert (result.lines_new, result.lines_matched) == (2, 2)
    assert invoice_status(a) == "paid" and invoice_status(b) == "paid"


def test_names_in_windows_1252_are_kept(medilab: Operator) -> None:
    invoice = invoice_for(medilab, "100.00")
    imported(coda(statement([Move(Decimal("100.00"), ogm=invoice.structured_communication, name="Société Straße €")])))
    assert BankLine.objects.get().counterparty_name == "Société Straße €"


def test_a_return_in_a_later_file_undoes_the_payment_by_end_to_end_reference(medilab: Operator) -> None:
    invoice = invoice_for(medilab, "100.00")
    imported(
        coda(statement([Move(Decimal("100.00"), ogm=invoice.structured_communication, end_to_end="E2E-9")])), "d1.cod"
    )
    assert invoice_status(invoice) == "paid"
    back = Move(
        Decimal("-100.00"),
        text="return",
        end_to_end="E2E-9",
        r_type="2",
        reason="AC04",
        iban="",
        booked=datetime.date(2026, 1, 20),
    )
    imported(coda(statement([back], paper=16, old=Decimal("1100.00"), day=datetime.date(2026, 1, 20))), "d2.cod")
    assert invoice_status(invoice) == "unpaid"
    line = BankLine.objects.get(reversal=True)
    assert line.return_reason == "AC04" and line.reverses_line is not None
    assert list(Allocation.objects.filter(bank_line=line).values_list("amount", flat=True)) == [Decimal("-100.00")]


def test_a_reversal_in_the_same_file_leaves_its_payment_unallocated(medilab: Operator) -> None:
    invoice = invoice_for(medilab, "100.00")
    moves = [
        Move(Decimal("100.00"), ogm=invoice.structured_communication, end_to_end="E2E-5"),
        Move(Decimal("-100.00"), text="reversal", end_to_end="E2E-5", r_type="4", reason="MS03"),
    ]
    result = imported(coda(statement(moves)))
    assert result.lines_matched == 0 and not Allocation.objects.exists()
    assert invoice_status(invoice) == "unpaid"


# --- refusals -----------------------------------------------------------------------------------------------


def refused(data: bytes, words: str) -> None:
    with pytest.raises(ValidationError) as error:
        statement_import(data=data, name="bad.cod")
    assert words in " ".join(error.value.messages), error.value.messages
    assert not StatementFile.objects.exists() and not BankLine.objects.exists() and not Allocation.objects.exists()


def two(medilab: Operator) -> list[str]:
    invoice = invoice_for(medilab, "100.00")
    return statement(
        [Move(Decimal("100.00"), ogm=invoice.structured_communication), Move(Decimal("-5.00"), text="fee")]
    )


def test_a_new_balance_that_does_not_add_up_is_refused(medilab: Operator) -> None:
    # 1,000.00 + 100.00 − 5.00 = 1,095.00; the bank's record 8 says 1,095.01
    refused(coda(replaced(two(medilab), "8", 43, "000000001095010")), "makes 1,095.00")


def test_a_trailer_with_a_wrong_credit_total_is_refused(medilab: Operator) -> None:
    refused(coda(replaced(two(medilab), "9", 38, "000000000100010")), "the trailer's total of credits is 100.01")


def test_a_trailer_with_a_wrong_record_count_is_refused(medilab: Operator) -> None:
    # records 1, 2.1/2.2/2.3 twice and 8: 1 + 6 + 1 = 8
    refused(coda(replaced(two(medilab), "9", 17, "000009")), "the trailer counts 000009 records, the statement has 8")


def test_a_missing_movement_record_is_refused(medilab: Operator) -> None:
    lines = two(medilab)
    refused(coda([line for line in lines if not line.startswith("23")][:-1] + lines[-1:]), "the trailer counts")


def test_a_missing_new_balance_record_is_refused(medilab: Operator) -> None:
    refused(coda([line for line in two(medilab) if not line.startswith("8")]), "new-balance records (8)")


def test_a_file_cut_before_its_trailer_is_refused(medilab: Operator) -> None:
    refused(coda(two(medilab)[:-2]), "it was cut off")


def test_a_second_statement_that_does_not_add_up_refuses_the_whole_file(medilab: Operator) -> None:
    second = statement([Move(Decimal("7.00"), text="x")], paper=16)
    refused(coda(two(medilab), replaced(second, "8", 43, "000000001007010")), "statement 016")


def test_a_record_of_the_wrong_length_is_refused(medilab: Operator) -> None:
    lines = two(medilab)
    lines[2] = lines[2] + "X"
    refused(coda(lines), "a CODA record has 128 characters, this one 129")


def test_the_same_file_twice_adds_nothing(medilab: Operator) -> None:
    data = coda(two(medilab))
    first, new = statement_import(data=data, name="a.cod")
    again, new_again = statement_import(data=data, name="b.cod")
    assert new and not new_again and again == first
    assert BankLine.objects.count() == 2 and Allocation.objects.count() == 1
