"""Issue 11: statement files as the banks send them, written from the standards' layouts (Febelfin CODA 2.x
records 0, 1, 2.1/2.2/2.3, 8, 9; ISO 20022 camt.053 Bal OPBD/CLBD, TxsSummry, Ntry Amt Ccy, CdtDbtInd, RvslInd,
Sts, NtryDtls/TxDtls) by famhp.payments.samples, and by hand where a test needs one record changed. Each case in
both formats where the format has it, each import done twice."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from famhp.billing.models import Invoice
from famhp.billing.services import credit_note_issue
from famhp.payments.models import Allocation, BankLine, StatementFile
from famhp.payments.samples import Payment, camt053, coda
from famhp.payments.selectors import invoice_status, queue_reason, refundable, suggestions, unmatched_lines
from famhp.payments.services import payment_allocate, statement_import
from famhp.registry.models import Operator
from tests.accounts.conftest import staff, staff_client
from tests.portal.factories import belgian, invoice_for

pytestmark = pytest.mark.django_db

Writer = Callable[..., bytes]
FORMATS = pytest.mark.parametrize("write", [coda, camt053], ids=["coda", "camt053"])


@pytest.fixture
def medilab() -> Operator:
    return belgian("Medilab NV", language="nl", email="boekhouding@medilab.example")


def twice(data: bytes, name: str) -> StatementFile:
    """Import a file, then the same file again: the second import adds nothing."""
    statement, new = statement_import(data=data, name=name)
    again, new_again = statement_import(data=data, name=f"again-{name}")
    assert new and not new_again and again.pk == statement.pk
    return statement


def ogm(invoice: Invoice) -> str:
    return invoice.formatted_communication


# --- 1. only booked euro credits are allocated automatically ------------------------------------------------


@FORMATS
def test_another_currency_goes_to_the_queue_never_to_a_euro_invoice(write: Writer, medilab: Operator) -> None:
    invoice = invoice_for(medilab, "100.00")
    twice(write([Payment(Decimal("100.00"), structured=invoice.structured_communication)], currency="USD"), "usd")
    assert invoice_status(invoice) == "unpaid" and not Allocation.objects.exists()
    (line,) = unmatched_lines()
    assert line.currency == "USD" and "USD, not euro" in queue_reason(line)
    assert suggestions(line) == []
    with pytest.raises(ValidationError, match="USD"):
        payment_allocate(line=line, invoice=invoice, amount=Decimal("100.00"), by=None)
    assert refundable(medilab) == Decimal("0.00")  # nothing was taken as euro


def test_a_pending_camt_entry_is_never_allocated_the_booked_one_is() -> None:
    operator = belgian("Pending NV")
    invoice = invoice_for(operator, "80.00")
    pending = Payment(Decimal("80.00"), structured=invoice.structured_communication, pending=True)
    # opening 1,000.00 + booked entries 0.00 = closing 1,000.00: a pending entry does not move the balance
    twice(camt053([pending], version=8, statement_id="INTRADAY"), "pending.xml")
    assert invoice_status(invoice) == "unpaid"
    (line,) = unmatched_lines()
    assert line.status == BankLine.Status.PENDING and "Pending at the bank" in queue_reason(line)
    with pytest.raises(ValidationError, match="pending"):
        payment_allocate(line=line, invoice=invoice, amount=Decimal("80.00"), by=None)
    booked = Payment(Decimal("80.00"), structured=invoice.structured_communication)
    twice(camt053([booked], version=8, statement_id="DAY"), "booked.xml")
    assert invoice_status(invoice) == "paid"


@FORMATS
def test_debits_wait_in_the_queue_with_their_reason(write: Writer, medilab: Operator) -> None:
    twice(write([Payment(Decimal("-12.50"), payer="Bank fees", free_text="fees January")]), "fees")
    (line,) = unmatched_lines()
    assert line.amount == Decimal("-12.50") and queue_reason(line) == "A debit: money leaving the account."
    with pytest.raises(ValidationError, match="debit"):
        payment_allocate(line=line, invoice=invoice_for(medilab, "1.00"), amount=Decimal("1.00"), by=None)


@FORMATS
def test_a_reversal_undoes_the_allocation_by_a_reversing_one(write: Writer, medilab: Operator) -> None:
    invoice = invoice_for(medilab, "100.00")
    first = Payment(Decimal("60.00"), structured=invoice.structured_communication, end_to_end="E2E-PAY-60")
    second = Payment(Decimal("40.00"), structured=invoice.structured_communication, end_to_end="E2E-PAY-40")
    twice(write([first, second]), "payments")
    assert invoice_status(invoice) == "paid"
    returned = Payment(
        Decimal("-40.00"),
        structured=invoice.structured_communication,
        end_to_end="E2E-PAY-40",
        reversal=True,
        return_reason="AC04",
        booked=datetime.date(2026, 1, 20),
    )
    if write is coda:
        data = coda([returned], statement=2, old_balance=Decimal("1100.00"), day=datetime.date(2026, 1, 20))
    else:
        data = camt053([returned], statement_id="STMT-2", opening=Decimal("1100.00"))
    twice(data, "returned")
    # 100.00 − 40.00 returned = 60.00 paid: partly paid again; the 40.00 allocation stands, its reversal beside it
    assert invoice_status(invoice) == "partly_paid"
    original = Allocation.objects.get(amount=Decimal("40.00"))
    reversing = Allocation.objects.get(amount=Decimal("-40.00"))
    assert reversing.reverses == original and reversing.invoice == invoice
    assert reversing.bank_line.reversal and reversing.bank_line.reverses_line == original.bank_line
    assert Allocation.objects.count() == 3
    # the reversal is in the queue with its reason; the returned credit is not (it is settled by its reversal)
    (line,) = unmatched_lines()
    assert line == reversing.bank_line
    assert "AC04" in queue_reason(line) and f"its allocation to {invoice.number} was undone" in queue_reason(line)


@FORMATS
def test_a_reversal_whose_payment_is_unknown_waits_in_the_queue(write: Writer, medilab: Operator) -> None:
    twice(write([Payment(Decimal("-25.00"), end_to_end="E2E-UNKNOWN", reversal=True, return_reason="MD06")]), "r")
    (line,) = unmatched_lines()
    assert line.reversal and line.reverses_line is None and "MD06" in queue_reason(line)
    assert not Allocation.objects.exists()


# --- 2. globalisation: details one by one, never the total with them ------------------------------------------


@FORMATS
def test_globalised_details_are_matched_one_by_one(write: Writer, medilab: Operator) -> None:
    a, b, c = (invoice_for(medilab, "100.00", sequence=n) for n in (1, 2, 3))
    total = Payment(
        Decimal("300.00"),
        structured=a.structured_communication,  # even a total that names an invoice is not matched
        details=[
            Payment(Decimal("100.00"), structured=a.structured_communication),
            Payment(Decimal("120.00"), payer="Supplier BV", structured=b.structured_communication),
            Payment(Decimal("80.00"), free_text=f"for {ogm(c)}"),
        ],
    )
    statement = twice(write([total]), "globalised")
    # three details kept and matched, the total of 300.00 neither kept nor matched
    assert (statement.lines_new, statement.lines_matched) == (3, 3)
    assert sorted(line.amount for line in BankLine.objects.all()) == [
        Decimal("80.00"),
        Decimal("100.00"),
        Decimal("120.00"),
    ]
    assert [invoice_status(i) for i in (a, b, c)] == ["paid", "overpaid", "partly_paid"]


# --- 3. statement integrity: nothing imported, and where in words ---------------------------------------------


def _coda_records(payments: list[Payment]) -> list[str]:
    return coda(payments).decode("windows-1252").splitlines()


def _join(records: list[str]) -> bytes:
    return ("\n".join(records) + "\n").encode("windows-1252")


def _set(record: str, start: int, value: str) -> str:
    """Write ``value`` at the 1-based position ``start`` of a 128-character record."""
    return record[: start - 1] + value + record[start - 1 + len(value) :]


THREE = [Payment(Decimal("10.00")), Payment(Decimal("-2.50")), Payment(Decimal("5.00"))]


def _coda_wrong_balance() -> bytes:
    records = _coda_records(THREE)
    # record 8 positions 43-57: 1,000.00 + 10.00 − 2.50 + 5.00 = 1,012.50 is right; 1,013.50 is written
    return _join([*records[:-2], _set(records[-2], 43, "000000001013500"), records[-1]])


def _coda_wrong_count() -> bytes:
    records = _coda_records(THREE)
    return _join([*records[:-1], _set(records[-1], 17, "000099")])  # record 9 positions 17-22


def _coda_wrong_credits() -> bytes:
    records = _coda_records(THREE)
    return _join([*records[:-1], _set(records[-1], 38, "000000000016000")])  # positions 38-52: 15.00 is right


def _coda_cut() -> bytes:
    return _join(_coda_records(THREE)[:-2])  # without records 8 and 9


def _coda_details_wrong() -> bytes:
    records = _coda_records([Payment(Decimal("30.00"), details=[Payment(Decimal("10.00")), Payment(Decimal("20.00"))])])
    # the second detail's record 2.1 (after 0, 1, total 21/22/23, first detail 21/22/23) says 21.00
    return _join([*records[:8], _set(records[8], 33, "000000000021000"), *records[9:]])


@pytest.mark.parametrize(
    ("build", "words"),
    [
        (
            _coda_wrong_balance,
            "statement 001 of account BE71096123456769, line 12 (record 8): the new balance is 1,013.50, but the old "
            "balance 1,000.00 plus credits 15.00 minus debits 2.50 makes 1,012.50",
        ),
        (
            _coda_wrong_count,
            "statement 001 of account BE71096123456769, line 13 (record 9): the trailer counts 000099 records, the "
            "statement has 11",
        ),
        (
            _coda_wrong_credits,
            "line 13 (record 9): the trailer's total of credits is 16.00, the movements add up to 15.00",
        ),
        (_coda_cut, "the file ends at line 11 without the trailer (record 9) of the statement that starts on line 1"),
        (
            _coda_details_wrong,
            "line 3: the detail movements of the globalised movement 0001 add up to 31.00, their total is 30.00",
        ),
    ],
    ids=["new-balance", "record-count", "trailer-credits", "cut-off", "details"],
)
def test_a_coda_statement_that_does_not_add_up_imports_nothing(build: Callable[[], bytes], words: str) -> None:
    for _attempt in range(2):
        with pytest.raises(ValidationError) as raised:
            statement_import(data=build(), name="bank.cod")
        assert words in str(raised.value)
        assert not StatementFile.objects.exists() and not BankLine.objects.exists()


def _camt(**replace: str) -> bytes:
    data = camt053(THREE).decode()
    for old, new in replace.items():
        assert old in data, old
        data = data.replace(old, new, 1)
    return data.encode()


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (
            # closing booked balance 1,000.00 + 10.00 − 2.50 + 5.00 = 1,012.50; 1,013.50 written
            _camt(**{'<Amt Ccy="EUR">1012.50</Amt>': '<Amt Ccy="EUR">1013.50</Amt>'}),
            "statement STMT-1 of account BE71096123456769, line 9: the closing balance (CLBD) is 1,013.50, but "
            "the opening balance 1,000.00 plus the booked entries 12.50 makes 1,012.50",
        ),
        (
            _camt(**{"<TtlNtries><NbOfNtries>3<": "<TtlNtries><NbOfNtries>4<"}),
            "(TtlNtries): the summary counts 4 entries, the statement has 3",
        ),
        (
            _camt(
                **{
                    "<TtlCdtNtries><NbOfNtries>2</NbOfNtries><Sum>15.00": "<TtlCdtNtries><NbOfNtries>2</NbOfNtries><Sum>15.10"
                }
            ),
            "(TtlCdtNtries): the summary's sum is 15.10, the entries add up to 15.00",
        ),
        (
            _camt(**{"<Cd>OPBD</Cd>": "<Cd>ITBD</Cd>"}),
            "no opening (OPBD) or closing (CLBD) booked balance",
        ),
    ],
    ids=["closing-balance", "entry-count", "credit-sum", "no-opening-balance"],
)
def test_a_camt_statement_that_does_not_add_up_imports_nothing(data: bytes, words: str) -> None:
    for _attempt in range(2):
        with pytest.raises(ValidationError) as raised:
            statement_import(data=data, name="bank.xml")
        assert words in str(raised.value)
        assert not StatementFile.objects.exists() and not BankLine.objects.exists()


def test_a_camt_batch_whose_transactions_do_not_make_the_entry_imports_nothing() -> None:
    batch = Payment(Decimal("30.00"), details=[Payment(Decimal("10.00")), Payment(Decimal("20.00"))])
    data = camt053([batch], version=4).decode().replace('<Amt Ccy="EUR">20.00</Amt>', '<Amt Ccy="EUR">21.00</Amt>')
    with pytest.raises(ValidationError, match=r"its 2 transactions add up to 31\.00, the entry's amount is 30\.00"):
        statement_import(data=data.encode(), name="batch.xml")
    assert not BankLine.objects.exists()


# --- 4. the queue: payer, IBAN, reason, ranked suggestions, one click ------------------------------------------


def test_suggestions_are_ranked_and_accepted_in_one_click(medilab: Operator) -> None:
    levy = invoice_for(medilab, "250.00", sequence=40, kind="turnover_levy", year=2025)
    other = invoice_for(medilab, "90.00", sequence=41, year=2025)
    twice(
        camt053(
            [
                Payment(Decimal("100.00"), free_text="TL2025-000040 partial", payer="Medilab NV"),
                Payment(Decimal("90.00"), free_text="contribution", payer="MEDILAB N.V."),
            ]
        ),
        "queue.xml",
    )
    partial, same = unmatched_lines()
    assert partial.counterparty_name == "Medilab NV" and partial.counterparty_account == "BE62510007547061"
    assert queue_reason(partial) == "No valid structured communication."
    best, *rest = suggestions(partial)
    # the invoice number in the text ranks first; the whole line (100.00 of 250.00 open) is proposed
    assert (best.invoice, best.amount, best.score) == (levy, Decimal("100.00"), 3)
    assert all(s.score < 3 for s in rest)
    (first, *_more) = suggestions(same)
    assert (first.invoice, first.amount, first.score) == (other, Decimal("90.00"), 2)  # same amount and payer

    client = staff_client(staff("finance", "Finance officer"))
    for _click in range(2):  # a double click allocates once
        client.post(
            f"/admin/payments/statementfile/accept/{partial.pk}/",
            {"invoice": levy.pk, "amount": "100.00", "seen": "0.00"},
        )
    assert invoice_status(levy) == "partly_paid" and Allocation.objects.filter(bank_line=partial).count() == 1

    auditor = staff_client(staff("auditor", "Auditor"))
    response = auditor.post(f"/admin/payments/statementfile/accept/{same.pk}/", {"invoice": other.pk, "amount": "90"})
    assert response.status_code == 403 and invoice_status(other) == "unpaid"
    page = auditor.get("/admin/payments/statementfile/queue/")
    assert page.status_code == 200 and b"same amount and payer" in page.content and b"Accept" not in page.content


# --- 6. free-text communications: the flag counts ------------------------------------------------------------


@FORMATS
def test_a_free_text_communication_with_a_valid_ogm_is_matched_and_kept(write: Writer, medilab: Operator) -> None:
    invoice = invoice_for(medilab, "70.00")
    twice(write([Payment(Decimal("70.00"), free_text=f"bijdrage {ogm(invoice)} dank u")]), "free")
    assert invoice_status(invoice) == "paid"
    assert BankLine.objects.get().free_text == f"bijdrage {ogm(invoice)} dank u"


def test_the_coda_communication_type_flag_decides_what_is_structured(medilab: Operator) -> None:
    """Record 2.1 position 62 says free text (0): "101" + 12 digits there is text, not a structured
    communication of type 101 (a reader that ignored the flag would match it)."""
    invoice = invoice_for(medilab, "70.00")
    twice(coda([Payment(Decimal("70.00"), free_text=f"101{invoice.structured_communication}")]), "flag0")
    assert invoice_status(invoice) == "unpaid"
    assert BankLine.objects.get().free_text == f"101{invoice.structured_communication}"
    # and the same digits with the flag at 1 (structured, type 101) are matched
    twice(coda([Payment(Decimal("70.00"), structured=invoice.structured_communication)], statement=2), "flag1")
    assert invoice_status(invoice) == "paid"


# --- D12: a payment to a credited invoice goes to the account ----------------------------------------------


@FORMATS
def test_a_payment_to_a_credited_invoice_goes_to_the_account(write: Writer, medilab: Operator) -> None:
    invoice = invoice_for(medilab, "100.00")
    credit_note_issue(invoice=invoice, reason="not liable after all")
    twice(write([Payment(Decimal("100.00"), structured=invoice.structured_communication)]), "dead")
    (allocation,) = Allocation.objects.all()
    assert allocation.invoice is None and allocation.operator == medilab and allocation.automatic
    assert invoice_status(invoice) == "credited"
    # invoice 100.00 − credit note 100.00 − payment 100.00 = −100.00: a credit balance of 100.00
    assert refundable(medilab) == Decimal("100.00")
    with pytest.raises(ValidationError, match="was credited"):
        payment_allocate(line=allocation.bank_line, invoice=invoice, amount=Decimal("1.00"), by=None)


def test_a_camt_return_without_reversal_indicator_undoes_its_payment_too(medilab: Operator) -> None:
    """A bank may book a returned credit transfer as a debit with return information (RtrInf) and no RvslInd."""
    invoice = invoice_for(medilab, "100.00")
    twice(camt053([Payment(Decimal("100.00"), structured=invoice.structured_communication, end_to_end="E2E-9")]), "p")
    returned = Payment(Decimal("-100.00"), end_to_end="E2E-9", return_reason="AC06", booked=datetime.date(2026, 1, 16))
    twice(camt053([returned], statement_id="STMT-2", opening=Decimal("1100.00")), "returned.xml")
    assert invoice_status(invoice) == "unpaid"
    (line,) = unmatched_lines()
    assert line.reversal and line.return_reason == "AC06" and "AC06" in queue_reason(line)
