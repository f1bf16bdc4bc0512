"""Payments: importing bank statements, matching them to invoices, allocating by hand, undoing what the bank
reversed, reminders, refunds (D12)."""

from __future__ import annotations

import contextlib
import datetime
import functools
import gc
import hashlib
import logging
import multiprocessing
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any, NamedTuple, NoReturn

from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q, Sum
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from famhp.billing.models import Invoice, InvoiceKind
from famhp.billing.selectors import InterestUnconfirmed, interest_terms
from famhp.billing.services.rows import rows_insert
from famhp.languages import email_language
from famhp.mailing import SendFailure, send_each
from famhp.payments.models import Allocation, BankLine, LineReview, Refund, RefundExport, Reminder, StatementFile
from famhp.payments.parsers import (
    Movement,
    StatementError,
    account_compact,
    account_forms,
    read,
    read_as_parsed,
)
from famhp.payments.selectors import (
    account_balance,
    account_statement,
    communication_in,
    credited_ids,
    is_third_party,
    names_differ,
    overdue_by_operator,
    refund_iban,
    refundable,
    second_payment_refusal,
)
from famhp.payments.sepa import refunds_pain001
from famhp.registry.models import Operator
from famhp.rules.money import CENT, ZERO
from famhp.text import validate_one_line

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
#: a reference that says nothing: not used to find the payment a reversal undoes
NO_REFERENCE = {"", "NOTPROVIDED", "NOT PROVIDED"}


def _line(statement: StatementFile, m: Movement, reverses: BankLine | None = None) -> BankLine:
    return BankLine(
        statement_file=statement,
        fingerprint=m.fingerprint,
        account=m.account,
        booked_on=m.booked_on,
        value_on=m.value_on,
        amount=m.amount,
        currency=m.currency,
        counterparty_name=m.counterparty_name,
        counterparty_account=m.counterparty_account,
        structured_communication=m.structured_communication,
        free_text=m.free_text,
        bank_reference=m.bank_reference,
        end_to_end_id=m.end_to_end_id,
        status=BankLine.Status.PENDING if m.pending else BankLine.Status.BOOKED,
        reversal=m.reversal,
        return_reason=m.return_reason,
        twin_key=m.twin_key,
        reverses_line=reverses,
    )


def statement_import(
    *, data: bytes, name: str, imported_by: Any = None, progress: Progress | None = None
) -> tuple[StatementFile, bool]:
    """Import a CODA or camt.053 file: every movement kept as a fact; only booked euro credits matched to their
    invoice automatically (D12), a payment to a credited invoice going to its operator's account; a reversal or
    return undoes the allocations of the payment it reverses by reversing allocations. Returns the file and
    whether it was new: the same file twice adds nothing, and a movement already imported through another file
    is not added again. A movement equal to a line of another file in everything but the format's own
    references (the same day's statement received as CODA and as camt.053, ADR 12 addendum) is kept but never
    matched or reversed automatically: it waits in the queue as a possible duplicate (``lines_twin``). A
    malformed file, or one that does not add up, imports nothing and raises ValidationError saying which
    statement, line and figure."""
    digest = hashlib.sha256(data).hexdigest()
    existing = StatementFile.objects.filter(sha256=digest).first()
    if existing is not None:
        return existing, False
    with _collector_paused():
        return _statement_import(data, digest, name, imported_by, progress)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector paused while a statement is read and stored: a 100,000-line statement makes
    millions of objects (records, movements, rows) that hold no cycle and live until the import ends, and the
    collector walked them over and over (measured: 1,200 collections, 0.7 s of 14 s of CPU). Enabled again
    after, unless it was off already (another import at the same moment: that one enables it when it ends).
    Memory is not at stake: what the import makes is freed by reference counting."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


#: A file from this size on is read by a second process, part by part, while this one stores the parts it has
#: (issue 15; ADR 12 addendum): about 6,000 camt.053 entries or 30,000 CODA records. A smaller file is read
#: here, whole, before anything is stored; so is every file where no second process can be started.
READ_APART_FROM = 4 * 1024 * 1024

#: A movement as the import stores it, the same whether read here or by the second process: the values of
#: :data:`LINE_FIELDS` from the fingerprint to the twin key (dates in ISO form, the amount as its text, as the
#: database drivers write them), then the structured communication matching looks for (or None).
Row = tuple[Any, ...]
FINGERPRINT, ACCOUNT, BOOKED_ON, VALUE_ON, AMOUNT, CURRENCY, COUNTERPARTY = 0, 1, 2, 3, 4, 5, 6
STATUS, REVERSAL, TWIN_KEY, COMMUNICATION = 12, 13, 15, 16
BOOKED, PENDING = BankLine.Status.BOOKED.value, BankLine.Status.PENDING.value


def _stored(m: Movement) -> Row:
    return (
        m.fingerprint,
        m.account,
        m.booked_on.isoformat(),
        m.value_on.isoformat() if m.value_on else None,
        str(m.amount),
        m.currency,
        m.counterparty_name,
        m.counterparty_account,
        m.structured_communication,
        m.free_text,
        m.bank_reference,
        m.end_to_end_id,
        PENDING if m.pending else BOOKED,
        m.reversal,
        m.return_reason,
        m.twin_key,
        communication_in(m),
    )


def _movement(row: Row) -> Movement:
    """A stored row as a movement again (a reversal, undone line by line through the ORM)."""
    m = Movement(
        account=row[ACCOUNT],
        booked_on=datetime.date.fromisoformat(row[BOOKED_ON]),
        value_on=datetime.date.fromisoformat(row[VALUE_ON]) if row[VALUE_ON] else None,
        amount=Decimal(row[AMOUNT]),
        currency=row[CURRENCY],
        counterparty_name=row[COUNTERPARTY],
        counterparty_account=row[7],
        structured_communication=row[8],
        free_text=row[9],
        bank_reference=row[10],
        position="",
        end_to_end_id=row[11],
        pending=row[STATUS] == PENDING,
        reversal=row[REVERSAL],
        return_reason=row[14],
    )
    m.__dict__.update(fingerprint=row[FINGERPRINT], twin_key=row[TWIN_KEY])  # as read: not worked out again
    return m


class _Read(NamedTuple):
    kind: str
    accounts: list[str]
    may_reverse: bool
    parts: Iterator[list[Row]]


def reads_apart(data: bytes) -> bool:
    """Whether the file is read by a second process: a large file, and only from a process's main thread (a
    command, the task worker); never forked from a server's request thread (the admin's import runs in the
    request), whose other threads may hold locks the child would inherit held."""
    return len(data) >= READ_APART_FROM and threading.current_thread() is threading.main_thread()


def _statement_import(
    data: bytes, digest: str, name: str, imported_by: Any, progress: Progress | None
) -> tuple[StatementFile, bool]:
    for attempt in range(3):
        try:
            # read apart the first time only: a second attempt reads the file again, here
            apart = attempt == 0 and reads_apart(data)
            with _reading(data, apart=apart) as reading, _large_page_cache():
                return _import(digest, name, reading, imported_by, progress), True
        except StatementError as error:
            # read here: before anything was stored; read apart: what was stored is rolled back with the import
            raise ValidationError(
                _("%(name)s was not imported: %(problem)s") % {"name": name, "problem": error}
            ) from None
        except IntegrityError:
            # Another import at the same moment: the same file (theirs stands, this one adds nothing), or some
            # of the same movements (this one tries again, without the movements they brought in).
            existing = StatementFile.objects.filter(sha256=digest).first()
            if existing is not None:
                return existing, False
    raise ValidationError(_("%(name)s was not imported: other imports kept changing the same lines.") % {"name": name})


@contextlib.contextmanager
def _reading(data: bytes, *, apart: bool) -> Iterator[_Read]:
    """The file's movements as stored rows, in parts: read apart by a second process when ``apart`` and one can
    be started, else read here, whole, at once (one part; a file that cannot be read, or does not add up, raises
    :class:`StatementError` before anything is stored)."""
    if apart:
        with _read_apart(data) as reading:
            if reading is not None:
                yield reading
                return
    whole = read(data)
    rows = [_stored(m) for part in whole.parts for m in part]
    yield _Read(whole.kind, whole.accounts, whole.may_reverse, iter([rows]))


@contextlib.contextmanager
def _read_apart(data: bytes) -> Iterator[_Read | None]:
    """A second process (forked: it has the bytes already, and only reads them, never touching the database or
    this process's connections) reads the file part by part and sends each part's rows as it is read, so that
    the file is read on the machine's second core while this process stores what it has (issue 15). What it
    refuses arrives as :class:`StatementError` when its part is asked for: before the first part for a file
    that is not a statement file at all, during the import (which then rolls back) for an entry or a balance.
    None where no second process can be started (a daemonic process may have none)."""
    context = multiprocessing.get_context("fork")
    parts = context.Queue(maxsize=3)  # a few parts ahead at most: the memory of a large file stays bounded
    reader = context.Process(target=_read_for_parent, args=(data, parts), name="famhp-statement-reader", daemon=True)
    try:
        reader.start()
    except (AssertionError, OSError, ValueError):
        yield None
        return
    try:
        word, header = _received(parts, reader)
        if word != "header":
            _raise(word, header)
        kind, accounts, may_reverse = header
        yield _Read(kind, accounts, may_reverse, _parts_received(parts, reader))
    finally:
        if reader.is_alive():
            reader.kill()
        reader.join()
        parts.close()


def _read_for_parent(data: bytes, parts: Any) -> None:
    """In the second process: the file's header (format, accounts, whether it may hold a reversal), then its
    parts as stored rows, then "end"; or the refusal's words."""
    try:
        reading = read_as_parsed(data)
        parts.put(("header", (reading.kind, reading.accounts, reading.may_reverse)))
        for part in reading.parts:
            parts.put(("rows", [_stored(m) for m in part]))
        parts.put(("end", None))
    except StatementError as error:
        parts.put(("refused", str(error)))
    except Exception as error:  # said to the importing process, which raises it
        parts.put(("failed", f"{type(error).__name__}: {error}"))


def _received(parts: Any, reader: Any) -> tuple[str, Any]:
    while True:
        try:
            word: tuple[str, Any] = parts.get(timeout=1)
            return word
        except queue.Empty:
            if not reader.is_alive():
                try:
                    word = parts.get(timeout=1)  # its last word, sent just before it ended
                    return word
                except queue.Empty:
                    raise RuntimeError(
                        f"the process reading the statement file ended without a word (exit code {reader.exitcode})"
                    ) from None


def _parts_received(parts: Any, reader: Any) -> Iterator[list[Row]]:
    while True:
        word, value = _received(parts, reader)
        if word == "end":
            return
        if word != "rows":
            _raise(word, value)
        yield value


def _raise(word: str, value: Any) -> NoReturn:
    if word == "refused":
        raise StatementError(value)
    raise RuntimeError(f"the process reading the statement file stopped: {value}")


def _lock_accounts(accounts: list[str]) -> None:
    """PostgreSQL: one import at a time per account until it commits, so that the CODA and the camt.053 of the
    same day imported at the same moment still see each other's lines as twins. (SQLite: the import's
    transaction holds the database's write lock from its start.) All of a file's accounts at its start, in one
    order."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for account in sorted({account_compact(account) for account in accounts}):  # one form: CODA's or camt's
            key = int.from_bytes(
                hashlib.blake2b(f"famhp.payments:{account}".encode(), digest_size=8).digest(), "big", signed=True
            )
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


#: a bank line's columns as written by the import: the statement file's, those of a :data:`Row` up to its twin
#: key, and the line it may repeat
LINE_FIELDS = (
    "statement_file_id",
    "fingerprint",
    "account",
    "booked_on",
    "value_on",
    "amount",
    "currency",
    "counterparty_name",
    "counterparty_account",
    "structured_communication",
    "free_text",
    "bank_reference",
    "end_to_end_id",
    "status",
    "reversal",
    "return_reason",
    "twin_key",
    "twin_of_id",
)
ALLOCATION_FIELDS = (
    "bank_line_id",
    "invoice_id",
    "operator_id",
    "amount",
    "automatic",
    "third_party",
    "payer_name",
    "allocated_at",
)


@transaction.atomic
def _import(digest: str, name: str, reading: _Read, imported_by: Any, progress: Progress | None) -> StatementFile:
    statement = StatementFile.objects.create(
        sha256=digest, name=name[:255], format=reading.kind, imported_by=imported_by
    )
    store = _Store(statement, match_as_read=not reading.may_reverse, progress=progress)
    store.lock(reading.accounts)
    with _keys_checked_as_written():
        for rows in reading.parts:
            store.add(rows)
        return store.finish()


@contextlib.contextmanager
def _keys_checked_as_written() -> Iterator[None]:
    """PostgreSQL: the foreign keys of the bank lines and allocations (deferred to the commit, as Django makes
    them) checked at the end of each statement that writes them while a file is imported: the same checks, made
    while the second process reads the next part instead of all at the commit (measured: 3-4 s of the server's
    work at the commit of 100,000 lines and their allocations). Deferred again after."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT quote_ident(conname) FROM pg_constraint WHERE contype = 'f' AND condeferred "
            "AND conrelid IN (%s::regclass, %s::regclass)",
            [BankLine._meta.db_table, Allocation._meta.db_table],
        )
        keys = ", ".join(name for (name,) in cursor.fetchall())
        if keys:
            cursor.execute(f"SET CONSTRAINTS {keys} IMMEDIATE")
    yield
    if keys:
        with connection.cursor() as cursor:
            cursor.execute(f"SET CONSTRAINTS {keys} DEFERRED")


class _Store:
    """A file's movements stored part by part, within the import's transaction, as if all were stored at once:

    - a movement already imported through another file is not added again (nor twice from one file);
    - the same movement received in another file or format is kept, never matched or reversed, and queued as a
      possible duplicate of that line (ADR 12 addendum), twins paired in order across parts;
    - a reversal or return undoes what it reverses after the file's last part (it may reverse a credit further
      on in the same file), and only booked euro credits are matched, none that a reversal of the file undid.
      A file without any reversal has its credits matched part by part, as they are stored.

    Lines are written in bulk without a model instance each (issue 15), the earlier lines they may repeat looked
    up only for the days no earlier part asked for."""

    def __init__(self, statement: StatementFile, *, match_as_read: bool, progress: Progress | None) -> None:
        self.statement, self.match_as_read, self.progress = statement, match_as_read, progress
        self.at = connection.ops.adapt_datetimefield_value(timezone.now())
        self.days: dict[str, tuple[datetime.date, datetime.date]] = {}  # account → the days looked up
        self.known: set[str] = set()  # fingerprints already imported, or given by an earlier part
        self.earlier: dict[str, list[int]] = {}  # twin key → earlier lines, by id
        self.paired: dict[str, int] = {}  # twin key → how many movements were paired with its lines
        self.last_id = 0
        self.reversals: list[Row] = []
        self.candidates: list[tuple[int, Row]] = []
        self.new = self.twins = self.matched = self.looked_at = 0
        self.locked: set[str] = set()

    def lock(self, accounts: Iterable[str]) -> None:
        """The accounts' locks (:func:`_lock_accounts`): all those a file names at its start; one its header
        missed when its first lines come."""
        wanted = {account_compact(account) for account in accounts} - self.locked
        if wanted:
            _lock_accounts(sorted(wanted))
            self.locked |= wanted

    def add(self, rows: list[Row]) -> None:
        for fingerprint, key, pk in self._earlier(rows):
            self.known.add(fingerprint)
            self.earlier.setdefault(key, []).append(pk)
        fresh = {row[FINGERPRINT]: row for row in rows if row[FINGERPRINT] not in self.known}
        self.known.update(fresh)
        twins: dict[str, int] = {}
        for fingerprint, row in fresh.items():
            same = self.earlier.get(row[TWIN_KEY])
            if same:
                paired = self.paired.get(row[TWIN_KEY], 0)
                twins[fingerprint] = same[paired % len(same)]
                self.paired[row[TWIN_KEY]] = paired + 1
        plain = []
        for fingerprint, row in fresh.items():
            if row[REVERSAL] and row[AMOUNT].startswith("-") and fingerprint not in twins:
                if self.match_as_read:
                    raise RuntimeError("a reversal in a file read as holding none")
                self.reversals.append(row)
            else:
                plain.append(row)
        pk = self.statement.pk
        with connection.wrap_database_errors:  # a line another import brought in at the same moment: IntegrityError
            rows_insert(BankLine, LINE_FIELDS, ((pk, *row[:COMMUNICATION], twins.get(row[0])) for row in plain))
        ids = self._new_ids()
        candidates = [
            (ids[row[FINGERPRINT]], row)
            for row in plain
            if row[STATUS] == BOOKED
            and row[CURRENCY] == "EUR"
            and not row[REVERSAL]
            and row[FINGERPRINT] not in twins
            and Decimal(row[AMOUNT]) > 0
        ]
        self.new += len(fresh)
        self.twins += len(twins)
        if self.match_as_read:
            self._match(candidates)
        else:
            self.candidates.extend(candidates)

    def finish(self) -> StatementFile:
        reversed_here = set()
        for row in self.reversals:
            original = _import_reversal(self.statement, _movement(row))
            if original is not None:
                reversed_here.add(original)
        # not one a reversal of this file undid
        self._match([(pk, row) for pk, row in self.candidates if pk not in reversed_here])
        statement = self.statement
        statement.lines_new, statement.lines_twin, statement.lines_matched = self.new, self.twins, self.matched
        statement.save(update_fields=["lines_new", "lines_twin", "lines_matched"])
        return statement

    def _earlier(self, rows: list[Row]) -> list[tuple[str, str, int]]:
        """The lines already imported on the accounts and days of these rows that no earlier part looked up
        (fingerprint, twin key, id), by id: indexed queries per account (plain SQL: 100,000 lines). A movement's
        fingerprint and twin key both hold its account and booking date, so every line either could equal is
        among them. An account is looked up in every form a format writes it (an IBAN, or CODA's Belgian
        account number: ``parsers.account_forms``)."""
        days: dict[str, tuple[str, str]] = {}
        for row in rows:
            account, day = account_compact(row[ACCOUNT]), row[BOOKED_ON]
            earliest, latest = days.get(account, (day, day))
            days[account] = (min(earliest, day), max(latest, day))  # ISO dates: in order as texts
        self.lock(days)
        table = connection.ops.quote_name(BankLine._meta.db_table)
        found: list[tuple[str, str, int]] = []
        with connection.cursor() as cursor:
            for account, (first_day, last_day) in sorted(days.items()):
                first, last = datetime.date.fromisoformat(first_day), datetime.date.fromisoformat(last_day)
                asked = self.days.get(account)
                wanted = [(first, last)]
                if asked is not None:  # only the days before or after those asked already: all lines of a day at once
                    wanted = [(first, asked[0] - ONE_DAY)] if first < asked[0] else []
                    wanted += [(asked[1] + ONE_DAY, last)] if last > asked[1] else []
                    first, last = min(first, asked[0]), max(last, asked[1])
                self.days[account] = (first, last)
                forms = account_forms(account)
                for since, until in wanted:
                    cursor.execute(
                        f"SELECT fingerprint, twin_key, id FROM {table} "
                        f"WHERE account IN ({', '.join(['%s'] * len(forms))}) AND booked_on BETWEEN %s AND %s",
                        [*forms, since, until],
                    )
                    found.extend(cursor.fetchall())
        return sorted(found, key=lambda row: row[2])

    def _new_ids(self) -> dict[str, int]:
        """The ids of the lines the last part stored, by fingerprint (a line's id grows with each insert)."""
        table = connection.ops.quote_name(BankLine._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT fingerprint, id FROM {table} WHERE statement_file_id = %s AND id > %s",
                [self.statement.pk, self.last_id],
            )
            ids = dict(cursor.fetchall())
        self.last_id = max(ids.values(), default=self.last_id)
        return ids

    def _match(self, lines: list[tuple[int, Row]]) -> None:
        self.matched += _match(lines, self.progress, self.at, self._credited, self.looked_at)
        self.looked_at += len(lines)

    @functools.cached_property
    def credited(self) -> set[int]:
        """The credited invoices, read once for the file's parts (the import's transaction sees no new ones)."""
        return credited_ids()

    def _credited(self) -> set[int]:
        return self.credited


ONE_DAY = datetime.timedelta(days=1)


@contextlib.contextmanager
def _large_page_cache() -> Iterator[None]:
    """SQLite: a page cache of up to 128 MiB while a statement is imported (the default is 2 MiB), so that the
    indexes 100,000 new lines go into stay in memory (measured: a fifth less CPU to insert them); the
    connection's own size is put back after."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (size,) = cursor.fetchone()
        cursor.execute("PRAGMA cache_size = -131072")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(size)}")


def _reversed_line(m: Movement) -> BankLine | None:
    """The credit a reversal or return undoes: same account and amount, booked before it, not yet reversed, and
    the same end-to-end reference, else the same structured communication, else the same payer's account.

    The end-to-end reference names one payment: it is looked for among all lines, a possible duplicate (ADR 12
    addendum) that staff allocated as a second payment included; of lines sharing it, an allocated one first.
    The weaker fallbacks leave out the possible duplicates nobody allocated (the same movement received again:
    the reversal undoes the one that was matched), never one staff allocated: a return of that second payment
    must not undo the first one's allocation."""
    live = Allocation.objects.filter(bank_line=OuterRef("pk"), amount__gt=0, reversal__isnull=True)
    candidates = (
        BankLine.objects.filter(
            account__in=account_forms(m.account),
            amount=-m.amount,
            booked_on__lte=m.booked_on,
            reversal=False,
            reversed_by__isnull=True,
        )
        .annotate(unallocated_twin=Q(twin_of__isnull=False) & ~Exists(live))
        .order_by("unallocated_twin", "-booked_on", "-pk")
    )
    for key, value in (
        ("end_to_end_id", m.end_to_end_id),
        ("structured_communication", m.structured_communication),
        ("counterparty_account", m.counterparty_account),
    ):
        if value.strip().upper() not in NO_REFERENCE:
            matching = candidates.select_for_update(of=("self",)).filter(**{key: value})
            if key != "end_to_end_id":
                matching = matching.filter(unallocated_twin=False)
            found = matching.first()
            if found is not None:
                return found
    return None


def _import_reversal(statement: StatementFile, m: Movement) -> int | None:
    """Keep a reversal or return and undo the allocations of the credit it reverses; returns that credit's id."""
    original = _reversed_line(m)
    line = _line(statement, m, reverses=original)
    line.save()
    if original is None:
        return None
    for allocation in Allocation.objects.filter(bank_line=original, amount__gt=0, reversal__isnull=True):
        Allocation.objects.create(
            bank_line=line,
            invoice=allocation.invoice,
            operator=allocation.operator,
            amount=-allocation.amount,
            payer_name=allocation.payer_name,
            third_party=allocation.third_party,
            reverses=allocation,
        )
    return original.pk


def _match(
    lines: list[tuple[int, Row]],
    progress: Progress | None,
    at: Any,
    credited: Callable[[], set[int]],
    looked_at: int = 0,
) -> int:
    """Allocate each line whose structured communication (or one in its free text) is an invoice's; one query
    for the invoices, one bulk insert for the allocations. Returns how many lines were matched. ``credited``:
    the credited invoices (asked once per import); ``looked_at``: the lines of the file looked at before these
    (the progress counts them)."""
    # Only what matching needs: an invoice's JSON fields are heavy and a statement may hold 100,000 lines.
    invoices: dict[str, tuple[int, str, int, str]] = {}
    communications = sorted({row[COMMUNICATION] for _pk, row in lines if row[COMMUNICATION]})
    quote = connection.ops.quote_name
    invoice_table, operator_table = quote(Invoice._meta.db_table), quote(Operator._meta.db_table)
    select = (
        f"SELECT i.structured_communication, i.id, i.kind, i.operator_id, o.name FROM {invoice_table} i "
        f"LEFT JOIN {operator_table} o ON o.id = i.operator_id WHERE i.structured_communication"
    )
    # PostgreSQL: one query with the values as one array (planning an IN of thousands of values costs more than
    # running it); SQLite: a few thousand values per query
    postgresql = connection.vendor == "postgresql"
    size = max(len(communications), 1) if postgresql else 5000
    with connection.cursor() as cursor:  # plain SQL: the ORM prepares each of 100,000 values on its own
        for start in range(0, len(communications), size):
            chunk = communications[start : start + size]
            if postgresql:
                cursor.execute(f"{select} = ANY(%s)", [chunk])
            else:
                cursor.execute(f"{select} IN ({', '.join(['%s'] * len(chunk))})", chunk)
            invoices.update(
                (ogm, (pk, kind, operator_id, name or "")) for ogm, pk, kind, operator_id, name in cursor.fetchall()
            )
    dead_ones = credited() if invoices else set()
    allocations = []
    total = looked_at + len(lines)
    for index, (pk, row) in enumerate(lines, start=looked_at + 1):
        found = invoices.get(row[COMMUNICATION] or "")
        if found is not None and found[1] != InvoiceKind.CREDIT_NOTE:
            invoice_id, _kind, operator_id, operator_name = found
            dead = invoice_id in dead_ones  # D12: to the account balance, never to a credited invoice
            payer = row[COUNTERPARTY]
            allocations.append(
                (
                    pk,
                    None if dead else invoice_id,
                    operator_id if dead else None,
                    row[AMOUNT],
                    True,
                    names_differ(payer, operator_name),
                    payer,
                    at,
                )
            )
        if progress and index % 5000 == 0:
            progress(index, total)
    with connection.wrap_database_errors:
        return rows_insert(Allocation, ALLOCATION_FIELDS, allocations)


@transaction.atomic
def payment_allocate(
    *,
    line: BankLine,
    amount: Decimal,
    by: Any,
    invoice: Invoice | None = None,
    operator: Operator | None = None,
    third_party: bool | None = None,
    seen: Decimal | None = None,
    second_payment: bool = False,
) -> Allocation:
    """Staff allocate (part of) a booked euro credit to an invoice, or to an operator's account (D12). One
    payment may be spread over several invoices; the line is locked, so allocations never exceed the payment,
    whoever allocates at the same time.

    ``seen`` is what the line had allocated when the page was drawn (every page that allocates posts it): with
    the line locked first, a second click, a second tab or a colleague who allocated in between finds another
    figure and allocates nothing.

    A possible duplicate (ADR 12 addendum: the same movement received again, in another file or format) is
    allocated only with ``second_payment``: the person said it is a second payment, not the same one again."""
    line = BankLine.objects.select_for_update().get(pk=line.pk)
    refusal = second_payment_refusal(line, confirmed=second_payment)
    if refusal is not None:
        raise ValidationError(refusal)
    allocated = line.allocations.aggregate(s=Sum("amount"))["s"] or ZERO
    if seen is not None and allocated != seen:
        raise ValidationError(
            _(
                "This payment was allocated in the meantime (a second click, another tab or a colleague): nothing "
                "was allocated now. Look at it again as it is."
            )
        )
    # a reversal or return that brings money in (a refund sent out and returned by the payee's bank: D12) is
    # allocated by staff, never automatically; one that takes money out undoes the payment it reverses
    if line.amount <= 0:
        raise ValidationError(_("Only an incoming payment is allocated; a debit or reversal is not."))
    if line.status != BankLine.Status.BOOKED:
        raise ValidationError(_("This entry is only pending at the bank: it is allocated once booked."))
    if line.currency != "EUR":
        raise ValidationError(
            _("This payment is in %(currency)s: it cannot be allocated to a euro invoice.")
            % {"currency": line.currency}
        )
    if BankLine.objects.filter(reverses_line=line).exists():
        raise ValidationError(_("The bank reversed this payment: there is nothing to allocate."))
    if amount <= 0:
        raise ValidationError({"amount": _("An allocation is a positive amount.")})
    if amount != amount.quantize(CENT):  # never rounded by the database: what staff meant, or nothing
        raise ValidationError({"amount": _("An allocation is in euro and cents: at most two decimals.")})
    if (invoice is None) == (operator is None):
        raise ValidationError(_("Allocate to an invoice or to an operator's account."))
    if invoice is not None:
        if invoice.kind == InvoiceKind.CREDIT_NOTE:
            raise ValidationError({"invoice": _("A payment is not allocated to a credit note.")})
        if Invoice.objects.filter(credits=invoice).exists():
            raise ValidationError(
                {
                    "invoice": _(
                        "%(number)s was credited: allocate the payment to the account of %(operator)s instead."
                    )
                    % {"number": invoice.number, "operator": invoice.operator}
                }
            )
    if allocated + amount > line.amount:
        raise ValidationError(
            {
                "amount": _("Only %(left)s euro of this payment is still unallocated.")
                % {"left": line.amount - allocated}
            }
        )
    owner = invoice.operator if invoice is not None else operator
    assert owner is not None
    return Allocation.objects.create(
        bank_line=line,
        invoice=invoice,
        operator=operator,
        amount=amount,
        allocated_by=by,
        payer_name=line.counterparty_name,
        third_party=is_third_party(line.counterparty_name, owner) if third_party is None else third_party,
    )


@transaction.atomic
def allocation_reverse(*, allocation: Allocation, by: Any) -> Allocation:
    """Undo an allocation by its opposite; the line goes back to the queue for what it frees."""
    BankLine.objects.select_for_update().get(pk=allocation.bank_line_id)
    if allocation.amount <= 0 or Allocation.objects.filter(reverses=allocation).exists():
        raise ValidationError(_("This allocation cannot be reversed."))
    return Allocation.objects.create(
        bank_line=allocation.bank_line,
        invoice=allocation.invoice,
        operator=allocation.operator,
        amount=-allocation.amount,
        allocated_by=by,
        payer_name=allocation.payer_name,
        third_party=allocation.third_party,
        reverses=allocation,
    )


def line_mark_handled(*, line: BankLine, by: Any, note: str = "") -> LineReview:
    """Staff saw a queued line (a debit, a pending entry, a foreign-currency payment settled outside the system)
    and take it out of the queue; recorded once. The note is one line of plain text (ADR 14)."""
    validate_one_line(note)
    try:
        with transaction.atomic():
            return LineReview.objects.create(bank_line=line, reviewed_by=by, note=note[:500])
    except IntegrityError:
        raise ValidationError(_("This line was already marked as handled.")) from None


@transaction.atomic
def twins_mark_handled(*, statement: StatementFile, by: Any, note: str = "") -> int:
    """Staff decided that a file's possible duplicates (ADR 12 addendum: the same day's statement received
    again, in the other format) are that: every twin of the file that nobody allocated or handled yet leaves the
    queue at once, recorded per line with who and why. Returns how many it handled: a line handled or allocated by
    someone else at the same moment is not counted (nor handled); again, none."""
    validate_one_line(note)
    # The twins are locked first, as an allocation locks its line (payment_allocate): one allocated meanwhile is
    # seen by the insert below, which then leaves it out. One INSERT … SELECT, its row count what it inserted.
    list(
        BankLine.objects.select_for_update()
        .filter(statement_file=statement, twin_of__isnull=False)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    quote = connection.ops.quote_name
    line, review, allocation = (quote(m._meta.db_table) for m in (BankLine, LineReview, Allocation))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {review} (bank_line_id, note, reviewed_by_id, reviewed_at) "
            f"SELECT l.id, %s, %s, %s FROM {line} l WHERE l.statement_file_id = %s AND l.twin_of_id IS NOT NULL "
            f"AND NOT EXISTS (SELECT 1 FROM {review} r WHERE r.bank_line_id = l.id) "
            f"AND NOT EXISTS (SELECT 1 FROM {allocation} a WHERE a.bank_line_id = l.id) "
            "ON CONFLICT (bank_line_id) DO NOTHING",
            [
                note[:500],
                getattr(by, "pk", None),
                connection.ops.adapt_datetimefield_value(timezone.now()),
                statement.pk,
            ],
        )
        inserted: int = cursor.rowcount
    return max(inserted, 0)


# --- reminders ------------------------------------------------------------------------------------------------


def reminders_blocked(invoices: list[Invoice]) -> dict[int, list[str]]:
    """D10: the years of these invoices whose interest parameters are unconfirmed, with their names."""
    blocked = {}
    for year in sorted({invoice.year for invoice in invoices}):
        try:
            interest_terms(year)
        except InterestUnconfirmed as unconfirmed:
            blocked[year] = list(unconfirmed.names)
    return blocked


#: the PostgreSQL advisory lock one run of payment reminders holds (declarations' mailings use 14_171 and 14_172)
REMINDERS_LOCK = 14_173


def reminders_send(
    *, today: datetime.date | None = None, every_days: int = 14, report: list[SendFailure] | None = None
) -> int:
    """E-mail each operator with overdue invoices, in its language, with the interest accrued (D10). An operator
    is reminded again only ``every_days`` after its last reminder. While the interest parameters of a year with
    overdue invoices are unconfirmed, nothing is sent and the error names them (D10)."""
    today = today or timezone.localdate()
    overdue = overdue_by_operator(today)
    blocked = reminders_blocked([invoice for invoices in overdue.values() for invoice in invoices])
    if blocked:
        raise ValidationError(
            _("No reminder was sent: the agency must first confirm these interest parameters: %(list)s.")
            % {"list": "; ".join(f"{year}: {', '.join(names)}" for year, names in blocked.items())}
        )

    def reminder(operator: Operator, invoices: list[Invoice]) -> tuple[EmailMessage, Reminder]:
        statement = account_statement(operator, today=today)
        with translation.override(email_language(operator.language)):
            subject = _("FAMHP: overdue contributions") + f" — {operator.name}"
            body = render_to_string(
                "payments/email/reminder.txt", {"operator": operator, "statement": statement, "overdue": invoices}
            )
        record = Reminder(operator=operator, sent_on=today, amount=statement.outstanding, interest=statement.interest)
        return EmailMessage(subject=subject, body=body, to=[operator.contact_email]), record

    with transaction.atomic():
        # Two runs at once (two scheduled jobs, a manual run next to the scheduled one) mail each operator once:
        # one run at a time, under a PostgreSQL advisory lock held until the reminders sent are stored, the last
        # reminders read once it is held. No operator row is locked: refunds, allocations, invoices, register
        # edits and revocations of these operators are written meanwhile (the e-mails may take minutes).
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [REMINDERS_LOCK])
        due = []
        for operator, invoices in overdue.items():
            last = Reminder.objects.filter(operator=operator).order_by("-sent_on").first()
            if last and (today - last.sent_on).days < every_days:
                continue
            if account_balance(operator) <= 0:
                continue  # D12: the account as a whole owes nothing (a credit balance covers the open invoice)
            due.append((str(operator), functools.partial(reminder, operator, invoices)))
        # One operator's reminder that cannot be built or sent is logged and reported; the others go out.
        reminded, failures = send_each(due)
        Reminder.objects.bulk_create(reminded)
    if report is not None:
        report.extend(failures)
    return len(reminded)


# --- refunds (D12) --------------------------------------------------------------------------------------------


@transaction.atomic
def refund_record(
    *, operator: Operator, by: Any, today: datetime.date | None = None, iban: str = "", name: str = ""
) -> Refund:
    """D12: record the refund of the operator's whole credit balance, to the account of its latest payment
    unless another is given. The operator is locked: twice, or twice at once, refunds once."""
    operator = Operator.objects.select_for_update().get(pk=operator.pk)
    amount = refundable(operator)
    if amount <= 0:
        raise ValidationError(
            _(
                "%(operator)s has no credit balance to refund (invoices, credit notes, payments and refunds of all "
                "years taken together)."
            )
            % {"operator": operator}
        )
    default_iban, default_name = refund_iban(operator)
    iban = "".join(iban.split()).upper() or default_iban
    if not iban:
        raise ValidationError(_("No account to refund to: give the IBAN."))
    try:
        iban = IBAN(iban).compact
    except SchwiftyException:
        raise ValidationError(
            _("%(iban)s is not a valid IBAN (its country, length or check digits): give the account to refund to.")
            % {"iban": iban[:50]}
        ) from None
    # the holder's name goes with its account: the latest payer's with the latest payer's account, the operator's
    # with another account staff typed (a third party's name on the operator's own account would not match it)
    holder = default_name if iban == "".join(default_iban.split()).upper() else ""
    return Refund.objects.create(
        operator=operator,
        amount=amount,
        iban=iban,
        name=(name or holder or operator.name)[:140],
        recorded_on=today or timezone.localdate(),
        recorded_by=by,
    )


@transaction.atomic
def refunds_export(*, by: Any, today: datetime.date | None = None) -> RefundExport | None:
    """Every recorded refund not yet exported, in one pain.001 file; exporting again exports nothing new
    (None). The refunds are locked, so two exports at once never hold the same refund."""
    today = today or timezone.localdate()
    refunds = list(
        Refund.objects.select_for_update().filter(state=Refund.State.RECORDED).select_related("operator").order_by("pk")
    )
    # D12: a refund goes out only while the account still holds the credit it was recorded for; one whose account
    # owes since (a new invoice, a payment returned) is held, recorded, until staff cancel it or the account is
    # in credit again
    held = refunds_held(refunds)
    refunds = [refund for refund in refunds if refund.pk not in held]
    if not refunds:
        return None
    number = RefundExport.objects.filter(execution=today).count() + 1
    message_id = f"FAMHP-REFUND-{today:%Y%m%d}-{number:03d}-{refunds[0].pk}"
    export = RefundExport.objects.create(
        message_id=message_id[:35],
        created_by=by,
        execution=today,
        data=refunds_pain001(refunds, message_id=message_id, execution=today),
    )
    Refund.objects.filter(pk__in=[r.pk for r in refunds]).update(state=Refund.State.EXPORTED, export=export)
    return export


def refunds_held(refunds: Iterable[Refund] | None = None) -> dict[int, Decimal]:
    """The recorded refunds (all, or those given) whose operator's account owes now, with the recorded refunds
    counted (D12: never a refund while an invoice is open): refund id → what the account owes."""
    recorded = list(refunds) if refunds is not None else list(Refund.objects.filter(state=Refund.State.RECORDED))
    owing = {}
    for operator_id in {refund.operator_id for refund in recorded}:
        balance = account_balance(Operator(pk=operator_id))
        if balance > 0:
            owing[operator_id] = balance
    return {refund.pk: owing[refund.operator_id] for refund in recorded if refund.operator_id in owing}


@transaction.atomic
def refund_cancel(*, refund: Refund, by: Any) -> None:
    """Cancel a refund recorded and not yet exported (held because the account owes, or recorded by mistake): it
    no longer counts in the account. One exported or sent is refused: the bank has the file."""
    recorded = Refund.objects.select_for_update().filter(pk=refund.pk, state=Refund.State.RECORDED).first()
    if recorded is None:  # a second click, or the export came first
        raise ValidationError(_("This refund was exported or cancelled already: nothing changed."))
    recorded.delete()
    logger.info(
        "refund %s of %s to %s (%s) cancelled by %s",
        recorded.pk,
        recorded.amount,
        recorded.operator_id,
        recorded.iban,
        getattr(by, "pk", None),
    )


@transaction.atomic
def refunds_mark_sent(*, export: RefundExport, today: datetime.date | None = None) -> int:
    """The bank executed the file: its refunds are sent. Only exported refunds change; again changes nothing."""
    return Refund.objects.filter(Q(export=export) & Q(state=Refund.State.EXPORTED)).update(
        state=Refund.State.SENT, sent_on=today or timezone.localdate()
    )
