"""Payments: importing bank statements, matching them to invoices, allocating by hand, undoing what the bank
reversed, reminders, refunds (D12)."""

from __future__ import annotations

import contextlib
import datetime
import functools
import gc
import hashlib
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

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
from famhp.payments.parsers import Movement, StatementError, account_compact, account_forms, parse
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


def _statement_import(
    data: bytes, digest: str, name: str, imported_by: Any, progress: Progress | None
) -> tuple[StatementFile, bool]:
    try:
        kind, movements = parse(data)
    except StatementError as error:
        raise ValidationError(_("%(name)s was not imported: %(problem)s") % {"name": name, "problem": error}) from None
    for _attempt in range(3):
        try:
            with _large_page_cache():
                return _import(digest, name, kind, movements, imported_by, progress), True
        except IntegrityError:
            # Another import at the same moment: the same file (theirs stands, this one adds nothing), or some
            # of the same movements (this one tries again, without the movements they brought in).
            existing = StatementFile.objects.filter(sha256=digest).first()
            if existing is not None:
                return existing, False
    raise ValidationError(_("%(name)s was not imported: other imports kept changing the same lines.") % {"name": name})


def _earlier(movements: list[Movement]) -> list[tuple[str, str, int]]:
    """The lines already imported on the accounts and days of these movements (fingerprint, twin key, id), by
    id: one indexed query per account (plain SQL: 100,000 lines). A movement's fingerprint and twin key both hold
    its account and booking date, so every line either could equal is among them. An account is looked up in
    every form a format writes it (an IBAN, or CODA's Belgian account number: ``parsers.account_forms``)."""
    table = connection.ops.quote_name(BankLine._meta.db_table)
    days: dict[str, tuple[datetime.date, datetime.date]] = {}
    for m in movements:
        account = account_compact(m.account)
        first, last = days.get(account, (m.booked_on, m.booked_on))
        days[account] = (min(first, m.booked_on), max(last, m.booked_on))
    rows: list[tuple[str, str, int]] = []
    with connection.cursor() as cursor:
        for account, (first, last) in sorted(days.items()):
            forms = account_forms(account)
            cursor.execute(
                f"SELECT fingerprint, twin_key, id FROM {table} "
                f"WHERE account IN ({', '.join(['%s'] * len(forms))}) AND booked_on BETWEEN %s AND %s",
                [*forms, first, last],
            )
            rows.extend(cursor.fetchall())
    return sorted(rows, key=lambda row: row[2])


def _twins(movements: list[Movement], earlier: list[tuple[str, str, int]]) -> dict[str, int]:
    """The movements that are the same as a line already imported from another file, in whatever format (the
    same twin key, ADR 12 addendum), by fingerprint, with that line's id. Only lines of other files are looked
    at: two identical movements of one file are two payments. Paired in order, so that two twins of two
    identical earlier lines each name their own."""
    lines: dict[str, list[int]] = {}
    for _fingerprint, key, pk in earlier:
        lines.setdefault(key, []).append(pk)
    twins: dict[str, int] = {}
    if not lines:
        return twins
    seen = dict.fromkeys(lines, 0)
    for m in movements:
        same = lines.get(m.twin_key)
        if same:
            twins[m.fingerprint] = same[seen[m.twin_key] % len(same)]
            seen[m.twin_key] += 1
    return twins


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


def _lock_accounts(movements: list[Movement]) -> None:
    """PostgreSQL: one import at a time per account until it commits, so that the CODA and the camt.053 of the
    same day imported at the same moment still see each other's lines as twins. (SQLite: the import's
    transaction holds the database's write lock from its start.)"""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for account in sorted({account_compact(m.account) for m in movements}):  # one form: CODA's or camt's
            key = int.from_bytes(
                hashlib.blake2b(f"famhp.payments:{account}".encode(), digest_size=8).digest(), "big", signed=True
            )
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _line_ids(statement: StatementFile) -> dict[str, int]:
    table = connection.ops.quote_name(BankLine._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT fingerprint, id FROM {table} WHERE statement_file_id = %s", [statement.pk])
        return dict(cursor.fetchall())


#: a bank line's columns as written by the import, in the order of :func:`_row`
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


def _row(statement_id: int, m: Movement, twin_of: int | None) -> tuple[Any, ...]:
    """The values of :func:`_line` for :data:`LINE_FIELDS`, without a model instance."""
    return (
        statement_id,
        m.fingerprint,
        m.account,
        m.booked_on,
        m.value_on,
        m.amount,
        m.currency,
        m.counterparty_name,
        m.counterparty_account,
        m.structured_communication,
        m.free_text,
        m.bank_reference,
        m.end_to_end_id,
        BankLine.Status.PENDING.value if m.pending else BankLine.Status.BOOKED.value,
        m.reversal,
        m.return_reason,
        m.twin_key,
        twin_of,
    )


@transaction.atomic
def _import(
    digest: str, name: str, kind: str, movements: list[Movement], imported_by: Any, progress: Progress | None
) -> StatementFile:
    statement = StatementFile.objects.create(sha256=digest, name=name[:255], format=kind, imported_by=imported_by)
    _lock_accounts(movements)
    earlier = _earlier(movements)
    # a movement already imported through another file is not added again (nor twice from one file)
    fresh = {m.fingerprint: m for m in movements}
    for fingerprint, _key, _pk in earlier:
        fresh.pop(fingerprint, None)
    # the same movement received in another file or format: kept, never matched or reversed, queued (ADR 12)
    twins = _twins(list(fresh.values()), earlier)
    # Written in bulk without a model instance per line (issue 15); the same columns as _line gives.
    plain = [m for m in fresh.values() if not (m.reversal and m.amount < 0) or m.fingerprint in twins]
    with connection.wrap_database_errors:  # a line another import brought in at the same moment: IntegrityError
        rows_insert(BankLine, LINE_FIELDS, (_row(statement.pk, m, twins.get(m.fingerprint)) for m in plain))
    ids = _line_ids(statement)
    reversed_here = set()
    for m in fresh.values():
        if m.reversal and m.amount < 0 and m.fingerprint not in twins:
            original = _import_reversal(statement, m)
            if original is not None:
                reversed_here.add(original)
    # only booked euro credits are matched automatically, and not one a reversal of this file undid, nor a twin
    candidates = [
        (ids[m.fingerprint], m)
        for m in plain
        if m.amount > 0
        and not m.pending
        and m.currency == "EUR"
        and not m.reversal
        and m.fingerprint not in twins
        and ids[m.fingerprint] not in reversed_here
    ]
    statement.lines_new = len(fresh)
    statement.lines_twin = len(twins)
    statement.lines_matched = _match(candidates, progress)
    statement.save(update_fields=["lines_new", "lines_twin", "lines_matched"])
    return statement


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


def _match(lines: list[tuple[int, Movement]], progress: Progress | None) -> int:
    """Allocate each line whose structured communication (or one in its free text) is an invoice's; one query
    for the invoices, one bulk insert for the allocations. Returns how many lines were matched."""
    wanted = [communication_in(m) for _pk, m in lines]
    # Only what matching needs: an invoice's JSON fields are heavy and a statement may hold 100,000 lines.
    invoices: dict[str, tuple[int, str, int, str]] = {}
    communications = sorted({c for c in wanted if c})
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
    credited = credited_ids() if invoices else set()
    at = connection.ops.adapt_datetimefield_value(timezone.now())
    allocations = []
    for index, ((pk, m), communication) in enumerate(zip(lines, wanted, strict=True), start=1):
        found = invoices.get(communication or "")
        if found is not None and found[1] != InvoiceKind.CREDIT_NOTE:
            invoice_id, _kind, operator_id, operator_name = found
            dead = invoice_id in credited  # D12: to the account balance, never to a credited invoice
            allocations.append(
                (
                    pk,
                    None if dead else invoice_id,
                    operator_id if dead else None,
                    m.amount,
                    True,
                    names_differ(m.counterparty_name, operator_name),
                    m.counterparty_name,
                    at,
                )
            )
        if progress and index % 5000 == 0:
            progress(index, len(lines))
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
        # the operators are locked before their last reminder is read, until the reminders sent are stored.
        list(
            Operator.objects.select_for_update()
            .filter(pk__in=sorted(operator.pk for operator in overdue))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
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
    holder = default_name if iban == default_iban else ""
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


@transaction.atomic
def refunds_mark_sent(*, export: RefundExport, today: datetime.date | None = None) -> int:
    """The bank executed the file: its refunds are sent. Only exported refunds change; again changes nothing."""
    return Refund.objects.filter(Q(export=export) & Q(state=Refund.State.EXPORTED)).update(
        state=Refund.State.SENT, sent_on=today or timezone.localdate()
    )
