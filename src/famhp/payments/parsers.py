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

import contextlib
import datetime
import functools
import hashlib
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any, Generic, TypeVar

from django.utils import timezone
from django.utils.translation import gettext as _
from lxml import etree

from famhp.text import without_control

CAMT_NAMESPACES = {f"urn:iso:std:iso:20022:tech:xsd:camt.053.001.{v:02d}" for v in range(2, 9)}
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
#: movements read per part of a large file (:func:`read`)
PART_ENTRIES = 10_000


class StatementError(ValueError):
    """The file is not a readable statement, or does not add up; the message says where."""


Value = TypeVar("Value")


class _once(Generic[Value]):  # lower case: a decorator, as functools.cached_property
    """``functools.cached_property`` without the lock Python 3.11 takes on every first access (measured: 0.6 s of
    CPU for the fingerprints and twin keys of a 100,000-line file). The value is kept in the instance's
    ``__dict__``, as cached_property keeps it."""

    def __init__(self, function: Callable[[Any], Value]) -> None:
        self.function, self.name = function, function.__name__

    def __get__(self, instance: Any, owner: Any = None) -> Value:
        if instance is None:
            return self  # type: ignore[return-value]  # the class's attribute, as for any descriptor
        value = instance.__dict__[self.name] = self.function(instance)
        return value


@dataclass
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

    @_once
    def fingerprint(self) -> str:
        key = "|".join((self.account, self.position, self.bank_reference, str(self.amount), self.booked_on.isoformat()))
        return hashlib.sha256(key.encode()).hexdigest()

    @_once
    def twin_key(self) -> str:
        return twin_key(
            account=self.account,
            booked_on=self.booked_on,
            amount=self.amount,
            currency=self.currency,
            pending=self.pending,
            structured_communication=self.structured_communication,
            free_text=self.free_text,
        )


def digits(value: str) -> str:
    """The digits of ``value`` (a structured communication as written, with or without its ``+++``)."""
    return value if value.isdigit() or not value else NOT_DIGITS.sub("", value)


NOT_DIGITS = re.compile(r"\D")


@functools.lru_cache(maxsize=256)
def account_compact(account: str) -> str:
    """The agency's account as one form whatever the format wrote: an IBAN upper case without spaces; a Belgian
    account number (CODA account structure 0: 12 digits, the last two the first ten mod 97) as its Belgian IBAN,
    the form camt.053 gives."""
    compact = "".join(account.split()).upper()
    plain = compact.replace("-", "")
    if len(plain) == 12 and plain.isdigit() and (int(plain[:10]) % 97 or 97) == int(plain[10:]):
        return f"BE{98 - int(plain + '111400') % 97:02d}{plain}"  # B = 11, E = 14, check digits 00 (ISO 13616)
    return compact


def account_forms(account: str) -> list[str]:
    """Every form a line of this account may be stored in (its IBAN; for a Belgian IBAN also its 12-digit account
    number, as CODA account structure 0 writes it): the earlier lines of an account are looked up by all of them."""
    compact = account_compact(account)
    forms = {compact, "".join(account.split())}
    if compact.startswith("BE") and len(compact) == 16:
        forms.add(compact[4:])
    return sorted(forms)


#: a structured communication written in a free text: +++123/4567/89012+++ or ***123/4567/89012***
OGM_WRITTEN = re.compile(r"[+*]{3}\s*(\d{3})\s*/?\s*(\d{4})\s*/?\s*(\d{5})\s*[+*]{3}")
#: a free text that is only a structured communication, without its +++ (123/4567/89012, 123456789012)
OGM_ALONE = re.compile(r"[+*]{0,3}(\d{3})/?(\d{4})/?(\d{5})[+*]{0,3}")


def twin_key(
    *,
    account: str,
    booked_on: datetime.date,
    amount: Decimal,
    currency: str,
    pending: bool,
    structured_communication: str,
    free_text: str,
) -> str:
    """What a movement is, whatever the format it came in (ADR 12, addendum): the account (one form:
    :func:`account_compact`), booking date, signed amount, currency, booked or pending, and the communication:
    the 12 digits of a structured communication wherever it stands (the structured field, or +++…+++ / ***…***
    in the free text), else the free text without spacing or case. Unlike the fingerprint, it holds no statement
    position or bank reference, which CODA and camt.053 write differently. Left out on purpose, since the formats
    fill them differently or not at all: the value date (optional in camt.053) and the payer's account (an IBAN,
    a Belgian account number, camt ``Othr/Id``, or nothing). A key that is too loose sends one more line to a
    person; one too strict books the same payment twice. 32 hexadecimal digits."""
    if structured_communication:
        communication = "s" + digits(structured_communication)
    else:
        found = OGM_WRITTEN.search(free_text) or OGM_ALONE.fullmatch("".join(free_text.split()))
        communication = "s" + "".join(found.groups()) if found else "t" + "".join(free_text.split()).casefold()
    state = "pending" if pending else "booked"
    key = f"{_twin_head(account, booked_on)}|{amount:.2f}|{currency.upper()}|{state}|{communication}"
    return hashlib.blake2b(key.encode(), digest_size=16).hexdigest()


@functools.lru_cache(maxsize=1024)
def _twin_head(account: str, booked_on: datetime.date) -> str:
    """The start of a twin key, the same for a day's movements of one account: worked out once."""
    return f"{account_compact(account)}|{booked_on.isoformat()}"


def detect(data: bytes) -> str:
    head = data.lstrip()[:200]
    if head.startswith(b"<") or head.startswith(b"\xef\xbb\xbf<"):
        if DOCTYPE.search(data, 0, _root_start(data)):
            # ISO 20022 documents are described by schemas, never by a DTD: a DOCTYPE's entities are not expanded
            raise StatementError(_("a camt.053 document has no DOCTYPE (no DTD, no entities): this one has one"))
        return "camt053"
    if head[:1] == b"0":
        return "coda"
    raise StatementError(_("neither a CODA file (first record 0) nor a camt.053 XML document"))


#: a document type declaration, before the root element
DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
#: the first element of an XML document (not a declaration, a comment or a processing instruction)
ROOT_START = re.compile(rb"<[A-Za-z_]")


def _root_start(data: bytes) -> int:
    found = ROOT_START.search(data)
    return found.start() if found else len(data)


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
    if raw[-1] != "0":
        raise StatementError(
            _("line %(line)s: the amount %(raw)s has a third decimal (%(digit)s): an amount in euro has two")
            % {"line": number, "raw": f"{Decimal(raw) / 1000:.3f}", "digit": raw[-1]}
        )
    value = Decimal(raw[:-1]).scaleb(-2)
    return -value if record[sign_at - 1] == "1" else value


def _coda_optional_date(record: str, start: int, number: int) -> datetime.date | None:
    if record[start - 1 : start + 5].strip("0 ") == "":
        return None
    return _coda_date(record, start, number)


@functools.lru_cache(maxsize=1024)
def _ddmmyy(raw: str) -> datetime.date:
    """A CODA date; a statement's movements share a few dates, read once each."""
    return datetime.date(2000 + int(raw[4:6]), int(raw[2:4]), int(raw[0:2]))


def _coda_date(record: str, start: int, number: int) -> datetime.date:
    raw = record[start - 1 : start + 5]
    try:
        return _ddmmyy(raw)
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
    return [m for part in _coda_reading(data, PART_ENTRIES).parts for m in part]


def _coda_reading(data: bytes, size: int) -> Reading:
    """The file cut into its statements at once (a file cut off, or a record out of place, is refused here);
    each statement read and checked when its part is asked for, statements of fewer than ``size`` movements
    given together."""
    try:
        text = data.decode("windows-1252")
    except UnicodeDecodeError as error:  # 0x81, 0x8D, 0x8F, 0x90, 0x9D: no character of windows-1252
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise StatementError(
            _(
                "line %(line)s, position %(column)s: the byte 0x%(byte)02X is no character of a CODA file "
                "(windows-1252); the file may have been saved in another encoding"
            )
            % {"line": line, "column": column, "byte": data[error.start]}
        ) from None
    statements = list(_coda_statements(text))
    control = bool(data.translate(None, PRINTABLE_BYTES)) and bool(CONTROL_IN_RECORD.search(text))  # rare
    accounts = set()
    may_reverse = False
    for statement in statements:
        for _number, record in statement.lines:
            if record[0] == "1":
                accounts.add(without_control(_coda_account(record)) if control else _coda_account(record))
            elif record[:2] == "22" and record[112] in "12345":
                may_reverse = True

    def parts() -> Iterator[list[Movement]]:
        movements: list[Movement] = []
        for statement in statements:
            read = _coda_statement(statement)
            movements.extend([_without_control(m) for m in read] if control else read)
            if len(movements) >= size:
                yield movements
                movements = []
        yield movements

    return Reading("coda", sorted(accounts), may_reverse, parts())


def _coda_account(old: str) -> str:
    """The account of a statement, from its record 1 (account structure 0: a Belgian account number)."""
    return (old[5:17] if old[1] == "0" else old[5:39]).strip().replace(" ", "")


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
    account = _coda_account(old)
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
# The entries are read by one XSLT transform (libxslt, in C) that writes, per statement, one record per entry
# and per transaction with the texts of the paths below, separated by characters of Unicode's private use area
# (U+E000 to U+E003) that a bank text does not hold: no Python object per XML element (issue 15: reading a
# 100,000-entry statement element by element was half of its import). What the records mean is decided here,
# in Python, as before; only where an error is reported is an entry's element looked up again, for its line.

FIELD, RECORD, PART = "\ue000", "\ue001", "\ue002"
#: read of each entry (``Ntry``), relative to it; one text each (the first such element's, stripped)
ENTRY_PATHS = (
    "Amt",
    "Amt/@Ccy",
    "CdtDbtInd",
    "Sts/Cd",
    "Sts[not(*)]",
    "ValDt/Dt",
    "ValDt/DtTm",
    "BookgDt/Dt",
    "BookgDt/DtTm",
    "RvslInd",
    "AcctSvcrRef",
)
#: read of each transaction (``NtryDtls/TxDtls``), relative to it; then every ``RmtInf/Ustrd`` and whether
#: there is return information (``RtrInf``)
TX_PATHS = (
    "Amt",
    "AmtDtls/TxAmt/Amt",
    "RltdPties/Dbtr/Nm",
    "RltdPties/Dbtr/Pty/Nm",
    "RltdPties/Cdtr/Nm",
    "RltdPties/Cdtr/Pty/Nm",
    "RltdPties/DbtrAcct/Id/IBAN",
    "RltdPties/CdtrAcct/Id/IBAN",
    "RmtInf/Strd/CdtrRefInf/Ref",
    "Refs/EndToEndId",
    "Refs/AcctSvcrRef",
    "RtrInf/Rsn/Cd",
)
E = {path: index for index, path in enumerate(ENTRY_PATHS, start=1)}
T = {path: index for index, path in enumerate(TX_PATHS, start=1)}
T_USTRD, T_RETURN = len(TX_PATHS) + 1, len(TX_PATHS) + 2
#: separators written literally or as a character reference: such a document is cleaned of them first
SEPARATORS_IN = re.compile(rb"\xee\x80[\x80-\x83]|&#(x0*e00[0-3]|0*5734[4-7]);", re.IGNORECASE)


def _xpath(path: str) -> str:
    return "/".join(step if step.startswith("@") else f"c:{step}" for step in path.split("/"))


#: the element a statement's entries are put in, ``size`` at a time, to be transformed part by part
PART_TAG = "{urn:famhp:part}Part"


@functools.lru_cache(maxsize=8)
def _entries_transform(namespace: str) -> etree.XSLT:
    """The transform writing the entries and transactions of one part of a statement as records, for one camt.053
    version. It is applied to the part's element (:data:`PART_TAG`), the root of the document it sees: libxslt
    numbers every node of its input first, so a part transformed within the whole document would cost a walk of
    the whole document each."""

    def values(paths: tuple[str, ...]) -> str:
        return "".join(f'<x:text>{FIELD}</x:text><x:value-of select="{_xpath(path)}"/>' for path in paths)

    stylesheet = f"""<x:stylesheet version="1.0" xmlns:x="http://www.w3.org/1999/XSL/Transform" xmlns:c="{namespace}">
<x:output method="text" encoding="UTF-8"/>
<x:template match="/">
  <x:for-each select="/*/c:Ntry"><x:text>E</x:text>{values(ENTRY_PATHS)}<x:text>{RECORD}</x:text>
    <x:for-each select="c:NtryDtls/c:TxDtls"><x:text>T</x:text>{values(TX_PATHS)}<x:text>{FIELD}</x:text>
      <x:for-each select="c:RmtInf/c:Ustrd"><x:value-of select="."/><x:text>{PART}</x:text></x:for-each>
      <x:text>{FIELD}</x:text><x:value-of select="count(c:RtrInf)"/><x:text>{RECORD}</x:text>
    </x:for-each>
  </x:for-each>
</x:template>
</x:stylesheet>"""
    return etree.XSLT(etree.fromstring(stylesheet.encode()), access_control=etree.XSLTAccessControl.DENY_ALL)


def _without_separators(root: etree._Element) -> None:
    """The private-use characters the records are separated by, replaced by spaces in the document's texts."""
    clean = re.compile("[\ue000-\ue003]")
    for element in root.iter():
        if isinstance(element.tag, str):
            if element.text and clean.search(element.text):
                element.text = clean.sub(" ", element.text)
            for name, value in element.attrib.items():
                if clean.search(value):
                    element.set(name, clean.sub(" ", value))


def _entry_records(transform: etree.XSLT, part: etree._Element) -> list[list[str]]:
    """The records of a part's entries: an entry's (``E``) followed by its transactions' (``T``), each a list of
    texts in the order of :data:`ENTRY_PATHS` or :data:`TX_PATHS`, control characters and line breaks made
    spaces (ADR 14), stripped."""
    text = without_control(str(transform(part)))
    records = [list(map(str.strip, record.split(FIELD))) for record in text.split(RECORD)[:-1]]
    for record in records:
        expected = len(ENTRY_PATHS) + 1 if record[0] == "E" else len(TX_PATHS) + 3
        if record[0] not in {"E", "T"} or len(record) != expected:
            raise StatementError(_("the document could not be read into entries and transactions"))
    if records and records[0][0] != "E":
        raise StatementError(_("the document could not be read into entries and transactions"))
    return records


def _in_parts(statement: etree._Element, entry_tag: str, size: int) -> list[etree._Element]:
    """A statement's entries moved into elements of ``size`` entries each (at least one, maybe empty; the first
    fewer), in order (all at once: an entry is found again by its number among the statement's descendants,
    :class:`_Where`)."""
    entries = list(statement.iterchildren(entry_tag))
    # the first part a tenth: what imports the parts waits for the first one
    bounds = [0, *range(max(size // 10, 1), len(entries), size), len(entries)]
    parts = []
    for first, end in itertools.pairwise(bounds):
        part = etree.SubElement(statement, PART_TAG)
        part.extend(entries[first:end])
        parts.append(part)
    return parts


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


#: an ISO 20022 amount as written: never negative (the sign is CdtDbtInd), digits with an optional decimal part
AMOUNT_WRITTEN = re.compile(r"\d+(?:\.\d+)?")
#: what a bank line's amount holds: 12 digits before the decimal point, 2 after (BankLine.amount)
AMOUNT_LIMIT = Decimal("1e12")


def _amount(at: object, written: str) -> Decimal:
    """An entry's or a transaction's amount (Amt), as ISO 20022 writes it, that a bank line holds exactly:
    refused in words otherwise (never rounded, never a server error)."""
    if not AMOUNT_WRITTEN.fullmatch(written):
        raise StatementError(
            _("%(at)s: no readable amount (Amt): %(value)r is not one (digits, a point and decimals; never negative)")
            % {"at": at, "value": written[:40]}
        )
    whole, _point, decimals = written.partition(".")
    if len(decimals.rstrip("0")) > 2:
        raise StatementError(
            _("%(at)s: the amount %(value)s has more than two decimals") % {"at": at, "value": written[:40]}
        )
    if len(whole.lstrip("0")) > 12:
        raise StatementError(
            _("%(at)s: the amount %(value)s is beyond what a bank line holds (under 1,000,000,000,000)")
            % {"at": at, "value": written[:40]}
        )
    return Decimal(written).quantize(CENT)


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
    root, ns, statements = _camt_document(data)
    return [m for part in _camt053_parts(data, root, ns, statements, PART_ENTRIES) for m in part]


def _camt053_parts(
    data: bytes, root: etree._Element, ns: dict[str, str], statements: list[etree._Element], size: int
) -> Iterator[list[Movement]]:
    """The movements of a camt.053 document, ``size`` entries at a time, each part read and checked as it comes
    (an entry that cannot be read raises when its part is read); a statement's balances and summary are checked
    once its last part is given, before the next statement's first."""
    if (b"\xee\x80" in data or b"&#" in data) and SEPARATORS_IN.search(data):
        _without_separators(root)
    transform = _entries_transform(ns["c"])
    entry_tag = "{" + ns["c"] + "}Ntry"
    for s_index, statement in enumerate(statements, start=1):
        parts = (_entry_records(transform, part) for part in _in_parts(statement, entry_tag, size))
        yield from _camt_statement(statement, s_index, ns, parts)


def _camt_document(data: bytes) -> tuple[etree._Element, dict[str, str], list[etree._Element]]:
    try:
        root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as error:
        raise StatementError(
            _("line %(line)s: not well-formed XML (%(problem)s)") % {"line": error.lineno, "problem": error.msg}
        ) from None
    ns = {"c": _camt_namespace(root)}
    statements = root.findall("c:BkToCstmrStmt/c:Stmt", ns)
    if not statements:
        raise StatementError(_("no statement (BkToCstmrStmt/Stmt) in the document"))
    return root, ns, statements


def _camt_namespace(root: etree._Element) -> str:
    namespace = etree.QName(root).namespace
    if namespace not in CAMT_NAMESPACES:
        raise StatementError(
            _("not a camt.053 document (namespace %(namespace)r; .001.02 to .001.08 are read)")
            % {"namespace": namespace}
        )
    return str(namespace)


def _camt_account(statement: etree._Element, ns: dict[str, str]) -> str:
    return _text(statement, "c:Acct/c:Id/c:IBAN", ns) or _text(statement, "c:Acct/c:Id/c:Othr/c:Id", ns)


class _Where:
    """Where an entry is, put in words when an error message needs it (its element looked up only then)."""

    def __init__(self, where: str, statement: etree._Element, tag: str, entry: int) -> None:
        self.where, self.statement, self.tag, self.entry = where, statement, tag, entry

    def __str__(self) -> str:
        element = next(itertools.islice(self.statement.iterdescendants(self.tag), self.entry - 1, None), None)
        return _("%(where)s, entry %(entry)s (line %(line)s)") % {
            "where": self.where,
            "entry": self.entry,
            "line": (element.sourceline if element is not None else None) or 0,
        }


_iso_date = functools.lru_cache(maxsize=1024)(datetime.date.fromisoformat)


@functools.lru_cache(maxsize=4096)
def _moment_day(moment: str) -> datetime.date:
    """The day of a DtTm: with its offset (2026-01-15T23:30:00Z), the day it is in the agency's time zone
    (Europe/Brussels: the day CODA and the rest of the system give the same movement, so that the two formats'
    lines are twins); without one, the date written."""
    at = datetime.datetime.fromisoformat(moment)
    return at.astimezone(timezone.get_default_timezone()).date() if at.tzinfo else at.date()


def _date(at: _Where, day: str, moment: str) -> datetime.date | None:
    if not day and moment:
        with contextlib.suppress(ValueError):  # not ISO 8601 as Python reads it: its first ten characters, below
            return _moment_day(moment)
    # an xs:date may end with its time zone (2026-01-15Z, 2026-01-15+01:00): the day is the date written
    value = (day[:10] if len(day) > 10 and day[10] in "Z+-" else day) or moment[:10]
    try:
        return _iso_date(value) if value else None
    except ValueError:
        raise StatementError(_("%(at)s: %(value)r is not a date") % {"at": at, "value": value}) from None


def _camt_statement(
    statement: etree._Element, s_index: int, ns: dict[str, str], record_parts: Iterator[list[list[str]]]
) -> Iterator[list[Movement]]:
    """A statement's movements, a part of its entries' records at a time, each given as soon as it is read; the
    statement's balances and summary checked after its last part (whoever stores parts as they come stores them
    in a transaction that this refusal rolls back)."""
    account = _camt_account(statement, ns)
    statement_id = _text(statement, "c:Id", ns) or str(s_index)
    where = _("statement %(id)s of account %(account)s") % {"id": statement_id, "account": account}
    entry_tag = "{" + ns["c"] + "}Ntry"
    booked_net = ZERO
    count = credits = debits = 0
    credit_sum = debit_sum = ZERO
    e_index = 0
    for records in record_parts:
        movements: list[Movement] = []
        position = 0
        while position < len(records):
            fields = records[position]
            details = []
            position += 1
            while position < len(records) and records[position][0] == "T":
                details.append(records[position])
                position += 1
            e_index += 1
            at = _Where(where, statement, entry_tag, e_index)
            if not fields[E["Amt"]]:
                raise StatementError(_("%(at)s: no readable amount (Amt)") % {"at": at})
            amount = _amount(at, fields[E["Amt"]])
            currency = fields[E["Amt/@Ccy"]] or "EUR"
            direction = fields[E["CdtDbtInd"]]
            if direction not in {"CRDT", "DBIT"}:
                raise StatementError(
                    _("%(at)s: CdtDbtInd is %(value)r, CRDT or DBIT expected") % {"at": at, "value": direction}
                )
            status = fields[E["Sts/Cd"]] or fields[E["Sts[not(*)]"]]
            if status not in {"BOOK", "PDNG", "INFO"}:
                raise StatementError(
                    _("%(at)s: status (Sts) is %(value)r, BOOK or PDNG expected") % {"at": at, "value": status}
                )
            value_on = _date(at, fields[E["ValDt/Dt"]], fields[E["ValDt/DtTm"]])
            booked = _date(at, fields[E["BookgDt/Dt"]], fields[E["BookgDt/DtTm"]]) or (
                value_on if status != "BOOK" else None
            )
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
            reversal = fields[E["RvslInd"]].lower() in {"true", "1"}
            amounts = [
                _amount(at, written) if (written := tx[T["Amt"]] or tx[T["AmtDtls/TxAmt/Amt"]]) else None
                for tx in details
            ]
            split = len(details) > 1 and all(a is not None for a in amounts)
            unsplit = len(details) > 1 and not split  # a batch whose transactions give no amount (optional)
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
            parts: list[tuple[list[str] | None, Decimal]]
            if split:
                parts = [(tx, a) for tx, a in zip(details, amounts, strict=True) if a is not None]
            elif unsplit:
                # the bank did not say how much of the entry each transaction pays: one line that waits for a
                # person, naming every transaction's communication (without +++, so none is matched alone)
                parts = [(_batch_without_amounts(details), amount)]
            else:
                parts = [(details[0] if details else None, amount)]
            entry_reference = fields[E["AcctSvcrRef"]]
            # the original's payer is on the other side of a reversed credit
            party = "Dbtr" if direction == "CRDT" or reversal else "Cdtr"
            for t_index, (found, tx_amount) in enumerate(parts, start=1):
                tx = found or NO_TX
                name = tx[T[f"RltdPties/{party}/Nm"]] or tx[T[f"RltdPties/{party}/Pty/Nm"]]
                structured = tx[T["RmtInf/Strd/CdtrRefInf/Ref"]]
                free = " ".join(text.strip() for text in tx[T_USTRD].split(PART)[:-1])
                end_to_end = tx[T["Refs/EndToEndId"]]
                # a reversal (RvslInd), or a debit returning a credit (return information, RtrInf)
                returned = reversal or (direction == "DBIT" and tx[T_RETURN] not in {"", "0"})
                reference = entry_reference or tx[T["Refs/AcctSvcrRef"]] or end_to_end
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
                        counterparty_account=tx[T[f"RltdPties/{party}Acct/Id/IBAN"]],
                        structured_communication=digits(structured),
                        free_text=free[:500],
                        bank_reference=reference[:64],
                        position=f"{statement_id}/{e_index}/{t_index}",
                        end_to_end_id=end_to_end[:64],
                        pending=status != "BOOK",
                        reversal=returned,
                        return_reason=tx[T["RtrInf/Rsn/Cd"]][:4] if returned else "",
                    )
                )
        yield movements
    _camt_check(statement, where, ns, booked_net, (count, credits, debits), (credit_sum, debit_sum))


#: the texts of an entry without transaction details
NO_TX = ["T"] + [""] * (len(TX_PATHS) + 2)


def _batch_without_amounts(details: list[list[str]]) -> list[str]:
    """One transaction's texts standing for a batch whose transactions give no amount: no structured
    communication (nothing is allocated by itself), the free text naming each transaction's communication in
    digits, and the first transaction's parties and references."""
    named = []
    for tx in details:
        structured = digits(tx[T["RmtInf/Strd/CdtrRefInf/Ref"]])
        free = " ".join(text.strip() for text in tx[T_USTRD].split(PART)[:-1])
        named.append(structured or OGM_DELIMITERS.sub(" ", free).strip())
    merged = list(details[0])
    merged[T["RmtInf/Strd/CdtrRefInf/Ref"]] = ""
    merged[T_USTRD] = f"NbOfTxs {len(details)}: " + " | ".join(named) + PART
    return merged


#: the delimiters of a structured communication written in a free text
OGM_DELIMITERS = re.compile(r"\+\+\+|\*\*\*")


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
    reading = read(data)
    return reading.kind, [m for part in reading.parts for m in part]


@dataclass
class Reading:
    """A statement file being read: its format, the accounts its statements are of (as its movements give them),
    whether any movement may be a reversal or a return (``False`` only when none can be), and its movements in
    parts, each read and checked when asked for: a part raises :class:`StatementError` if it cannot be read,
    the last part of a statement if the statement does not add up."""

    kind: str
    accounts: list[str]
    may_reverse: bool
    parts: Iterator[list[Movement]]


def read(data: bytes, size: int | None = None) -> Reading:
    """A statement file read part by part (about ``size`` movements each, :data:`PART_ENTRIES` unless said): what
    is checked of the file as a whole (its format, a camt.053 document well-formed, a CODA file's records in
    place) is checked here, at once."""
    size = size or PART_ENTRIES
    if detect(data) == "coda":
        return _coda_reading(data, size)
    # a reversal (RvslInd) or a return (RtrInf) is named in the text; without either name there is none
    may_reverse = b"RvslInd" in data or b"RtrInf" in data
    root, ns, statements = _camt_document(data)
    accounts = sorted({_camt_account(statement, ns) for statement in statements})
    return Reading("camt053", accounts, may_reverse, _camt053_parts(data, root, ns, statements, size))


def read_as_parsed(data: bytes, size: int | None = None) -> Reading:
    """:func:`read`, a camt.053 document's parts given as it is parsed rather than after (the second process of a
    large import: the first part is stored while the rest is parsed). The same checks, the same movements; that
    the document is well-formed is known at its end, when its last part is asked for. Its accounts are found in
    its bytes first (``Stmt/Acct``, for the import's locks; an account the parse finds that they missed is
    locked when its lines come)."""
    size = size or PART_ENTRIES
    if detect(data) == "coda" or ((b"\xee\x80" in data or b"&#" in data) and SEPARATORS_IN.search(data)):
        return read(data, size)  # CODA is read statement by statement already; separators: the whole tree cleaned
    may_reverse = b"RvslInd" in data or b"RtrInf" in data
    return Reading("camt053", _accounts_written(data), may_reverse, _camt053_as_parsed(data, size))


def _accounts_written(data: bytes) -> list[str]:
    """The statements' accounts as written in a camt.053 document's bytes (each ``<Acct>`` looked at; names
    with a namespace prefix, rare, by the whole expression)."""
    found = set()
    at = data.find(b"<Acct>")
    while at >= 0:
        written = ACCOUNT_WRITTEN.match(data, at)
        if written:
            found.add(written.group(1))
        at = data.find(b"<Acct>", at + 1)
    if b":Acct>" in data:
        found.update(ACCOUNT_WRITTEN.findall(data))
    return sorted({account.decode("utf-8", "replace").strip() for account in found})


#: a statement's account (``Acct/Id/IBAN`` or ``Acct/Id/Othr/Id``) in the bytes of a camt.053 document
ACCOUNT_WRITTEN = re.compile(
    rb"<(?:[\w.-]+:)?Acct>\s*<(?:[\w.-]+:)?Id>\s*<(?:[\w.-]+:)?(?:IBAN|Othr>\s*<(?:[\w.-]+:)?Id)>([^<]*)<"
)
#: the bytes given to the parser at a time
FEED = 1 << 20


def _camt053_as_parsed(data: bytes, size: int) -> Iterator[list[Movement]]:
    parser = etree.XMLPullParser(
        events=("start", "end"), tag=("{*}Stmt", "{*}Ntry"), resolve_entities=False, no_network=True
    )
    roots: list[etree._Element] = []
    events = _events(parser, data, roots)
    ns: dict[str, str] = {}
    s_index = 0
    for event, element in events:
        if not ns:
            ns["c"] = _camt_namespace(element.getroottree().getroot())
        parent = element.getparent()
        if (
            event != "start"
            or element.tag != f"{{{ns['c']}}}Stmt"
            or parent is None
            or parent.tag != f"{{{ns['c']}}}BkToCstmrStmt"
            or parent.getparent() is None
            or parent.getparent().getparent() is not None
        ):
            continue
        s_index += 1
        parts = _records_as_parsed(events, element, _entries_transform(ns["c"]), f"{{{ns['c']}}}Ntry", size)
        first = next(parts)  # the statement's own elements (Id, Acct) come before its entries: read by now
        yield from _camt_statement(element, s_index, ns, itertools.chain([first], parts))
    if not ns:
        _camt_namespace(roots[0])  # a document with no statement anywhere: is it camt.053 at all?
    if not s_index:
        raise StatementError(_("no statement (BkToCstmrStmt/Stmt) in the document"))


def _events(
    parser: etree.XMLPullParser, data: bytes, roots: list[etree._Element]
) -> Iterator[tuple[str, etree._Element]]:
    """The parser's events as the document is fed to it; its root put in ``roots`` at the end."""
    try:
        for start in range(0, len(data), FEED):
            parser.feed(data[start : start + FEED])
            yield from parser.read_events()
        roots.append(parser.close())
        yield from parser.read_events()
    except etree.XMLSyntaxError as error:
        raise StatementError(
            _("line %(line)s: not well-formed XML (%(problem)s)") % {"line": error.lineno, "problem": error.msg}
        ) from None


def _records_as_parsed(
    events: Iterator[tuple[str, etree._Element]],
    statement: etree._Element,
    transform: etree.XSLT,
    entry_tag: str,
    size: int,
) -> Iterator[list[list[str]]]:
    """A statement's records, ``size`` entries at a time (the first part fewer), each part as soon as its last
    entry is parsed; the last part when the statement's end is."""
    entries: list[etree._Element] = []
    wanted, given = max(size // 10, 1), False
    for event, element in events:
        if event == "end" and element is statement:
            break
        if event == "end" and element.tag == entry_tag and element.getparent() is statement:
            entries.append(element)
            if len(entries) >= wanted:
                yield _entry_records(transform, _part_of(statement, entries))
                entries, wanted, given = [], size, True
    if entries or not given:
        yield _entry_records(transform, _part_of(statement, entries))


def _part_of(statement: etree._Element, entries: list[etree._Element]) -> etree._Element:
    """The entries moved into a part element standing where the first of them stood (the document's order kept:
    an entry is found again by its number, :class:`_Where`)."""
    if not entries:
        return etree.SubElement(statement, PART_TAG)
    part = etree.Element(PART_TAG)
    entries[0].addprevious(part)
    part.extend(entries)
    return part


#: the bytes of a CODA file (windows-1252) that are no control character: what is left without them is one
PRINTABLE_BYTES = bytes(range(0x20, 0x7F)) + bytes(range(0x80, 0x100)) + b"\r\n"
#: a control character or line break that may stand inside a CODA record (not the line ends between records)
CONTROL_IN_RECORD = re.compile("[\x00-\x09\x0b-\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufffe\uffff\ud800-\udfff]")


def _without_control(movement: Movement) -> Movement:
    """A CODA file may carry a NUL or another control character in a name (PostgreSQL refuses NUL, XML 1.0 most
    of them): they become spaces, and the line is imported (ADR 14)."""
    texts: dict[str, Any] = {
        name: without_control(value)
        for name, value in vars(movement).items()
        if isinstance(value, str) and without_control(value) != value
    }
    return replace(movement, **texts) if texts else movement
