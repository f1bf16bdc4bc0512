"""Review 3 of the bank import: camt.053 documents written here by hand from ISO 20022 BankToCustomerStatement
(camt.053.001.02 and later): ``Stmt`` with ``Id``, ``Acct/Id/IBAN`` (or ``Othr/Id``), ``Bal`` typed
``Tp/CdOrPrtry/Cd`` OPBD/PRCD/CLBD, ``TxsSummry``; ``Ntry`` with ``Amt@Ccy``, ``CdtDbtInd``, ``RvslInd``, ``Sts``
(a code up to .001.07, ``Sts/Cd`` from .001.08), ``BookgDt``/``ValDt`` as ``Dt`` or ``DtTm``, ``AcctSvcrRef``,
``NtryDtls/Btch/NbOfTxs`` and ``TxDtls`` (``Refs/EndToEndId``, ``AmtDtls/InstdAmt|TxAmt``, ``RltdPties``
``Dbtr/Nm`` (``Dbtr/Pty/Nm`` from .001.08), ``DbtrAcct/Id/IBAN``, ``RmtInf/Ustrd`` or ``RmtInf/Strd/CdtrRefInf``
with ``Tp/CdOrPrtry/Cd`` SCOR and ``Issr`` BBA, ``RtrInf/Rsn/Cd``). Expected outcomes from RULES.md (D12: another
currency, a reversal or a pending entry never allocated automatically) and ADR 12."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from famhp.payments.models import Allocation, BankLine, StatementFile
from famhp.payments.selectors import invoice_status, queue_reason, unmatched_lines
from famhp.payments.services import statement_import
from famhp.registry.models import Operator
from tests.portal.factories import belgian, invoice_for

pytestmark = pytest.mark.django_db

AGENCY = "BE68539007547034"
PAYER = "BE62510007547061"


def ogm(digits: str, style: str = "+++") -> str:
    """A Belgian structured communication as people write it: +++123/4567/89012+++ (``style`` "+++" or "***"),
    "/" only slashes, "" the 12 digits alone."""
    body = f"{digits[:3]}/{digits[3:7]}/{digits[7:]}"
    if style == "/":
        return body
    return f"{style}{body}{style}" if style else digits


@dataclass
class Tx:
    """One ``TxDtls``."""

    amount: str | None = None  # AmtDtls/TxAmt/Amt (None: no amount given)
    structured: str = ""  # RmtInf/Strd/CdtrRefInf/Ref as written
    unstructured: str = ""
    payer: str = "Medilab NV"
    payer_iban: str = PAYER
    payer_other_id: str = ""  # DbtrAcct/Id/Othr/Id instead of an IBAN
    end_to_end: str = "NOTPROVIDED"
    instructed: tuple[str, str] | None = None  # AmtDtls/InstdAmt (amount, currency)
    return_reason: str = ""


@dataclass
class Entry:
    amount: str  # as written in Ntry/Amt
    credit: bool = True
    currency: str = "EUR"
    status: str = "BOOK"
    booked: str = "<Dt>2026-01-15</Dt>"  # the inside of BookgDt ("" : none)
    value: str = "<Dt>2026-01-15</Dt>"  # the inside of ValDt ("" : none)
    reversal: bool | None = None
    reference: str = ""
    txs: list[Tx] = field(default_factory=list)
    batch: bool = False  # NtryDtls/Btch/NbOfTxs written


@dataclass
class Statement:
    entries: list[Entry]
    ident: str = "2026-015"
    account: str = AGENCY
    account_other: bool = False  # Acct/Id/Othr/Id instead of IBAN
    opening: str = "1000.00"
    closing: str | None = None  # worked out from the booked entries unless given
    opening_code: str = "OPBD"
    summary: bool = True


def _tx(tx: Tx, version: int) -> str:
    party_name = f"<Pty><Nm>{tx.payer}</Nm></Pty>" if version >= 8 else f"<Nm>{tx.payer}</Nm>"
    account = (
        f"<Id><Othr><Id>{tx.payer_other_id}</Id></Othr></Id>"
        if tx.payer_other_id
        else f"<Id><IBAN>{tx.payer_iban}</IBAN></Id>"
    )
    amounts = ""
    if tx.instructed or tx.amount is not None:
        amounts = "<AmtDtls>"
        if tx.instructed:
            amounts += f'<InstdAmt><Amt Ccy="{tx.instructed[1]}">{tx.instructed[0]}</Amt></InstdAmt>'
        if tx.amount is not None:
            amounts += f'<TxAmt><Amt Ccy="EUR">{tx.amount}</Amt></TxAmt>'
        amounts += "</AmtDtls>"
    remittance = ""
    if tx.unstructured:
        remittance += f"<Ustrd>{tx.unstructured}</Ustrd>"
    if tx.structured:
        remittance += (
            "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry><Issr>BBA</Issr></Tp>"
            f"<Ref>{tx.structured}</Ref></CdtrRefInf></Strd>"
        )
    returned = f"<RtrInf><Rsn><Cd>{tx.return_reason}</Cd></Rsn></RtrInf>" if tx.return_reason else ""
    return (
        f"<TxDtls><Refs><EndToEndId>{tx.end_to_end}</EndToEndId></Refs>{amounts}"
        f"<RltdPties><Dbtr>{party_name}</Dbtr><DbtrAcct>{account}</DbtrAcct></RltdPties>"
        f"{'<RmtInf>' + remittance + '</RmtInf>' if remittance else ''}{returned}</TxDtls>"
    )


def _entry(entry: Entry, number: int, version: int) -> str:
    status = f"<Sts><Cd>{entry.status}</Cd></Sts>" if version >= 8 else f"<Sts>{entry.status}</Sts>"
    reversal = "" if entry.reversal is None else f"<RvslInd>{'true' if entry.reversal else 'false'}</RvslInd>"
    batch = f"<Btch><NbOfTxs>{len(entry.txs)}</NbOfTxs></Btch>" if entry.batch else ""
    details = "".join(_tx(tx, version) for tx in entry.txs)
    return (
        f'<Ntry><NtryRef>{number}</NtryRef><Amt Ccy="{entry.currency}">{entry.amount}</Amt>'
        f"<CdtDbtInd>{'CRDT' if entry.credit else 'DBIT'}</CdtDbtInd>{reversal}{status}"
        f"{'<BookgDt>' + entry.booked + '</BookgDt>' if entry.booked else ''}"
        f"{'<ValDt>' + entry.value + '</ValDt>' if entry.value else ''}"
        f"<AcctSvcrRef>{entry.reference or f'REF-{number:06d}'}</AcctSvcrRef>"
        "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>"
        f"{'<NtryDtls>' + batch + details + '</NtryDtls>' if details or batch else ''}</Ntry>"
    )


def _balance(code: str, amount: Decimal, day: str = "2026-01-15") -> str:
    sign = "CRDT" if amount >= 0 else "DBIT"
    return (
        f'<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{abs(amount):.2f}</Amt>'
        f"<CdtDbtInd>{sign}</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>"
    )


def _statement(statement: Statement, version: int) -> str:
    booked = [e for e in statement.entries if e.status == "BOOK"]
    net = sum((Decimal(e.amount) * (1 if e.credit else -1) for e in booked), Decimal("0"))
    opening = Decimal(statement.opening)
    closing = Decimal(statement.closing) if statement.closing is not None else opening + net
    credits = [Decimal(e.amount) for e in statement.entries if e.credit]
    debits = [Decimal(e.amount) for e in statement.entries if not e.credit]
    summary = ""
    if statement.summary:
        summary = (
            f"<TxsSummry><TtlNtries><NbOfNtries>{len(statement.entries)}</NbOfNtries>"
            f"<Sum>{sum(credits + debits, Decimal('0'))}</Sum></TtlNtries>"
            f"<TtlCdtNtries><NbOfNtries>{len(credits)}</NbOfNtries><Sum>{sum(credits, Decimal('0'))}</Sum></TtlCdtNtries>"
            f"<TtlDbtNtries><NbOfNtries>{len(debits)}</NbOfNtries><Sum>{sum(debits, Decimal('0'))}</Sum></TtlDbtNtries>"
            "</TxsSummry>"
        )
    account = (
        f"<Othr><Id>{statement.account}</Id></Othr>" if statement.account_other else f"<IBAN>{statement.account}</IBAN>"
    )
    entries = "".join(_entry(e, n, version) for n, e in enumerate(statement.entries, start=1))
    return (
        f"<Stmt><Id>{statement.ident}</Id><ElctrncSeqNb>15</ElctrncSeqNb><CreDtTm>2026-01-15T18:00:00+01:00</CreDtTm>"
        f"<Acct><Id>{account}</Id><Ccy>EUR</Ccy></Acct>"
        f"{_balance(statement.opening_code, opening, '2026-01-14')}{_balance('CLBD', closing)}{summary}{entries}</Stmt>"
    )


def camt(
    statements: list[Statement], *, version: int = 2, head: str = '<?xml version="1.0" encoding="UTF-8"?>'
) -> bytes:
    body = "".join(_statement(s, version) for s in statements)
    return (
        f'{head}\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version:02d}" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<BkToCstmrStmt><GrpHdr><MsgId>MSG-1</MsgId><CreDtTm>2026-01-15T18:00:00+01:00</CreDtTm></GrpHdr>"
        f"{body}</BkToCstmrStmt></Document>\n"
    ).encode()


def paying(amount: str, communication: str, **tx: object) -> Entry:
    return Entry(amount, txs=[Tx(amount=amount, structured=communication, **tx)])  # type: ignore[arg-type]


@pytest.fixture
def medilab() -> Operator:
    return belgian("Medilab NV")


def imported(data: bytes, name: str = "camt.xml") -> StatementFile:
    statement, new = statement_import(data=data, name=name)
    assert new
    return statement


# --- structured communication as banks write it ---------------------------------------------------------------


@pytest.mark.parametrize("style", ["+++", "***", "/", ""])
@pytest.mark.parametrize("version", [2, 4, 8])
def test_the_structured_reference_with_or_without_plus_and_slashes_pays_its_invoice(
    style: str, version: int, medilab: Operator
) -> None:
    invoice = invoice_for(medilab, "100.00")
    data = camt([Statement([paying("100.00", ogm(invoice.structured_communication, style))])], version=version)
    statement = imported(data)
    assert (statement.lines_new, statement.lines_matched) == (1, 1)
    assert invoice_status(invoice) == "paid"


# --- a batch entry: each transaction pays its own invoice ----------------------------------------------------


def test_a_batch_entry_allocates_each_transaction_its_own_amount_to_its_own_invoice(medilab: Operator) -> None:
    a, b, c = (invoice_for(medilab, total, sequence=n) for n, total in ((1, "100.00"), (2, "250.50"), (3, "75.00")))
    batch = Entry(
        "425.50",  # 100.00 + 250.50 + 75.00 = 425.50
        batch=True,
        txs=[
            Tx(amount="100.00", structured=ogm(a.structured_communication), end_to_end="E2E-A"),
            Tx(amount="250.50", structured=ogm(b.structured_communication, "/"), end_to_end="E2E-B", payer="Other BV"),
            Tx(amount="75.00", unstructured=f"invoice {ogm(c.structured_communication, '***')}", end_to_end="E2E-C"),
        ],
    )
    statement = imported(camt([Statement([batch])], version=8))
    assert (statement.lines_new, statement.lines_matched) == (3, 3)
    by_invoice = {al.invoice_id: al.amount for al in Allocation.objects.all()}
    assert by_invoice == {a.pk: Decimal("100.00"), b.pk: Decimal("250.50"), c.pk: Decimal("75.00")}
    assert [invoice_status(i) for i in (a, b, c)] == ["paid", "paid", "paid"]
    assert sorted(BankLine.objects.values_list("end_to_end_id", flat=True)) == ["E2E-A", "E2E-B", "E2E-C"]


# --- amounts as XML decimals ---------------------------------------------------------------------------------


def test_amounts_without_decimals_or_with_one_are_read_to_the_cent(medilab: Operator) -> None:
    a, b = invoice_for(medilab, "100.00", sequence=1), invoice_for(medilab, "100.50", sequence=2)
    data = camt(
        [
            Statement(
                [paying("100", a.structured_communication), paying("100.5", b.structured_communication)],
                opening="0",
            )
        ]
    )
    imported(data)
    assert sorted(BankLine.objects.values_list("amount", flat=True)) == [Decimal("100.00"), Decimal("100.50")]
    assert invoice_status(a) == "paid" and invoice_status(b) == "paid"


def test_a_zero_amount_entry_is_kept_and_allocates_nothing(medilab: Operator) -> None:
    invoice = invoice_for(medilab, "100.00")
    imported(camt([Statement([paying("0.00", invoice.structured_communication)])]))
    (line,) = BankLine.objects.all()
    assert line.amount == Decimal("0.00") and not Allocation.objects.exists()
    assert invoice_status(invoice) == "unpaid"


def test_a_large_amount_within_the_column_is_kept_to_the_cent(medilab: Operator) -> None:
    invoice = invoice_for(medilab, "100.00")
    # 999,999,999,999.99: the largest amount of 14 digits with 2 decimals (the lines' column)
    imported(camt([Statement([paying("999999999999.99", invoice.structured_communication)], opening="0")]))
    (line,) = BankLine.objects.all()
    assert line.amount == Decimal("999999999999.99")
    assert invoice_status(invoice) == "overpaid"


# --- dates and status as the versions write them ----------------------------------------------------------------


def test_booking_date_as_date_time_with_a_time_zone_and_no_value_date(medilab: Operator) -> None:
    invoice = invoice_for(medilab, "100.00")
    entry = paying("100.00", invoice.structured_communication)
    entry.booked, entry.value = "<DtTm>2026-01-15T09:30:00+01:00</DtTm>", ""
    imported(camt([Statement([entry])], version=8))
    (line,) = BankLine.objects.all()
    assert (line.booked_on, line.value_on) == (datetime.date(2026, 1, 15), None)
    assert invoice_status(invoice) == "paid"


@pytest.mark.parametrize("version", [2, 8])
def test_a_pending_entry_is_kept_outside_the_balance_and_never_allocated(version: int, medilab: Operator) -> None:
    invoice = invoice_for(medilab, "100.00")
    pending = paying("100.00", invoice.structured_communication)
    pending.status = "PDNG"
    # the closing booked balance leaves the pending entry out: 1,000.00 + 0 = 1,000.00
    imported(camt([Statement([pending], closing="1000.00")], version=version))
    (line,) = unmatched_lines()
    assert line.status == BankLine.Status.PENDING and "Pending" in queue_reason(line)
    assert not Allocation.objects.exists()


def test_an_instructed_amount_in_another_currency_is_read_as_the_euro_amount_credited(medilab: Operator) -> None:
    """The payer instructed USD 110.00 (AmtDtls/InstdAmt); the bank credited EUR 100.00 (Ntry/Amt, TxAmt): the
    line is the euro amount credited to the account."""
    invoice = invoice_for(medilab, "100.00")
    entry = paying("100.00", invoice.structured_communication, instructed=("110.00", "USD"))
    imported(camt([Statement([entry])], version=4))
    (line,) = BankLine.objects.all()
    assert line.currency == "EUR" and line.amount == Decimal("100.00")
    # allocated or not: a question for D12 the review's report raises (today: allocated as a euro payment)


# --- several statements, several accounts ---------------------------------------------------------------------


def test_several_statements_of_several_accounts_in_one_document(medilab: Operator) -> None:
    a, b = invoice_for(medilab, "100.00", sequence=1), invoice_for(medilab, "200.00", sequence=2)
    data = camt(
        [
            Statement([paying("100.00", a.structured_communication)], ident="S-1", account=AGENCY),
            Statement(
                [paying("200.00", b.structured_communication)],
                ident="S-2",
                account="BE71096123456769",
                account_other=True,
                opening_code="PRCD",
            ),
        ],
        version=6,
    )
    statement = imported(data)
    assert (statement.lines_new, statement.lines_matched) == (2, 2)
    assert sorted(BankLine.objects.values_list("account", flat=True)) == ["BE68539007547034", "BE71096123456769"]
    assert invoice_status(a) == "paid" and invoice_status(b) == "paid"


def test_a_second_statement_that_does_not_add_up_refuses_the_whole_document(medilab: Operator) -> None:
    a = invoice_for(medilab, "100.00")
    data = camt(
        [
            Statement([paying("100.00", a.structured_communication)], ident="S-1"),
            # 1,000.00 + 50.00 = 1,050.00, the bank says 1,049.99
            Statement([paying("50.00", "")], ident="S-2", closing="1049.99"),
        ]
    )
    with pytest.raises(ValidationError, match=r"S-2.*1,049\.99.*1,050\.00"):
        statement_import(data=data, name="two.xml")
    assert not StatementFile.objects.exists() and not BankLine.objects.exists() and not Allocation.objects.exists()


# --- reversals and returns ------------------------------------------------------------------------------------


def test_a_reversal_in_the_same_document_undoes_its_payment_before_anything_is_allocated(medilab: Operator) -> None:
    invoice = invoice_for(medilab, "100.00")
    paid = paying("100.00", invoice.structured_communication, end_to_end="E2E-1")
    reversed_ = Entry(
        "100.00",
        credit=False,
        reversal=True,
        booked="<Dt>2026-01-15</Dt>",
        txs=[Tx(amount="100.00", structured=invoice.structured_communication, end_to_end="E2E-1")],
    )
    statement = imported(camt([Statement([paid, reversed_])], version=8))
    assert statement.lines_matched == 0
    assert invoice_status(invoice) == "unpaid"
    returned = BankLine.objects.get(reversal=True)
    assert returned.reverses_line == BankLine.objects.get(amount=Decimal("100.00"))
    # the credit is settled by its reversal: only the reversal waits
    assert list(unmatched_lines()) == [returned]


def test_a_return_in_a_later_document_found_by_its_end_to_end_reference(medilab: Operator) -> None:
    invoice = invoice_for(medilab, "100.00")
    imported(camt([Statement([paying("100.00", invoice.structured_communication, end_to_end="E2E-77")])]), "d1.xml")
    assert invoice_status(invoice) == "paid"
    # a return (RtrInf, no RvslInd): no communication, another payer account, only the end-to-end reference
    returned = Entry(
        "100.00",
        credit=False,
        booked="<Dt>2026-01-20</Dt>",
        value="<Dt>2026-01-20</Dt>",
        txs=[Tx(amount="100.00", end_to_end="E2E-77", payer_iban="BE43068999999501", return_reason="AC04")],
    )
    imported(camt([Statement([returned], ident="2026-020", opening="1100.00")]), "d2.xml")
    assert invoice_status(invoice) == "unpaid"
    line = BankLine.objects.get(reversal=True)
    assert line.return_reason == "AC04"
    assert Allocation.objects.filter(bank_line=line, amount=Decimal("-100.00")).count() == 1


def test_a_payment_whose_payer_account_is_an_other_id_is_matched(medilab: Operator) -> None:
    """The payer's account as ``DbtrAcct/Id/Othr/Id`` (a non-IBAN account) instead of ``IBAN``."""
    invoice = invoice_for(medilab, "100.00")
    paid = paying("100.00", invoice.structured_communication, payer_other_id="123-4567890-12")
    imported(camt([Statement([paid])]), "d1.xml")
    assert invoice_status(invoice) == "paid"
    # (today the Othr/Id is not read into the payer's account: a question the review's report raises)


# --- refusals: nothing half-written, a clear message --------------------------------------------------------


def refused(data: bytes, words: str) -> None:
    with pytest.raises(ValidationError) as error:
        statement_import(data=data, name="bad.xml")
    assert words in " ".join(error.value.messages), error.value.messages
    assert not StatementFile.objects.exists() and not BankLine.objects.exists()


def test_a_truncated_document_is_refused() -> None:
    data = camt([Statement([paying("10.00", "")])])
    refused(data[: len(data) // 2], "not well-formed XML")


def test_a_document_with_a_byte_order_mark_is_read(medilab: Operator) -> None:
    invoice = invoice_for(medilab, "100.00")
    imported(b"\xef\xbb\xbf" + camt([Statement([paying("100.00", invoice.structured_communication)])]))
    assert invoice_status(invoice) == "paid"


def test_a_latin1_document_keeps_its_names(medilab: Operator) -> None:
    invoice = invoice_for(medilab, "100.00")
    text = camt([Statement([paying("100.00", invoice.structured_communication, payer="Société Générale Straße")])])
    data = text.decode().replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').encode("latin-1")
    imported(data)
    assert BankLine.objects.get().counterparty_name == "Société Générale Straße"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "neither a CODA file"),
        (b"   \n", "neither a CODA file"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "neither a CODA file"),
        (b"date;amount;communication\n2026-01-15;100.00;+++000/0000/00097+++\n", "neither a CODA file"),
        (b'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"/>', "not a camt.053"),
        (b'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"/>', "no statement"),
    ],
    ids=["empty", "blank", "pdf", "csv", "camt054", "no-statement"],
)
def test_a_file_of_another_kind_is_refused_in_words(data: bytes, words: str) -> None:
    refused(data, words)


def test_a_summary_that_does_not_count_the_entries_is_refused(medilab: Operator) -> None:
    data = camt([Statement([paying("10.00", ""), paying("20.00", "")])]).replace(
        b"<NbOfNtries>2</NbOfNtries>", b"<NbOfNtries>3</NbOfNtries>", 1
    )
    refused(data, "the summary counts 3 entries, the statement has 2")


def test_the_same_document_twice_adds_nothing(medilab: Operator) -> None:
    invoice = invoice_for(medilab, "100.00")
    data = camt([Statement([paying("100.00", invoice.structured_communication)])])
    first, new = statement_import(data=data, name="a.xml")
    again, new_again = statement_import(data=data, name="b.xml")
    assert new and not new_again and again == first
    assert BankLine.objects.count() == 1 and Allocation.objects.count() == 1
