"""A camt.053 document read as it is parsed (``parsers.read_as_parsed``, the second process of a large import,
ADR 12 addendum) gives the movements and the refusals of the document read whole (``parsers.read``): the same
movements part by part, the same words for an entry, a balance or a summary that is wrong, with the same line."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from famhp.payments import parsers
from famhp.payments.parsers import StatementError, read, read_as_parsed
from famhp.payments.samples import ACCOUNT, Payment, camt053

DAY = datetime.date(2026, 1, 15)


def day(count: int, *, reversal: bool = False) -> list[Payment]:
    payments = [Payment(Decimal(f"{n}.25"), free_text=f"payment {n}", end_to_end=f"E2E-{n}") for n in range(1, count)]
    payments.append(
        Payment(Decimal("-1.25"), end_to_end="E2E-1", reversal=reversal, return_reason="AC04" if reversal else "")
    )
    return payments


def two_statements() -> bytes:
    """Two statements (two accounts) in one document: the second's Stmt cut from another document."""
    first = camt053(day(7), statement_id="S-1", version=8)
    second = camt053(day(4, reversal=True), statement_id="S-2", version=8).replace(
        ACCOUNT.encode(), b"BE68539007547034"
    )
    statement = second[second.index(b"<Stmt>") : second.index(b"</Stmt>") + len(b"</Stmt>")]
    return first.replace(b"</Stmt>", b"</Stmt>" + statement, 1)


def both(data: bytes, size: int) -> tuple[parsers.Reading, list[list[parsers.Movement]], list[list[parsers.Movement]]]:
    whole, as_parsed = read(data, size), read_as_parsed(data, size)
    assert (as_parsed.kind, as_parsed.accounts, as_parsed.may_reverse) == (
        whole.kind,
        whole.accounts,
        whole.may_reverse,
    )
    return whole, list(whole.parts), list(as_parsed.parts)


@pytest.mark.parametrize("size", [1, 3, 100])
def test_read_as_parsed_gives_the_same_movements_in_the_same_parts(size: int) -> None:
    whole, parts, as_parsed = both(two_statements(), size)
    assert as_parsed == parts
    assert whole.accounts == ["BE68539007547034", ACCOUNT] and whole.may_reverse
    # 7 + 4 entries; a part holds at most ``size`` entries, the first of each statement a tenth of it
    assert sum(len(part) for part in parts) == 11
    assert {m.position.split("/")[0] for m in parts[-1]} == {"S-2"}


def test_a_document_without_a_reversal_says_so() -> None:
    whole, _parts, _as_parsed = both(camt053(day(5)), 2)
    assert not whole.may_reverse


@pytest.mark.parametrize(
    ("wrong", "right", "words"),
    [
        (b'<Amt Ccy="EUR">3.25</Amt>', b'<Amt Ccy="EUR">three</Amt>', "entry 3 (line"),
        (b"<Cd>CLBD</Cd>", b"<Cd>XXXX</Cd>", "no opening (OPBD) or closing (CLBD)"),
        (b"<NbOfNtries>7</NbOfNtries>", b"<NbOfNtries>8</NbOfNtries>", "the summary counts 8 entries"),
        (b"camt.053.001.08", b"camt.052.001.08", "not a camt.053 document"),
        (b"<BkToCstmrStmt>", b"<BkToCstmrStmtX>", "not well-formed XML"),
        (b"<Stmt>", b"<Other>", "not well-formed XML"),
    ],
)
def test_read_as_parsed_refuses_what_read_refuses_in_the_same_words(wrong: bytes, right: bytes, words: str) -> None:
    data = two_statements()
    assert wrong in data
    bad = data.replace(wrong, right, 1)
    with pytest.raises(StatementError) as whole:
        list(read(bad, 2).parts)
    with pytest.raises(StatementError) as as_parsed:
        list(read_as_parsed(bad, 2).parts)
    assert words in str(whole.value)
    assert str(as_parsed.value) == str(whole.value)


def test_a_document_without_statements_is_refused_as_parsed_too() -> None:
    data = b'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"/>'
    for reader in (read, read_as_parsed):
        with pytest.raises(StatementError, match="no statement"):
            list(reader(data, 2).parts)
