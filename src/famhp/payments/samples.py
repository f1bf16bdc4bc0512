"""Bank statement files made up for the tests, the demo and the benchmark: CODA 2 (Febelfin) and camt.053
(.001.02 to .001.08), as a bank would send them to the agency's account."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from xml.sax.saxutils import escape

ACCOUNT = "BE71096123456769"


@dataclass
class Payment:
    amount: Decimal
    payer: str = "Medilab NV"
    payer_account: str = "BE62510007547061"
    structured: str = ""  # 12 digits
    free_text: str = ""
    booked: datetime.date = datetime.date(2026, 1, 15)


def _ddmmyy(day: datetime.date) -> str:
    return day.strftime("%d%m%y")


def _amount(value: Decimal) -> str:
    return ("1" if value < 0 else "0") + f"{int(abs(value) * 1000):015d}"


def coda(
    payments: list[Payment],
    *,
    statement: int = 1,
    old_balance: Decimal = Decimal("1000.00"),
    day: datetime.date = datetime.date(2026, 1, 15),
) -> bytes:
    """A CODA file with the payments: one statement (records 0, 1, 21/22/23 per payment, 8, 9) per 9,999 of them,
    since a CODA sequence number has four digits."""
    blocks, balance = [], old_balance
    for offset in range(0, max(len(payments), 1), 9999):
        chunk = payments[offset : offset + 9999]
        records, balance = _coda_statement(chunk, statement + offset // 9999, balance, day)
        blocks.extend(records)
    return ("\n".join(blocks) + "\n").encode("windows-1252")


def _coda_statement(
    payments: list[Payment], statement: int, old_balance: Decimal, day: datetime.date
) -> tuple[list[str], Decimal]:
    records = [
        "0"
        + "0000"
        + _ddmmyy(day)
        + "000"
        + "05"
        + " "
        + " " * 7
        + "FAMHPBENCH"
        + "FAGG AFMPS".ljust(26)
        + "GKCCBEBB".ljust(11)
        + "00000000000"
        + " "
        + "00000"
        + "".ljust(16)
        + " "
        + "".ljust(15)
        + " " * 7
        + "2",
        "1"
        + "2"
        + f"{statement % 1000:03d}"
        + ACCOUNT.ljust(31)
        + "   "
        + "EUR"
        + _amount(old_balance)
        + _ddmmyy(day)
        + "FAGG AFMPS".ljust(26)
        + "Contributions".ljust(35)
        + f"{statement % 1000:03d}",
    ]
    credit = debit = Decimal(0)
    for number, payment in enumerate(payments, start=1):
        if payment.amount >= 0:
            credit += payment.amount
        else:
            debit -= payment.amount
        communication = ("1101" + payment.structured) if payment.structured else ("0" + payment.free_text)
        communication = communication.ljust(54 + 53 + 43)
        sequence = f"{number:04d}"
        records.append(
            "21"
            + sequence
            + "0000"
            + f"REF{statement:03d}{number:06d}".ljust(21)[:21]
            + _amount(payment.amount)
            + _ddmmyy(payment.booked)
            + "00150000"
            + communication[:54]
            + _ddmmyy(payment.booked)
            + f"{statement % 1000:03d}"
            + "0"
            + "1"
            + " "
            + "0"
        )
        records.append(
            "22"
            + sequence
            + "0000"
            + communication[54:107]
            + "".ljust(35)
            + "".ljust(11)
            + "   "
            + " "
            + "    "
            + "    "
            + "    "
            + "1"
            + " "
            + "0"
        )
        records.append(
            "23"
            + sequence
            + "0000"
            + payment.payer_account.ljust(37)
            + payment.payer.ljust(35)[:35]
            + communication[107:150]
            + "0"
            + " "
            + "0"
        )
    new_balance = old_balance + credit - debit
    records.append(
        "8"
        + f"{statement % 1000:03d}"
        + ACCOUNT.ljust(31)
        + "   "
        + "EUR"
        + _amount(new_balance)
        + _ddmmyy(day)
        + " " * 64
        + "0"
    )
    count = len(records) - 1  # records 1, 2x, 3x and 8
    records.append(
        "9" + " " * 15 + f"{count:06d}" + f"{int(debit * 1000):015d}" + f"{int(credit * 1000):015d}" + " " * 75 + "2"
    )
    wrong = [n for n, record in enumerate(records) if len(record) != 128]
    assert not wrong, f"records {wrong[:5]} are not 128 characters"
    return records, new_balance


def camt053(payments: list[Payment], *, version: int = 2, statement_id: str = "STMT-1") -> bytes:
    """A camt.053.001.<version> document; the debtor's name sits where that version puts it."""
    entries = []
    for number, p in enumerate(payments, start=1):
        direction = "CRDT" if p.amount >= 0 else "DBIT"
        name = f"<Nm>{escape(p.payer)}</Nm>"
        party = f"<Pty>{name}</Pty>" if version >= 8 else name
        remittance = (
            (
                f"<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>{p.structured}</Ref>"
                "</CdtrRefInf></Strd>"
            )
            if p.structured
            else f"<Ustrd>{escape(p.free_text)}</Ustrd>"
        )
        entries.append(f"""
    <Ntry>
      <Amt Ccy="EUR">{abs(p.amount):.2f}</Amt><CdtDbtInd>{direction}</CdtDbtInd><Sts>BOOK</Sts>
      <BookgDt><Dt>{p.booked.isoformat()}</Dt></BookgDt><ValDt><Dt>{p.booked.isoformat()}</Dt></ValDt>
      <AcctSvcrRef>{statement_id}-{number:05d}</AcctSvcrRef>
      <BkTxCd/>
      <NtryDtls><TxDtls>
        <Refs><EndToEndId>E2E-{number}</EndToEndId></Refs>
        <RltdPties><Dbtr>{party}</Dbtr><DbtrAcct><Id><IBAN>{p.payer_account}</IBAN></Id></DbtrAcct></RltdPties>
        <RmtInf>{remittance}</RmtInf>
      </TxDtls></NtryDtls>
    </Ntry>""")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version:02d}">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>MSG-{statement_id}</MsgId><CreDtTm>2026-01-15T18:00:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>{statement_id}</Id><CreDtTm>2026-01-15T18:00:00</CreDtTm>
      <Acct><Id><IBAN>{ACCOUNT}</IBAN></Id></Acct>{"".join(entries)}
    </Stmt>
  </BkToCstmrStmt>
</Document>
""".encode()
