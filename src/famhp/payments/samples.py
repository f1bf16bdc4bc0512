"""Bank statement files written from the standards' layouts, for the tests, the demo and the benchmark: CODA 2.x
(Febelfin record layout: records 0, 1, 2.1/2.2/2.3, 8, 9 with their positions) and ISO 20022 camt.053 (.001.02
to .001.08: Stmt/Bal OPBD and CLBD, TxsSummry, Ntry with Amt Ccy, CdtDbtInd, RvslInd, Sts, NtryDtls/TxDtls),
as a bank would send them to the agency's account. Payments may be in another currency, pending, reversals
or returns, and globalised (CODA) or batched (camt) with their details."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
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
    end_to_end: str = ""
    pending: bool = False  # camt only: Sts PDNG
    #: a reversal or return of an earlier credit (camt RvslInd; CODA record 2.2 type of R-transaction "2")
    reversal: bool = False
    return_reason: str = ""  # ISO reason code, e.g. AC04
    #: the detail movements of a globalised total (CODA) or batch entry (camt); their amounts make ``amount``
    details: list[Payment] = field(default_factory=list)


def _ddmmyy(day: datetime.date) -> str:
    return day.strftime("%d%m%y")


def _amount(value: Decimal) -> str:
    """Sign code (0 credit, 1 debit) and 15 digits, 3 of them decimals."""
    return ("1" if value < 0 else "0") + f"{int(abs(value) * 1000):015d}"


def coda(
    payments: list[Payment],
    *,
    statement: int = 1,
    old_balance: Decimal = Decimal("1000.00"),
    day: datetime.date = datetime.date(2026, 1, 15),
    currency: str = "EUR",
) -> bytes:
    """A CODA file with the payments: one statement (records 0, 1, 21/22/23 per movement, 8, 9) per 9,999 of
    them, since a CODA sequence number has four digits."""
    blocks, balance = [], old_balance
    for offset in range(0, max(len(payments), 1), 9999):
        chunk = payments[offset : offset + 9999]
        records, balance = _coda_statement(chunk, statement + offset // 9999, balance, day, currency)
        blocks.extend(records)
    return ("\n".join(blocks) + "\n").encode("windows-1252")


def _coda_movement(payment: Payment, sequence: str, detail: int, statement: int, globalised: bool) -> list[str]:
    communication = ("1101" + payment.structured) if payment.structured else ("0" + payment.free_text)
    communication = communication.ljust(1 + 53 + 53 + 43)
    r_type = "2" if payment.reversal else " "
    return [
        # 2.1: 1-2 "21", 3-6 sequence, 7-10 detail, 11-31 bank reference, 32 sign, 33-47 amount, 48-53 value
        # date, 54-61 transaction code, 62 communication type, 63-115 communication, 116-121 entry date,
        # 122-124 statement number, 125 globalisation code, 126 next code, 127 blank, 128 link code
        "21"
        + sequence
        + f"{detail:04d}"
        + f"REF{statement:03d}{sequence}{detail:04d}".ljust(21)[:21]
        + _amount(payment.amount)
        + _ddmmyy(payment.booked)
        + ("00150000" if not payment.reversal else "00050000")
        + communication[:54]
        + _ddmmyy(payment.booked)
        + f"{statement % 1000:03d}"
        + ("1" if globalised else "0")
        + "1"
        + " "
        + "0",
        # 2.2: 11-63 communication (continued), 64-98 customer reference, 99-109 counterparty's BIC, 110-112
        # blank, 113 type of R-transaction, 114-117 ISO reason return code, 118-121 category purpose,
        # 122-125 purpose, 126 next code, 127 blank, 128 link code
        "22"
        + sequence
        + f"{detail:04d}"
        + communication[54:107]
        + payment.end_to_end.ljust(35)[:35]
        + "".ljust(11)
        + "   "
        + r_type
        + payment.return_reason.ljust(4)[:4]
        + "    "
        + "    "
        + "1"
        + " "
        + "0",
        # 2.3: 11-47 counterparty's account and currency, 48-82 counterparty's name, 83-125 communication
        # (continued), 126 next code, 127 blank, 128 link code
        "23"
        + sequence
        + f"{detail:04d}"
        + payment.payer_account.ljust(37)
        + payment.payer.ljust(35)[:35]
        + communication[107:150]
        + "0"
        + " "
        + "0",
    ]


def _coda_statement(
    payments: list[Payment], statement: int, old_balance: Decimal, day: datetime.date, currency: str
) -> tuple[list[str], Decimal]:
    records = [
        # 0: 2-5 zeros, 6-11 creation date, 12-14 bank, 15-16 application code 05, 17 duplicate, 25-34 file
        # reference, 35-60 addressee, 61-71 BIC, 72-82 account holder's number, 84-88 separate application,
        # 89-104 transaction reference, 105-120 related reference, 128 version code 2
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
        + "".ljust(16)
        + " " * 7
        + "2",
        # 1: 2 account structure (2: Belgian IBAN), 3-5 paper statement number, 6-42 account and currency,
        # 43 sign, 44-58 old balance, 59-64 its date, 65-90 holder, 91-125 description, 126-128 CODA number
        "1"
        + "2"
        + f"{statement % 1000:03d}"
        + ACCOUNT.ljust(31)
        + "   "
        + currency
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
        sequence = f"{number:04d}"
        if payment.details:
            total = Payment(
                payment.amount,
                payer=payment.payer,
                payer_account=payment.payer_account,
                structured=payment.structured,
                free_text=payment.free_text or "globalised",
                booked=payment.booked,
            )
            records.extend(_coda_movement(total, sequence, 0, statement, True))
            for detail, part in enumerate(payment.details, start=1):
                records.extend(_coda_movement(part, sequence, detail, statement, True))
        else:
            records.extend(_coda_movement(payment, sequence, 0, statement, False))
    new_balance = old_balance + credit - debit
    records.append(
        # 8: 2-4 paper statement number, 5-41 account and currency, 42 sign, 43-57 new balance, 58-63 its date,
        # 128 link code
        "8"
        + f"{statement % 1000:03d}"
        + ACCOUNT.ljust(31)
        + "   "
        + currency
        + _amount(new_balance)
        + _ddmmyy(day)
        + " " * 64
        + "0"
    )
    count = len(records) - 1  # records 1, 2.x, 3.x and 8
    records.append(
        # 9: 17-22 number of records, 23-37 debits, 38-52 credits, 128 multiple file code (2: last file)
        "9" + " " * 15 + f"{count:06d}" + f"{int(debit * 1000):015d}" + f"{int(credit * 1000):015d}" + " " * 75 + "2"
    )
    wrong = [n for n, record in enumerate(records) if len(record) != 128]
    assert not wrong, f"records {wrong[:5]} are not 128 characters"
    return records, new_balance


def _camt_tx(p: Payment, number: int, version: int, amount: bool) -> str:
    name = f"<Nm>{escape(p.payer)}</Nm>"
    party = f"<Pty>{name}</Pty>" if version >= 8 else name
    remittance = (
        f"<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>{p.structured}</Ref></CdtrRefInf></Strd>"
        if p.structured
        else f"<Ustrd>{escape(p.free_text)}</Ustrd>"
    )
    amount_element = ""
    if amount:
        tx_amount = f'<Amt Ccy="EUR">{abs(p.amount):.2f}</Amt>'
        amount_element = tx_amount if version >= 4 else f"<AmtDtls><TxAmt>{tx_amount}</TxAmt></AmtDtls>"
    returned = f"<RtrInf><Rsn><Cd>{p.return_reason}</Cd></Rsn></RtrInf>" if p.return_reason else ""
    return f"""<TxDtls>
        <Refs><EndToEndId>{escape(p.end_to_end or f"E2E-{number}")}</EndToEndId></Refs>{amount_element}
        <RltdPties><Dbtr>{party}</Dbtr><DbtrAcct><Id><IBAN>{p.payer_account}</IBAN></Id></DbtrAcct></RltdPties>
        <RmtInf>{remittance}</RmtInf>{returned}
      </TxDtls>"""


def camt053(
    payments: list[Payment],
    *,
    version: int = 2,
    statement_id: str = "STMT-1",
    opening: Decimal = Decimal("1000.00"),
    currency: str = "EUR",
) -> bytes:
    """A camt.053.001.<version> document with opening and closing booked balances and the transaction summary;
    the debtor's name and the status sit where that version puts them."""
    entries = []
    net = total = credit_sum = debit_sum = Decimal(0)
    credits = debits = 0
    for number, p in enumerate(payments, start=1):
        direction = "CRDT" if p.amount >= 0 else "DBIT"
        status = "PDNG" if p.pending else "BOOK"
        if not p.pending:
            net += p.amount
        total += abs(p.amount)
        if direction == "CRDT":
            credits, credit_sum = credits + 1, credit_sum + abs(p.amount)
        else:
            debits, debit_sum = debits + 1, debit_sum + abs(p.amount)
        details = (
            "".join(_camt_tx(d, number * 100 + n, version, True) for n, d in enumerate(p.details, start=1))
            if p.details
            else _camt_tx(p, number, version, False)
        )
        batch = f"<Btch><NbOfTxs>{len(p.details)}</NbOfTxs></Btch>" if p.details else ""
        entries.append(f"""
    <Ntry>
      <Amt Ccy="{currency}">{abs(p.amount):.2f}</Amt><CdtDbtInd>{direction}</CdtDbtInd>
      {"<RvslInd>true</RvslInd>" if p.reversal else ""}
      <Sts>{f"<Cd>{status}</Cd>" if version >= 8 else status}</Sts>
      <BookgDt><Dt>{p.booked.isoformat()}</Dt></BookgDt><ValDt><Dt>{p.booked.isoformat()}</Dt></ValDt>
      <AcctSvcrRef>{statement_id}-{number:05d}</AcctSvcrRef>
      <BkTxCd/>
      <NtryDtls>{batch}{details}</NtryDtls>
    </Ntry>""")
    closing = opening + net

    def balance(code: str, amount: Decimal) -> str:
        return (
            f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
            f'<Amt Ccy="{currency}">{abs(amount):.2f}</Amt><CdtDbtInd>{"CRDT" if amount >= 0 else "DBIT"}</CdtDbtInd>'
            f"<Dt><Dt>2026-01-15</Dt></Dt></Bal>"
        )

    summary = (
        f"<TxsSummry><TtlNtries><NbOfNtries>{len(payments)}</NbOfNtries><Sum>{total:.2f}</Sum></TtlNtries>"
        f"<TtlCdtNtries><NbOfNtries>{credits}</NbOfNtries><Sum>{credit_sum:.2f}</Sum></TtlCdtNtries>"
        f"<TtlDbtNtries><NbOfNtries>{debits}</NbOfNtries><Sum>{debit_sum:.2f}</Sum></TtlDbtNtries></TxsSummry>"
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version:02d}">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>MSG-{statement_id}</MsgId><CreDtTm>2026-01-15T18:00:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>{statement_id}</Id><CreDtTm>2026-01-15T18:00:00</CreDtTm>
      <Acct><Id><IBAN>{ACCOUNT}</IBAN></Id><Ccy>{currency}</Ccy></Acct>
      {balance("OPBD", opening)}
      {balance("CLBD", closing)}
      {summary}{"".join(entries)}
    </Stmt>
  </BkToCstmrStmt>
</Document>
""".encode()
