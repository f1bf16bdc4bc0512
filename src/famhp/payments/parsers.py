"""Bank statement files → movements: CODA (febelfin-coda) and ISO 20022 camt.053 (.001.02 to .001.08, lxml).

A file that cannot be read raises :class:`StatementError` saying where it is broken; nothing is imported.
"""

from __future__ import annotations

import datetime
import hashlib
import io
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from lxml import etree

CAMT_NAMESPACES = {f"urn:iso:std:iso:20022:tech:xsd:camt.053.001.{v:02d}" for v in range(2, 9)}


class StatementError(ValueError):
    """The file is not a readable statement; the message says where."""


@dataclass(frozen=True)
class Movement:
    account: str
    booked_on: datetime.date
    value_on: datetime.date | None
    amount: Decimal
    currency: str
    counterparty_name: str
    counterparty_account: str
    structured_communication: str
    free_text: str
    bank_reference: str
    position: str  # statement and sequence, unique within the account

    @property
    def fingerprint(self) -> str:
        key = "|".join((self.account, self.position, self.bank_reference, str(self.amount), self.booked_on.isoformat()))
        return hashlib.sha256(key.encode()).hexdigest()


def detect(data: bytes) -> str:
    head = data.lstrip()[:200]
    if head.startswith(b"<") or head.startswith(b"\xef\xbb\xbf<"):
        return "camt053"
    if head[:1] == b"0":
        return "coda"
    raise StatementError("neither a CODA file (first record 0) nor a camt.053 XML document")


# --- CODA ----------------------------------------------------------------------------------------------------


def parse_coda(data: bytes) -> list[Movement]:
    from coda import CODA  # febelfin-coda; imported here so that the module loads without it

    text = data.decode("windows-1252")
    for number, record in enumerate(text.splitlines(), start=1):
        if not record.strip():
            continue
        if len(record) != 128:
            raise StatementError(f"line {number}: a CODA record has 128 characters, this one {len(record)}")
        if record[0] not in "0123489":
            raise StatementError(f"line {number}: unknown CODA record type {record[0]!r}")
    try:
        parsed = CODA(io.StringIO(text))
    except (AssertionError, ValueError, IndexError, KeyError, InvalidOperation, AttributeError) as error:
        raise StatementError(
            f"the CODA statement does not add up or is malformed ({type(error).__name__}: {error})"
        ) from None
    movements = []
    for statement in parsed.statements:
        account = statement.account.replace(" ", "")
        for move in statement.moves:
            if move.amount is None:
                continue
            communication = move.communication or ""
            structured = communication if move.communication_type in {"101", "102"} else ""
            movements.append(
                Movement(
                    account=account,
                    booked_on=move.entry_date or statement.new_balance_date,
                    value_on=move.value_date,
                    amount=Decimal(move.amount).quantize(Decimal("0.01")),
                    currency=statement.account_currency or "EUR",
                    counterparty_name=(move.counterparty_name or "").strip(),
                    counterparty_account=(move.counterparty_account or "").strip().split(" ")[0],
                    structured_communication=structured.strip(),
                    free_text="" if structured else communication.strip(),
                    bank_reference=(move.bank_reference or "").strip(),
                    position=f"{statement.new_sequence}/{move.sequence}/{move.detail_sequence}",
                )
            )
    return movements


# --- camt.053 ------------------------------------------------------------------------------------------------


def _text(element: etree._Element | None, path: str, ns: dict[str, str]) -> str:
    if element is None:
        return ""
    found = element.find(path, ns)
    return (found.text or "").strip() if found is not None and found.text else ""


def _date(element: etree._Element, path: str, ns: dict[str, str]) -> datetime.date | None:
    value = _text(element, f"{path}/c:Dt", ns) or _text(element, f"{path}/c:DtTm", ns)[:10]
    return datetime.date.fromisoformat(value) if value else None


def parse_camt053(data: bytes) -> list[Movement]:
    try:
        root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as error:
        raise StatementError(f"line {error.lineno}: not well-formed XML ({error.msg})") from None
    namespace = etree.QName(root).namespace
    if namespace not in CAMT_NAMESPACES:
        raise StatementError(f"not a camt.053 document (namespace {namespace!r}; .001.02 to .001.08 are read)")
    ns = {"c": namespace}
    movements = []
    statements = root.findall("c:BkToCstmrStmt/c:Stmt", ns)
    if not statements:
        raise StatementError("no statement (BkToCstmrStmt/Stmt) in the document")
    for s_index, statement in enumerate(statements, start=1):
        account = _text(statement, "c:Acct/c:Id/c:IBAN", ns) or _text(statement, "c:Acct/c:Id/c:Othr/c:Id", ns)
        statement_id = _text(statement, "c:Id", ns) or str(s_index)
        for e_index, entry in enumerate(statement.findall("c:Ntry", ns), start=1):
            where = f"statement {statement_id}, entry {e_index} (line {entry.sourceline})"
            amount_element = entry.find("c:Amt", ns)
            try:
                amount = Decimal((amount_element.text or "").strip()) if amount_element is not None else None
            except InvalidOperation:
                amount = None
            if amount is None:
                raise StatementError(f"{where}: no readable amount (Amt)")
            direction = _text(entry, "c:CdtDbtInd", ns)
            if direction not in {"CRDT", "DBIT"}:
                raise StatementError(f"{where}: CdtDbtInd is {direction!r}, CRDT or DBIT expected")
            booked = _date(entry, "c:BookgDt", ns)
            if booked is None:
                raise StatementError(f"{where}: no booking date (BookgDt)")
            details = entry.findall("c:NtryDtls/c:TxDtls", ns) or [None]
            for t_index, tx in enumerate(details, start=1):
                tx_amount = amount
                if tx is not None and len(details) > 1:
                    value = _text(tx, "c:Amt", ns) or _text(tx, "c:AmtDtls/c:TxAmt/c:Amt", ns)
                    tx_amount = Decimal(value) if value else amount
                party = "c:RltdPties/c:Dbtr" if direction == "CRDT" else "c:RltdPties/c:Cdtr"
                name = _text(tx, f"{party}/c:Nm", ns) or _text(tx, f"{party}/c:Pty/c:Nm", ns)
                counter_account = _text(tx, f"{party}Acct/c:Id/c:IBAN", ns)
                structured = _text(tx, "c:RmtInf/c:Strd/c:CdtrRefInf/c:Ref", ns)
                free = " ".join(
                    (u.text or "").strip() for u in (tx.findall("c:RmtInf/c:Ustrd", ns) if tx is not None else [])
                )
                reference = (
                    _text(entry, "c:AcctSvcrRef", ns)
                    or _text(tx, "c:Refs/c:AcctSvcrRef", ns)
                    or (_text(tx, "c:Refs/c:EndToEndId", ns))
                )
                movements.append(
                    Movement(
                        account=account,
                        booked_on=booked,
                        value_on=_date(entry, "c:ValDt", ns),
                        amount=(tx_amount if direction == "CRDT" else -tx_amount).quantize(Decimal("0.01")),
                        currency=amount_element.get("Ccy", "EUR") if amount_element is not None else "EUR",
                        counterparty_name=name[:140],
                        counterparty_account=counter_account,
                        structured_communication="".join(c for c in structured if c.isdigit()) if structured else "",
                        free_text=free[:500],
                        bank_reference=reference[:64],
                        position=f"{statement_id}/{e_index}/{t_index}",
                    )
                )
    return movements


def parse(data: bytes) -> tuple[str, list[Movement]]:
    kind = detect(data)
    return kind, parse_coda(data) if kind == "coda" else parse_camt053(data)
