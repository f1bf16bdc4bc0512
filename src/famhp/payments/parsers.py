"""Bank statement files → movements: CODA 2.x (Febelfin) and ISO 20022 camt.053 (.001.02 to .001.08).

Both are read by position or by path from the standards' own layouts, and each statement is checked before
anything is kept: old balance + movements = new balance, the record count and the trailer totals (CODA
record 9), the transaction summary (camt ``TxsSummry``) and a batch's details against their total. A file
that cannot be read, or does not add up, raises :class:`StatementError` saying in words which statement, line
and figure are wrong; nothing is imported.

CODA globalisation: a movement the bank globalised (a total, detail number 0000, followed by detail movements
with the same sequence number) yields its details, one by one; the total counts for the balance only. The
same holds for a camt batch entry (``Ntry`` with several ``TxDtls``).
"""

from __future__ import annotations

import datetime
import functools
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _
from lxml import etree

from famhp.text import without_control

CAMT_NAMESPACES = {f"urn:iso:std:iso:20022:tech:xsd:camt.053.001.{v:02d}" for v in range(2, 9)}
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


class StatementError(ValueError):
    """The file is not a readable statement, or does not add up; the message says where."""


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
    end_to_end_id: str = ""
    pending: bool = False
    reversal: bool = False
    return_reason: str = ""

    @functools.cached_property
    def fingerprint(self) -> str:
        key = "|".join((self.account, self.position, self.bank_reference, str(self.amount), self.booked_on.isoformat()))
        return hashlib.sha256(key.encode()).hexdigest()


def detect(data: bytes) -> str:
    head = data.lstrip()[:200]
    if head.startswith(b"<") or head.startswith(b"\xef\xbb\xbf<"):
        return "camt053"
    if head[:1] == b"0":
        return "coda"
    raise StatementError(_("neither a CODA file (first record 0) nor a camt.053 XML document"))


def euro(value: Decimal) -> str:
    return f"{value:,.2f}"


# --- CODA 2.x -------------------------------------------------------------------------------------------------
# Positions below are the standard's, 1-based; Python slices are [from - 1 : to].


def _coda_amount(record: str, sign_at: int, start: int, number: int) -> Decimal:
    """A signed amount: the sign code at ``sign_at`` (0 credit, 1 debit), 15 digits with 3 decimals from
    ``start``."""
    raw = record[start - 1 : start + 14]
    if not raw.isdigit() or record[sign_at - 1] not in "01":
        raise StatementError(
            _("line %(line)s: the amount %(raw)r at positions %(from)s–%(to)s is not a signed CODA amount")
            % {"line": number, "raw": record[sign_at - 1] + raw, "from": sign_at, "to": start + 14}
        )
    value = (Decimal(raw) / 1000).quantize(CENT)
    return -value if record[sign_at - 1] == "1" else value


def _coda_optional_date(record: str, start: int, number: int) -> datetime.date | None:
    if record[start - 1 : start + 5].strip("0 ") == "":
        return None
    return _coda_date(record, start, number)


def _coda_date(record: str, start: int, number: int) -> datetime.date:
    raw = record[start - 1 : start + 5]
    try:
        return datetime.date(2000 + int(raw[4:6]), int(raw[2:4]), int(raw[0:2]))
    except ValueError:
        raise StatementError(
            _("line %(line)s: %(raw)r at positions %(from)s–%(to)s is not a date (DDMMYY)")
            % {"line": number, "raw": raw, "from": start, "to": start + 5}
        ) from None


@dataclass
class _CodaMove:
    number: int  # line of the record 2.1
    sequence: str
    detail: str
    amount: Decimal
    record21: str
    record22: str = ""
    record23: str = ""
    details: list[_CodaMove] = field(default_factory=list)


@dataclass
class _CodaStatement:
    header_line: int
    lines: list[tuple[int, str]] = field(default_factory=list)


def _coda_statements(text: str) -> Iterator[_CodaStatement]:
    current: _CodaStatement | None = None
    last = 0
    for number, record in enumerate(text.splitlines(), start=1):
        if not record.strip():
            continue
        last = number
        if len(record) != 128:
            raise StatementError(
                _("line %(line)s: a CODA record has 128 characters, this one %(length)s")
                % {"line": number, "length": len(record)}
            )
        kind = record[0]
        if kind not in "0123489":
            raise StatementError(_("line %(line)s: unknown CODA record type %(kind)r") % {"line": number, "kind": kind})
        if kind == "0":
            if current is not None:
                raise StatementError(
                    _(
                        "line %(line)s: a new file header (record 0) before the trailer (record 9) of the statement "
                        "that starts on line %(start)s"
                    )
                    % {"line": number, "start": current.header_line}
                )
            current = _CodaStatement(header_line=number)
        elif current is None:
            raise StatementError(
                _("line %(line)s: record %(kind)s comes before any header (record 0)") % {"line": number, "kind": kind}
            )
        current.lines.append((number, record))
        if kind == "9":
            yield current
            current = None
    if current is not None:
        raise StatementError(
            _(
                "the file ends at line %(line)s without the trailer (record 9) of the statement that starts on line "
                "%(start)s: it was cut off"
            )
            % {"line": last, "start": current.header_line}
        )
    if last == 0:
        raise StatementError(_("the CODA file is empty"))


def parse_coda(data: bytes) -> list[Movement]:
    """Febelfin CODA 2.x: records 0 (header), 1 (old balance), 2.1/2.2/2.3 (movement), 3.x (information),
    4 (free communication), 8 (new balance) and 9 (trailer)."""
    text = data.decode("windows-1252")
    movements: list[Movement] = []
    for statement in _coda_statements(text):
        movements.extend(_coda_statement(statement))
    return movements


def _coda_statement(statement: _CodaStatement) -> list[Movement]:
    lines = statement.lines
    kinds = [record[0] for _n, record in lines]
    if kinds.count("1") != 1 or kinds.count("8") != 1:
        raise StatementError(
            _(
                "the statement that starts on line %(start)s has %(old)s old-balance records (1) and %(new)s "
                "new-balance records (8); one of each is expected"
            )
            % {"start": statement.header_line, "old": kinds.count("1"), "new": kinds.count("8")}
        )
    old_line, old = next((n, r) for n, r in lines if r[0] == "1")
    new_line, new = next((n, r) for n, r in lines if r[0] == "8")
    trailer_line, trailer = lines[-1]
    structure = old[1]
    account = (old[5:17] if structure == "0" else old[5:39]).strip().replace(" ", "")
    currency = (old[18:21] if structure == "0" else old[39:42]).strip() or "EUR"
    paper = old[2:5]
    where = _("statement %(paper)s of account %(account)s") % {"paper": paper, "account": account}
    old_balance = _coda_amount(old, 43, 44, old_line)
    new_balance = _coda_amount(new, 42, 43, new_line)
    new_date = _coda_date(new, 58, new_line)

    moves: list[_CodaMove] = []
    totals: dict[str, _CodaMove] = {}
    last: _CodaMove | None = None
    for number, record in lines:
        if record[0] != "2":
            continue
        article = record[1]
        sequence, detail = record[2:6], record[6:10]
        if article == "1":
            move = _CodaMove(number, sequence, detail, _coda_amount(record, 32, 33, number), record)
            if detail == "0000":
                totals[sequence] = move
                moves.append(move)
            elif sequence in totals:
                totals[sequence].details.append(move)
            else:
                raise StatementError(
                    _(
                        "%(where)s, line %(line)s: detail %(detail)s of movement %(sequence)s has no total "
                        "(detail 0000) before it"
                    )
                    % {"where": where, "line": number, "detail": detail, "sequence": sequence}
                )
            last = move
        elif last is None or (last.sequence, last.detail) != (sequence, detail):
            raise StatementError(
                _("%(where)s, line %(line)s: record 2.%(article)s does not follow the record 2.1 of its movement")
                % {"where": where, "line": number, "article": article}
            )
        elif article == "2":
            last.record22 = record
        elif article == "3":
            last.record23 = record

    credit = sum((m.amount for m in moves if m.amount > 0), ZERO)
    debit = -sum((m.amount for m in moves if m.amount < 0), ZERO)
    if old_balance + credit - debit != new_balance:
        raise StatementError(
            _(
                "%(where)s, line %(line)s (record 8): the new balance is %(new)s, but the old balance %(old)s plus "
                "credits %(credit)s minus debits %(debit)s makes %(expected)s"
            )
            % {
                "where": where,
                "line": new_line,
                "new": euro(new_balance),
                "old": euro(old_balance),
                "credit": euro(credit),
                "debit": euro(debit),
                "expected": euro(old_balance + credit - debit),
            }
        )
    counted = sum(1 for kind in kinds if kind in "1238")
    stated = trailer[16:22]
    if not stated.isdigit() or int(stated) != counted:
        raise StatementError(
            _(
                "%(where)s, line %(line)s (record 9): the trailer counts %(stated)s records, the statement has "
                "%(counted)s (records 1, 2.x, 3.x and 8)"
            )
            % {"where": where, "line": trailer_line, "stated": stated.strip() or "?", "counted": counted}
        )
    for label, start, total in ((_("debits"), 23, debit), (_("credits"), 38, credit)):
        raw = trailer[start - 1 : start + 14]
        if not raw.isdigit() or (Decimal(raw) / 1000).quantize(CENT) != total:
            raise StatementError(
                _(
                    "%(where)s, line %(line)s (record 9): the trailer's total of %(what)s is %(stated)s, the "
                    "movements add up to %(total)s"
                )
                % {
                    "where": where,
                    "line": trailer_line,
                    "what": label,
                    "stated": euro(Decimal(raw) / 1000) if raw.isdigit() else repr(raw),
                    "total": euro(total),
                }
            )

    movements = []
    for move in moves:
        leaves = move.details or [move]
        if move.details and sum((d.amount for d in move.details), ZERO) != move.amount:
            raise StatementError(
                _(
                    "%(where)s, line %(line)s: the detail movements of the globalised movement %(sequence)s add up "
                    "to %(details)s, their total is %(total)s"
                )
                % {
                    "where": where,
                    "line": move.number,
                    "sequence": move.sequence,
                    "details": euro(sum((d.amount for d in move.details), ZERO)),
                    "total": euro(move.amount),
                }
            )
        for leaf in leaves:
            movements.append(_coda_movement(leaf, account, currency, paper, new_date))
    return movements


def _coda_movement(move: _CodaMove, account: str, currency: str, paper: str, statement_date: datetime.date) -> Movement:
    r21, r22, r23 = move.record21, move.record22, move.record23
    structured_flag, communication = r21[61], r21[62:115]
    text = communication + (r22[10:63] if r22 else "") + (r23[82:125] if r23 else "")
    structured = ""
    if structured_flag == "1" and communication[:3] in {"101", "102"}:
        structured = communication[3:15].strip()
        text = ""
    elif structured_flag == "1":
        text = text[3:]  # another structured type (SEPA direct debit, ...): kept as text for the queue
    return_type = r22[112] if r22 else " "
    return Movement(
        account=account,
        booked_on=_coda_optional_date(r21, 116, move.number) or statement_date,
        value_on=_coda_optional_date(r21, 48, move.number),
        amount=move.amount,
        currency=currency,
        counterparty_name=(r23[47:82] if r23 else "").strip(),
        counterparty_account=(r23[10:47] if r23 else "").strip().split(" ")[0],
        structured_communication=structured,
        free_text=" ".join(text.split())[:500],
        bank_reference=r21[10:31].strip(),
        position=f"{paper}/{move.sequence}/{move.detail}",
        end_to_end_id=(r22[63:98] if r22 else "").strip(),
        # record 2.2 position 113: type of R-transaction (1 reject, 2 return, 3 refund, 4 reversal, 5 cancellation)
        reversal=return_type in "12345" and return_type != " ",
        return_reason=(r22[113:117] if r22 else "").strip(),
    )


# --- camt.053 ------------------------------------------------------------------------------------------------


def _text(element: etree._Element | None, path: str, ns: dict[str, str]) -> str:
    if element is None:
        return ""
    found = element.find(path, ns)
    return (found.text or "").strip() if found is not None and found.text else ""


def _decimal(value: str) -> Decimal | None:
    try:
        return Decimal(value) if value else None
    except InvalidOperation:
        return None


def _balance(statement: etree._Element, codes: set[str], ns: dict[str, str]) -> tuple[Decimal, int] | None:
    for balance in statement.findall("c:Bal", ns):
        if _text(balance, "c:Tp/c:CdOrPrtry/c:Cd", ns) in codes:
            amount = _decimal(_text(balance, "c:Amt", ns))
            if amount is None:
                return None
            sign = -1 if _text(balance, "c:CdtDbtInd", ns) == "DBIT" else 1
            return sign * amount, balance.sourceline or 0
    return None


def parse_camt053(data: bytes) -> list[Movement]:
    try:
        root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as error:
        raise StatementError(
            _("line %(line)s: not well-formed XML (%(problem)s)") % {"line": error.lineno, "problem": error.msg}
        ) from None
    namespace = etree.QName(root).namespace
    if namespace not in CAMT_NAMESPACES:
        raise StatementError(
            _("not a camt.053 document (namespace %(namespace)r; .001.02 to .001.08 are read)")
            % {"namespace": namespace}
        )
    ns = {"c": namespace}
    statements = root.findall("c:BkToCstmrStmt/c:Stmt", ns)
    if not statements:
        raise StatementError(_("no statement (BkToCstmrStmt/Stmt) in the document"))
    movements = []
    for s_index, statement in enumerate(statements, start=1):
        movements.extend(_camt_statement(statement, s_index, ns))
    return movements


class _Where:
    """Where an entry is, put in words when an error message needs it."""

    def __init__(self, where: str, entry: int, line: int) -> None:
        self.where, self.entry, self.line = where, entry, line

    def __str__(self) -> str:
        return _("%(where)s, entry %(entry)s (line %(line)s)") % {
            "where": self.where,
            "entry": self.entry,
            "line": self.line,
        }


Leaves = dict[str, list[str]]


def _leaves(element: etree._Element | None, cut: int, skip: str = "") -> Leaves:
    """The texts of the elements without children below ``element``, by their path of local names
    (``RltdPties/Dbtr/Nm``), in document order: one walk instead of one search per field, which is what a
    100,000-entry statement spends its time on (issue 15). ``cut`` is the length of ``{namespace}``; a child
    named ``skip`` is left out."""
    found: Leaves = {}
    if element is None:
        return found
    for child in element:
        tag = child.tag
        if not isinstance(tag, str) or tag == skip:
            continue  # a comment or processing instruction, or what the caller reads apart
        if not len(child):
            found.setdefault(tag[cut:], []).append(child.text or "")
            continue
        # below: each element's path is its parent's, known before it (document order)
        prefixes = {child: tag[cut:] + "/"}
        for below in child.iterdescendants():
            name = below.tag
            if not isinstance(name, str):
                continue
            path = prefixes[below.getparent()] + name[cut:]
            if len(below):
                prefixes[below] = path + "/"
            else:
                found.setdefault(path, []).append(below.text or "")
    return found


def _first(leaves: Leaves, path: str) -> str:
    """What ``_text`` gives for ``path``: the first such element's text, stripped."""
    texts = leaves.get(path)
    return texts[0].strip() if texts else ""


def _leaf_date(leaves: Leaves, path: str) -> datetime.date | None:
    value = _first(leaves, f"{path}/Dt") or _first(leaves, f"{path}/DtTm")[:10]
    return datetime.date.fromisoformat(value) if value else None


def _camt_statement(statement: etree._Element, s_index: int, ns: dict[str, str]) -> list[Movement]:
    account = _text(statement, "c:Acct/c:Id/c:IBAN", ns) or _text(statement, "c:Acct/c:Id/c:Othr/c:Id", ns)
    statement_id = _text(statement, "c:Id", ns) or str(s_index)
    where = _("statement %(id)s of account %(account)s") % {"id": statement_id, "account": account}
    namespace = "{" + ns["c"] + "}"
    cut, amount_tag, details_tag = len(namespace), f"{namespace}Amt", f"{namespace}NtryDtls"
    details_path = f"{details_tag}/{namespace}TxDtls"
    movements: list[Movement] = []
    booked_net = ZERO
    count = credits = debits = 0
    credit_sum = debit_sum = ZERO
    for e_index, entry in enumerate(statement.iterchildren(f"{namespace}Ntry"), start=1):
        at = _Where(where, e_index, entry.sourceline or 0)  # put in words only for an error
        fields = _leaves(entry, cut, skip=details_tag)
        amount_element = entry.find(amount_tag)
        amount = _decimal(_first(fields, "Amt")) if amount_element is not None else None
        if amount is None or amount_element is None:
            raise StatementError(_("%(at)s: no readable amount (Amt)") % {"at": at})
        currency = amount_element.get("Ccy", "").strip() or "EUR"
        direction = _first(fields, "CdtDbtInd")
        if direction not in {"CRDT", "DBIT"}:
            raise StatementError(
                _("%(at)s: CdtDbtInd is %(value)r, CRDT or DBIT expected") % {"at": at, "value": direction}
            )
        status = _first(fields, "Sts/Cd") or _first(fields, "Sts")
        if status not in {"BOOK", "PDNG", "INFO"}:
            raise StatementError(
                _("%(at)s: status (Sts) is %(value)r, BOOK or PDNG expected") % {"at": at, "value": status}
            )
        value_on = _leaf_date(fields, "ValDt")
        booked = _leaf_date(fields, "BookgDt") or (value_on if status != "BOOK" else None)
        if booked is None:
            raise StatementError(_("%(at)s: no booking date (BookgDt)") % {"at": at})
        sign = 1 if direction == "CRDT" else -1
        count += 1
        if direction == "CRDT":
            credits, credit_sum = credits + 1, credit_sum + amount
        else:
            debits, debit_sum = debits + 1, debit_sum + amount
        if status == "BOOK":
            booked_net += sign * amount
        reversal = _first(fields, "RvslInd").lower() in {"true", "1"}
        details = [_leaves(tx, cut) for tx in entry.iterfind(details_path)]
        amounts = [_decimal(_first(tx, "Amt") or _first(tx, "AmtDtls/TxAmt/Amt")) for tx in details]
        split = len(details) > 1 and all(a is not None for a in amounts)
        if split and sum((a for a in amounts if a is not None), ZERO) != amount:
            raise StatementError(
                _("%(at)s: its %(count)s transactions add up to %(details)s, the entry's amount is %(total)s")
                % {
                    "at": at,
                    "count": len(details),
                    "details": euro(sum((a for a in amounts if a is not None), ZERO)),
                    "total": euro(amount),
                }
            )
        parts: list[tuple[Leaves | None, Decimal]]
        if split:
            parts = [(tx, a) for tx, a in zip(details, amounts, strict=True) if a is not None]
        else:
            parts = [(details[0] if details else None, amount)]
        entry_reference = _first(fields, "AcctSvcrRef")
        for t_index, (found, tx_amount) in enumerate(parts, start=1):
            tx = found or {}
            party = "RltdPties/Dbtr" if direction == "CRDT" else "RltdPties/Cdtr"
            if reversal:  # the original's payer is on the other side of a reversed credit
                party = "RltdPties/Dbtr"
            name = _first(tx, f"{party}/Nm") or _first(tx, f"{party}/Pty/Nm")
            structured = _first(tx, "RmtInf/Strd/CdtrRefInf/Ref")
            free = " ".join(text.strip() for text in tx.get("RmtInf/Ustrd", ()))
            end_to_end = _first(tx, "Refs/EndToEndId")
            # a reversal (RvslInd), or a debit returning a credit (return information, RtrInf)
            returned = reversal or (
                direction == "DBIT" and any(path == "RtrInf" or path.startswith("RtrInf/") for path in tx)
            )
            reference = entry_reference or _first(tx, "Refs/AcctSvcrRef") or end_to_end
            if split:
                reference = f"{reference}/{t_index}"
            movements.append(
                Movement(
                    account=account,
                    booked_on=booked,
                    value_on=value_on,
                    amount=(sign * tx_amount).quantize(CENT),
                    currency=currency,
                    counterparty_name=name[:140],
                    counterparty_account=_first(tx, f"{party}Acct/Id/IBAN"),
                    structured_communication="".join(c for c in structured if c.isdigit()) if structured else "",
                    free_text=free[:500],
                    bank_reference=reference[:64],
                    position=f"{statement_id}/{e_index}/{t_index}",
                    end_to_end_id=end_to_end[:64],
                    pending=status != "BOOK",
                    reversal=returned,
                    return_reason=_first(tx, "RtrInf/Rsn/Cd")[:4] if returned else "",
                )
            )
    _camt_check(statement, where, ns, booked_net, (count, credits, debits), (credit_sum, debit_sum))
    return movements


def _camt_check(
    statement: etree._Element,
    where: str,
    ns: dict[str, str],
    booked_net: Decimal,
    counts: tuple[int, int, int],
    sums: tuple[Decimal, Decimal],
) -> None:
    """Opening booked balance + booked entries = closing booked balance; the transaction summary, if given,
    counts and adds up the entries."""
    opening = _balance(statement, {"OPBD", "PRCD"}, ns)
    closing = _balance(statement, {"CLBD"}, ns)
    if opening is None or closing is None:
        raise StatementError(
            _("%(where)s (line %(line)s): no opening (OPBD) or closing (CLBD) booked balance with a readable amount")
            % {"where": where, "line": statement.sourceline}
        )
    if opening[0] + booked_net != closing[0]:
        raise StatementError(
            _(
                "%(where)s, line %(line)s: the closing balance (CLBD) is %(closing)s, but the opening balance "
                "%(opening)s plus the booked entries %(net)s makes %(expected)s"
            )
            % {
                "where": where,
                "line": closing[1],
                "closing": euro(closing[0]),
                "opening": euro(opening[0]),
                "net": euro(booked_net),
                "expected": euro(opening[0] + booked_net),
            }
        )
    summary = statement.find("c:TxsSummry", ns)
    if summary is None:
        return
    count, credits, debits = counts
    credit_sum, debit_sum = sums
    for path, number, total in (
        ("c:TtlNtries", count, credit_sum + debit_sum),
        ("c:TtlCdtNtries", credits, credit_sum),
        ("c:TtlDbtNtries", debits, debit_sum),
    ):
        part = summary.find(path, ns)
        if part is None:
            continue
        stated_count = _text(part, "c:NbOfNtries", ns)
        stated_sum = _decimal(_text(part, "c:Sum", ns))
        if stated_count and stated_count != str(number):
            raise StatementError(
                _(
                    "%(where)s, line %(line)s (%(element)s): the summary counts %(stated)s entries, the statement "
                    "has %(number)s"
                )
                % {
                    "where": where,
                    "line": part.sourceline,
                    "element": path[2:],
                    "stated": stated_count,
                    "number": number,
                }
            )
        if stated_sum is not None and stated_sum != total:
            raise StatementError(
                _(
                    "%(where)s, line %(line)s (%(element)s): the summary's sum is %(stated)s, the entries add up to "
                    "%(total)s"
                )
                % {
                    "where": where,
                    "line": part.sourceline,
                    "element": path[2:],
                    "stated": euro(stated_sum),
                    "total": euro(total),
                }
            )


def parse(data: bytes) -> tuple[str, list[Movement]]:
    kind = detect(data)
    movements = parse_coda(data) if kind == "coda" else parse_camt053(data)
    # A CODA file may carry a NUL or another control character in a name (PostgreSQL refuses NUL, XML 1.0 most
    # of them): they become spaces, and the line is imported (ADR 14).
    return kind, [_without_control(movement) for movement in movements]


def _without_control(movement: Movement) -> Movement:
    strings = [value for value in vars(movement).values() if isinstance(value, str)]
    if without_control("".join(strings)) == "".join(strings):
        return movement  # the common case: one look at all its texts
    texts: dict[str, Any] = {
        name: without_control(value)
        for name, value in vars(movement).items()
        if isinstance(value, str) and without_control(value) != value
    }
    return replace(movement, **texts) if texts else movement
