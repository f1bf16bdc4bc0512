"""The workplace's bank pages over the payments app (issue 12): a statement file handed in (imported at once when
small, by the background worker when large), the queue filtered by why a line waits, the search behind a manual
allocation, and an allocation that happens once however often it is posted.

The import, the matching, the allocation rules and their locks are the payments app's (``statement_import``,
``payment_allocate``); this module only keeps the upload until it is read and says what it brought.
"""

from __future__ import annotations

import datetime
import logging
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from famhp.billing.models import Invoice, InvoiceKind
from famhp.payments.models import Allocation, BankLine
from famhp.payments.selectors import (
    credited_ids,
    queue_reason,
    unmatched_lines,
    with_carried,
    with_paid,
)
from famhp.payments.services import payment_allocate, statement_import
from famhp.registry.models import Operator
from famhp.rules.money import ZERO
from famhp.workplace.models import BankImport

logger = logging.getLogger("famhp.workplace")

#: A file up to this size is imported within the request; a larger one by the background worker.
AT_ONCE_BYTES = 512 * 1024
#: The queued lines of one file whose reasons the result page counts (each reason is read line by line).
REASONS_READ = 500


# --- the import -------------------------------------------------------------------------------------------------


def bank_import_start(*, data: bytes, name: str, by: Any) -> BankImport:
    """Keep the uploaded file and import it: at once when small, else queued for the background worker (the
    result page follows the progress page). Never raises for a bad file: the refusal is the import's result."""
    upload = BankImport.objects.create(
        name=name[:255], size=len(data), data=data, created_by=by, language=translation.get_language() or "en"
    )
    if len(data) <= AT_ONCE_BYTES:
        return bank_import_run(import_id=upload.pk)
    from famhp.workplace.tasks import run_bank_import

    queued = run_bank_import.enqueue(upload.pk)
    BankImport.objects.filter(pk=upload.pk, task_id="").update(task_id=str(queued.id))
    upload.refresh_from_db()
    return upload


def bank_import_run(*, import_id: int) -> BankImport:
    """Read the kept file through the payments app's import, once: an import already started or finished is
    left as it is (a task queued twice, a worker restarted). The file is emptied afterwards either way."""
    with transaction.atomic():
        claimed = BankImport.objects.filter(pk=import_id, state=BankImport.State.QUEUED).update(
            state=BankImport.State.RUNNING
        )
    upload = BankImport.objects.get(pk=import_id)
    if not claimed:
        return upload
    state, message, statement, new = BankImport.State.DONE, "", None, False
    with translation.override(upload.language):
        try:
            statement, new = statement_import(data=bytes(upload.data), name=upload.name, imported_by=upload.created_by)
        except ValidationError as refusal:
            state, message = BankImport.State.FAILED, " ".join(refusal.messages)
        except Exception:
            logger.exception("bank import %s (%s) stopped", upload.pk, upload.name)
            state = BankImport.State.FAILED
            message = _(
                "The import stopped on an unexpected error: nothing was imported. The agency's IT can read why in the log."
            )
    BankImport.objects.filter(pk=upload.pk).update(
        state=state, message=message, statement=statement, new=new, data=b"", finished_at=timezone.now()
    )
    upload.refresh_from_db()
    return upload


#: An import still running after this long is taken as stopped (its worker or request died): staff may start it
#: again. A 100,000-line statement imports in well under a minute (ADR 12 addendum).
STALLED_AFTER = datetime.timedelta(minutes=15)


def import_stalled(upload: BankImport) -> bool:
    """Still "being imported" long after it was handed in: the process that claimed it most likely died."""
    return upload.state == BankImport.State.RUNNING and upload.created_at < timezone.now() - STALLED_AFTER


def bank_import_retry(*, import_id: int) -> BankImport:
    """Start a stalled import again (:func:`import_stalled`): back to waiting, then read as a new one is (at once
    when small, by the background worker when large). Only one of two clicks puts it back (a conditional UPDATE);
    the claim that follows stays atomic. Should the first process be alive after all, nothing is imported twice:
    the payments import adds a file once (SHA-256) and a movement once (its fingerprint)."""
    stale_before = timezone.now() - STALLED_AFTER
    with transaction.atomic():
        reset = BankImport.objects.filter(
            pk=import_id, state=BankImport.State.RUNNING, created_at__lt=stale_before
        ).update(state=BankImport.State.QUEUED)
    upload = BankImport.objects.get(pk=import_id)
    if not reset:
        raise ValidationError(
            _(
                "This import is not stalled (it finished, or started less than %(minutes)s minutes ago): nothing was done."
            )
            % {"minutes": int(STALLED_AFTER.total_seconds() // 60)}
        )
    if upload.size <= AT_ONCE_BYTES:
        return bank_import_run(import_id=upload.pk)
    from famhp.workplace.tasks import run_bank_import

    queued = run_bank_import.enqueue(upload.pk)
    BankImport.objects.filter(pk=upload.pk).update(task_id=str(queued.id))
    upload.refresh_from_db()
    return upload


@dataclass(frozen=True)
class ImportSummary:
    lines: int
    allocated: int
    queued: int
    accounts: list[str]
    first: Any
    last: Any
    #: why the queued lines wait, with how many (of the first ``REASONS_READ``)
    reasons: list[tuple[str, int]]
    reasons_partial: bool


def import_summary(upload: BankImport) -> ImportSummary | None:
    """What the file brought: its lines, how many were allocated on import, which still wait and why."""
    statement = upload.statement
    if statement is None or not upload.new:
        return None
    lines = BankLine.objects.filter(statement_file=statement)
    facts = lines.order_by().values("account").distinct()
    span = lines.order_by("booked_on")
    first, last = span.first(), span.last()
    waiting = (
        unmatched_lines().filter(statement_file=statement).prefetch_related("reverses_line", "twin_of__statement_file")
    )
    queued = waiting.count()
    reasons = Counter(queue_reason(line) for line in waiting[:REASONS_READ])
    return ImportSummary(
        lines=statement.lines_new,
        allocated=statement.lines_matched,
        queued=queued,
        accounts=[row["account"] for row in facts],
        first=first.booked_on if first else None,
        last=last.booked_on if last else None,
        reasons=reasons.most_common(),
        reasons_partial=queued > REASONS_READ,
    )


# --- the queue ------------------------------------------------------------------------------------------------


#: Why a line waits, as a filter of the queue: each a condition on the line itself.
REASONS: dict[str, tuple[Any, Q]] = {
    "credit": (
        gettext_lazy("An incoming euro payment to allocate"),
        Q(amount__gt=0, status=BankLine.Status.BOOKED, currency="EUR", reversal=False, twin_of__isnull=True),
    ),
    "duplicate": (gettext_lazy("A possible duplicate of a line of another file"), Q(twin_of__isnull=False)),
    "debit": (gettext_lazy("A debit, reversal or return"), Q(amount__lt=0) | Q(reversal=True)),
    "pending": (gettext_lazy("Pending at the bank"), Q(status=BankLine.Status.PENDING)),
    "currency": (gettext_lazy("Another currency than the euro"), ~Q(currency="EUR")),
}


def queue(*, reason: str = "", currency: str = "", statement_id: int | None = None) -> QuerySet[BankLine]:
    """The payments queue, narrowed to one reason, one currency and one file when they are given."""
    # The lines a reason names are fetched for the page's lines only: joined into the queue's query, PostgreSQL
    # misjudges the filter (1 row) and scans the bank lines once per line (34 s for 20,000 lines).
    lines = (
        unmatched_lines().select_related("statement_file").prefetch_related("reverses_line", "twin_of__statement_file")
    )
    if reason in REASONS:
        lines = lines.filter(REASONS[reason][1])
    if currency:
        lines = lines.filter(currency=currency)
    if statement_id is not None:
        lines = lines.filter(statement_file_id=statement_id)
    return lines


def queue_currencies() -> list[str]:
    return sorted(set(unmatched_lines().order_by().values_list("currency", flat=True).distinct()))


def allocated_on(line: BankLine) -> Decimal:
    return Allocation.objects.filter(bank_line=line).aggregate(s=Sum("amount"))["s"] or ZERO


def line_allocate(
    *,
    line: BankLine,
    amount: Decimal,
    by: Any,
    seen: Decimal,
    invoice: Invoice | None = None,
    operator: Operator | None = None,
    third_party: bool | None = None,
    second_payment: bool = False,
) -> Allocation:
    """Allocate as the page showed it: ``seen`` is what the line had allocated when the page was drawn; the
    payments service refuses, with the line locked, when it changed in between (a second click, a colleague).
    A possible duplicate (ADR 12 addendum) only with ``second_payment``: the person ticked that it is a second
    payment, not the same one received again; without it nothing is allocated."""
    return payment_allocate(
        line=line,
        invoice=invoice,
        operator=operator,
        amount=amount,
        by=by,
        third_party=third_party,
        seen=seen,
        second_payment=second_payment,
    )


# --- the search behind a manual allocation -----------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """An invoice a payment may go to (``invoice``), or an operator's account (``invoice`` None: D12)."""

    operator: Operator
    invoice: Invoice | None
    open: Decimal | None
    credited: bool = False


def allocation_search(text: str, *, limit: int = 20) -> list[Candidate]:
    """Invoices and accounts found by an enterprise number, a name, an invoice number or a structured
    communication (with or without its +++ and slashes). A credited invoice is shown, but the payment goes to
    its operator's account (D12)."""
    text = text.strip()
    if len(text) < 2:
        return []
    digits = "".join(c for c in text if c.isdigit())
    invoices = Q(number__iexact=text) | Q(operator__name__icontains=text)
    operators = Q(name__icontains=text)
    if len(digits) >= 4:
        invoices |= Q(structured_communication=digits) | Q(operator__enterprise_number__contains=digits)
        operators |= Q(enterprise_number__contains=digits)
    # what is open counts what a predecessor credited by a credit note paid (D8), as the statement and the API do
    found = with_carried(
        with_paid(Invoice.objects.filter(invoices))
        .exclude(kind=InvoiceKind.CREDIT_NOTE)
        .select_related("operator")
        .order_by("operator__name", "-year", "number")[:limit]
    )
    credited = credited_ids() if found else set()
    rows = [
        Candidate(invoice.operator, invoice, invoice.total - invoice.paid, invoice.pk in credited)  # type: ignore[attr-defined]
        for invoice in found
    ]
    for operator in Operator.objects.filter(operators).order_by("name", "pk")[:limit]:
        rows.append(Candidate(operator, None, None))
    return rows
