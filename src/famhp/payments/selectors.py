"""Reads of payments: invoice status derived from allocations, the queue with its reasons and suggestions, the
account balance and what is refundable (D12), the account statement with interest (D10)."""

from __future__ import annotations

import datetime
import functools
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.timezone import localdate
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from famhp.accounts.compiled import compiled_list
from famhp.billing.models import Invoice, InvoiceKind
from famhp.billing.ogm import parse as parse_ogm
from famhp.billing.selectors import InterestUnconfirmed, interest_terms
from famhp.payments.models import Allocation, BankLine, Refund, StatementFile
from famhp.registry.models import Operator
from famhp.rules import interest_due
from famhp.rules.money import ZERO

STATUS_LABELS = {
    "unpaid": _("unpaid"),
    "partly_paid": _("partly paid"),
    "paid": _("paid"),
    "overpaid": _("overpaid"),
    "credited": _("credited"),
    "credit_note": _("credit note"),
}
#: +++123/4567/89012+++ or ***123/4567/89012*** written in a free communication (RULES §8)
OGM_IN_TEXT = re.compile(r"(\+\+\+|\*\*\*)\s*(\d{3})\s*/?\s*(\d{4})\s*/?\s*(\d{5})\s*(\+\+\+|\*\*\*)")
#: an invoice number written in a free communication: AT2025-000040, TL2025-40, CN 2025 000040
NUMBER_IN_TEXT = re.compile(r"\b(AT|TL|CN)\s*-?\s*(\d{4})\s*[-/ ]?\s*(\d{1,6})\b", re.IGNORECASE)
LEGAL_FORMS = re.compile(r"\b(nv|bv|bvba|sa|srl|sprl|gmbh|ltd|sas|sarl|ag|vzw|asbl|cv|sc|inc|llc)\b\.?")
MONEY: DecimalField[Decimal, Decimal] = DecimalField(max_digits=14, decimal_places=2)


def communication_in(line: BankLine | Any) -> str | None:
    """The structured communication of a movement: its structured field, else a +++…+++ or ***…*** pattern in
    its free text (whatever the CODA communication-type flag or a camt ``Ustrd`` says); valid under mod 97 in
    both cases, or None."""
    structured = line.structured_communication
    if structured:
        if len(structured) == 12 and structured.isdigit() and structured.isascii():
            # the common case, without a library call per line: mod 97 of the first ten, 97 where that is 0
            valid = int(structured) > 0 and (int(structured[:10]) % 97 or 97) == int(structured[10:])
            return structured if valid else None
        return parse_ogm(structured)
    for match in OGM_IN_TEXT.finditer(line.free_text or ""):
        found = parse_ogm(f"+++{match.group(2)}/{match.group(3)}/{match.group(4)}+++")
        if found:
            return found
    return None


@functools.lru_cache(maxsize=4096)
def normalised_name(name: str) -> str:
    return " ".join(LEGAL_FORMS.sub(" ", re.sub(r"[^\w\s]", " ", name.lower())).split())


def is_third_party(payer: str, operator: Operator) -> bool:
    """FAQ 19: a payer other than the operator. Judged on the names, with legal forms and punctuation ignored."""
    return names_differ(payer, operator.name)


def names_differ(payer: str, own: str) -> bool:
    """:func:`is_third_party` on the operator's name alone."""
    payer_name, own = normalised_name(payer), normalised_name(own)
    return bool(payer_name) and own not in payer_name and payer_name not in own


def with_paid(invoices: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """Annotate ``paid`` (the sum of allocations) on each invoice."""
    paid = Allocation.objects.filter(invoice=OuterRef("pk")).values("invoice").annotate(s=Sum("amount")).values("s")
    return invoices.annotate(paid=Coalesce(Subquery(paid, output_field=MONEY), Value(ZERO), output_field=MONEY))


def status_of(invoice: Invoice, paid: Decimal, credited: bool) -> str:
    """Derived, never typed in (STYLE.md): from the allocations and the credit notes."""
    if invoice.kind == InvoiceKind.CREDIT_NOTE:
        return "credit_note"
    if credited:
        return "credited"
    if paid <= 0:
        return "unpaid"
    if paid < invoice.total:
        return "partly_paid"
    return "paid" if paid == invoice.total else "overpaid"


def invoice_status(invoice: Invoice) -> str:
    paid = sum((amount for _day, amount in paid_so_far([invoice]).get(invoice.pk, [])), ZERO)
    return status_of(invoice, paid, Invoice.objects.filter(credits=invoice).exists())


def credited_ids() -> set[int]:
    return set(Invoice.objects.exclude(credits=None).values_list("credits_id", flat=True))


# --- a corrected invoice's payments (D8, D10, D12) -----------------------------------------------------------------

Paid = list[tuple[datetime.date, Decimal]]


def paid_so_far(invoices: list[Invoice]) -> dict[int, Paid]:
    """What has been paid on each invoice, with the booking dates: its own allocations (a reversal netted on the
    payment it reverses) and, for an invoice that follows a credit note (D8: invoice → credit note → next
    invoice), what was paid on the invoice that note credited, carried at the original booking dates (paid on time
    stays paid on time, D10), earliest first, up to the new invoice's total; any surplus stays account credit
    (D12). Credit notes are left out.

    What is carried must still be in the account (D12): money refunded since, or already counted as paying another
    invoice, is not carried. Each operator's live invoices that follow a credit note share what its account holds
    beyond what pays its other invoices, the earliest issued first (:func:`_carried_within_the_account`)."""
    found, carried = _paid_and_carried(invoices)
    live = [i for i in invoices if i.pk in carried]
    if live:
        for pk, allowed in _carried_within_the_account({i.operator_id for i in live}).items():
            if pk in carried and allowed < sum((amount for _day, amount in carried[pk]), ZERO):
                own = Counter(found[pk]) - Counter(carried[pk])  # a multiset: two equal payments stay two
                found[pk] = sorted([*own.elements(), *_trimmed(carried[pk], allowed)])
    return found


def _trimmed(carried: Paid, allowed: Decimal) -> Paid:
    """The carried payments, earliest first, up to ``allowed``."""
    kept = []
    for day, amount in sorted(carried):
        part = min(amount, allowed)
        if part <= 0:
            break
        kept.append((day, part))
        allowed -= part
    return kept


def _carried_within_the_account(operators: set[int]) -> dict[int, Decimal]:
    """For each live invoice of these operators that follows a credit note: how much of what its predecessors were
    paid may be carried to it. The account holds every payment (to an invoice or to the account) less the refunds;
    what pays the operator's invoices directly (their own allocations, up to each total) is not free; the rest is
    shared by the following invoices, the earliest issued first, each up to what its chain carries."""
    live = list(
        Invoice.objects.filter(operator_id__in=operators, credit_notes=None)
        .exclude(kind=InvoiceKind.CREDIT_NOTE)
        .order_by("issued_on", "pk")
    )
    own = dict(
        Allocation.objects.filter(invoice__in=live)
        .values("invoice_id")
        .annotate(s=Sum("amount"))
        .values_list("invoice_id", "s")
    )
    free: dict[int, Decimal] = defaultdict(lambda: ZERO)
    paid = Allocation.objects.filter(Q(invoice__operator_id__in=operators) | Q(invoice=None, operator_id__in=operators))
    for operator_id, amount in (
        paid.annotate(owner=Coalesce("invoice__operator_id", "operator_id"))
        .values("owner")
        .annotate(s=Sum("amount"))
        .values_list("owner", "s")
    ):
        free[operator_id] += amount
    for operator_id, amount in (
        Refund.objects.filter(operator_id__in=operators)
        .values("operator_id")
        .annotate(s=Sum("amount"))
        .values_list("operator_id", "s")
    ):
        free[operator_id] -= amount
    for invoice in live:
        free[invoice.operator_id] -= min(max(own.get(invoice.pk, ZERO), ZERO), invoice.total)
    _found, carried = _paid_and_carried([invoice for invoice in live if invoice.follows_id])
    allowed = {}
    for invoice in live:
        if invoice.pk in carried:
            wanted = sum((amount for _day, amount in carried[invoice.pk]), ZERO)
            allowed[invoice.pk] = max(min(wanted, free[invoice.operator_id]), ZERO)
            free[invoice.operator_id] -= allowed[invoice.pk]
    return allowed


def _paid_and_carried(invoices: list[Invoice]) -> tuple[dict[int, Paid], dict[int, Paid]]:
    """:func:`paid_so_far` before the account's limit, and, for each invoice not credited that follows a credit
    note, the part of it carried from its predecessors."""
    predecessor: dict[int, int] = {}
    totals = {i.pk: i.total for i in invoices}
    notes = {i.follows_id for i in invoices if i.follows_id}
    following = {i.follows_id: i.pk for i in invoices if i.follows_id}
    while notes:
        credited = dict(Invoice.objects.filter(pk__in=notes).exclude(credits=None).values_list("pk", "credits_id"))
        earlier = {
            row[0]: row
            for row in Invoice.objects.filter(pk__in=credited.values()).values_list("pk", "total", "follows_id")
        }
        notes, next_following = set(), {}
        for note, old in credited.items():
            predecessor[following[note]] = old
            _pk, total, follows = earlier[old]
            totals.setdefault(old, total)
            if follows and old not in predecessor:
                notes.add(follows)
                next_following[follows] = old
        following = next_following
    own: dict[int, dict[int, tuple[datetime.date, Decimal]]] = defaultdict(dict)
    rows = Allocation.objects.filter(invoice_id__in=totals).values_list(
        "invoice_id",
        "amount",
        "bank_line_id",
        "bank_line__booked_on",
        "reverses__bank_line_id",
        "reverses__bank_line__booked_on",
    )
    for invoice_id, amount, line, booked, reversed_line, reversed_booked in rows:
        # a reversal takes back the payment it reverses: netted on that payment's line and date
        key, day = (reversed_line, reversed_booked) if reversed_line else (line, booked)
        _day, so_far = own[invoice_id].get(key, (day, ZERO))
        own[invoice_id][key] = (day, so_far + amount)
    for invoice_id, amount, line, booked in _paid_on_credited(set(predecessor.values())):
        _day, so_far = own[invoice_id].get(line, (booked, ZERO))
        own[invoice_id][line] = (booked, so_far + amount)

    @functools.cache
    def brought(pk: int) -> tuple[tuple[datetime.date, Decimal], ...]:
        """What the predecessors' payments bring to ``pk``, up to its total."""
        if pk not in predecessor:
            return ()
        kept = _trimmed(list(paid(predecessor[pk])), totals[pk])
        return tuple(kept)

    @functools.cache
    def paid(pk: int) -> tuple[tuple[datetime.date, Decimal], ...]:
        return tuple(sorted([p for p in own[pk].values() if p[1] != 0] + list(brought(pk))))

    found = {i.pk: list(paid(i.pk)) for i in invoices if i.kind != InvoiceKind.CREDIT_NOTE}
    still_live = (
        set(Invoice.objects.filter(pk__in=predecessor, credit_notes=None).values_list("pk", flat=True))
        if predecessor
        else set()
    )  # no query for invoices that follow no credit note (most of them)
    carried = {pk: list(brought(pk)) for pk in found if pk in predecessor and pk in still_live}
    return found, carried


def _paid_on_credited(credited: set[int]) -> list[tuple[int, Decimal, int, datetime.date]]:
    """The payments to an operator's account that name one of these credited invoices by its structured
    communication (paid on the old reference after the correction: D12 puts them on the account, never on the dead
    invoice), as (that invoice, amount, line, booking date), reversals netted on their line: they are carried to
    the invoice that follows, as what was paid on the credited invoice itself is (D8, D10: paid on time stays paid
    on time)."""
    if not credited:
        return []
    ogms = {
        ogm: (pk, operator_id)
        for ogm, pk, operator_id in Invoice.objects.filter(pk__in=credited).values_list(
            "structured_communication", "pk", "operator_id"
        )
    }
    owners = {operator_id for _pk, operator_id in ogms.values()}
    found = []
    for allocation in (
        Allocation.objects.filter(invoice__isnull=True, operator_id__in=owners)
        .select_related("bank_line", "reverses__bank_line")
        .order_by("pk")
    ):
        line = allocation.reverses.bank_line if allocation.reverses_id else allocation.bank_line  # type: ignore[union-attr]
        named = ogms.get(communication_in(line) or "")
        if named is not None and named[1] == allocation.operator_id:  # the operator's own invoice only
            found.append((named[0], allocation.amount, line.pk, line.booked_on))
    return found


def paid_to_account_on(credited: set[int]) -> Decimal:
    """What was paid to the account on these credited invoices' structured communications after they were
    credited (:func:`_paid_on_credited`): counted as paid on them, and carried like it."""
    return sum((amount for _pk, amount, _line, _day in _paid_on_credited(credited)), ZERO)


def with_carried(invoices: Iterable[Invoice]) -> list[Invoice]:
    """The invoices (read :func:`with_paid`) with ``paid`` raised by what :func:`paid_so_far` carries to an
    invoice that follows a credit note; one list, for every reader of an invoice's status and open amount."""
    listed = list(invoices)
    successors = [i for i in listed if i.follows_id]
    if successors:
        carried = paid_so_far(successors)
        for invoice in successors:
            total = sum((amount for _day, amount in carried[invoice.pk]), ZERO)
            invoice.paid = total  # type: ignore[attr-defined]
    return listed


# --- the queue -------------------------------------------------------------------------------------------------


def allocated_total(line: BankLine) -> Decimal:
    """What is allocated on the line now (reversed allocations counted negative)."""
    return Allocation.objects.filter(bank_line=line).aggregate(s=Sum("amount"))["s"] or ZERO


def unmatched_lines() -> QuerySet[BankLine]:
    """The staff queue: what the import could not settle by itself and staff have not marked as handled —
    credits not (fully) allocated, debits (reversals, returns, transfers out), pending entries and payments in
    another currency. A credit whose reversal came in is settled by that reversal."""
    allocated = (
        Allocation.objects.filter(bank_line=OuterRef("pk")).values("bank_line").annotate(s=Sum("amount")).values("s")
    )
    # money in, allocated in full by the import or by staff (a return of a transfer out too: staff only, D12)
    settled_credit = Q(amount__gt=0, status=BankLine.Status.BOOKED, currency="EUR", allocated__gte=F("amount"))
    return (
        BankLine.objects.filter(review__isnull=True, reversed_by__isnull=True)
        .annotate(allocated=Coalesce(Subquery(allocated, output_field=MONEY), Value(ZERO), output_field=MONEY))
        .exclude(settled_credit)
        .order_by("booked_on", "pk")
    )


def twins_to_handle(statement: StatementFile) -> QuerySet[BankLine]:
    """The possible duplicates of a file that ``twins_mark_handled`` would take out of the queue: nobody allocated
    or handled them yet (ADR 12 addendum), with the earlier line each may repeat."""
    return (
        BankLine.objects.filter(statement_file=statement, twin_of__isnull=False, review__isnull=True)
        .filter(~Exists(Allocation.objects.filter(bank_line=OuterRef("pk"))))
        .select_related("twin_of__statement_file")
        .order_by("pk")
    )


def queue_reason(line: BankLine, *, invoices_by_ogm: dict[str, Invoice] | None = None) -> str:
    """Why the line waits for staff, in words."""
    if line.twin_of_id is not None:
        twin = line.twin_of
        assert twin is not None
        return gettext(
            "Possible duplicate of line %(line)s (%(amount)s %(currency)s of %(date)s) imported from %(file)s on "
            "%(imported)s: the same movement may have come again, in another file or format. Never allocated "
            "automatically: allocate it if it is a second payment, or mark it handled."
        ) % {
            "line": twin.pk,
            "amount": twin.amount,
            "currency": twin.currency,
            "date": twin.booked_on,
            "file": twin.statement_file.name,
            "imported": localdate(twin.statement_file.imported_at),
        }
    if line.status == BankLine.Status.PENDING:
        return gettext("Pending at the bank, not booked: never allocated (the booked entry is matched when it comes).")
    if line.currency != "EUR":
        return gettext("In %(currency)s, not euro: never allocated to a euro invoice automatically.") % {
            "currency": line.currency
        }
    if line.reversal or line.amount < 0:
        reversed_line = line.reverses_line
        if reversed_line is None:
            if line.reversal:
                return gettext("A reversal or return (%(reason)s) whose payment was not found: check it.") % {
                    "reason": line.return_reason or "-"
                }
            return gettext("A debit: money leaving the account.")
        undone = [
            a.invoice.number if a.invoice else str(a.operator)
            for a in line.allocations.all()
            if a.reverses_id is not None
        ]
        return gettext("A reversal or return (%(reason)s) of the payment of %(date)s (%(amount)s): %(undone)s.") % {
            "reason": line.return_reason or "-",
            "date": reversed_line.booked_on,
            "amount": reversed_line.amount,
            "undone": gettext("its allocation to %(what)s was undone") % {"what": ", ".join(undone)}
            if undone
            else gettext("it had not been allocated"),
        }
    communication = communication_in(line)
    if communication is None:
        return gettext("No valid structured communication.")
    invoice = (invoices_by_ogm or {}).get(communication) or Invoice.objects.filter(
        structured_communication=communication
    ).first()
    if invoice is None:
        return gettext("The structured communication is not one of our invoices.")
    if invoice.kind == InvoiceKind.CREDIT_NOTE:
        return gettext("The structured communication is the credit note %(number)s's.") % {"number": invoice.number}
    return gettext("Partly allocated by staff.")


@dataclass(frozen=True)
class Suggestion:
    invoice: Invoice | None
    operator: Operator
    amount: Decimal  # what one click allocates
    score: int
    why: str


def open_amount(invoice: Invoice) -> Decimal:
    """What is still to pay on the invoice: its total less what :func:`paid_so_far` counts, so that an invoice
    following a credit note (D8) counts what was paid on the invoice that note credited, as the account statement
    and the API do."""
    return invoice.total - sum((amount for _day, amount in paid_so_far([invoice]).get(invoice.pk, [])), ZERO)


#: the tick box a possible duplicate is allocated with (the line page; the admin's allocation page)
SECOND_PAYMENT = _("This is a second payment, not the same one again")


def second_payment_refusal(line: BankLine, *, confirmed: bool) -> str | None:
    """Why staff may not allocate this line as they asked, or None: a possible duplicate (ADR 12 addendum: the same
    movement may have come again, in another file or format) is allocated only when the person says, in so many
    words, that it is a second payment; never by one click on a suggestion."""
    if line.twin_of_id is None or confirmed:
        return None
    return gettext(
        "This line may be line %(line)s received again, in another file or format: it is allocated only when you "
        "tick “%(confirm)s”. Nothing was allocated."
    ) % {"line": line.twin_of_id, "confirm": SECOND_PAYMENT}


def suggestions(line: BankLine, *, limit: int = 3) -> list[Suggestion]:
    """Invoices the line may pay, best first: an invoice number or a structured communication found in the
    free text (3), the same amount and payer as an open invoice (2), the same payer (1). A credited invoice
    suggests its operator's account (D12), never itself. None for a possible duplicate (ADR 12 addendum): one
    click would book a payment that may not exist; its line page allocates it with a tick box."""
    if line.twin_of_id is not None:
        return []
    left = line.amount - (line.allocations.aggregate(s=Sum("amount"))["s"] or ZERO)
    if left <= 0 or line.amount <= 0 or line.currency != "EUR" or line.status != BankLine.Status.BOOKED:
        return []
    credited = credited_ids()
    found: dict[tuple[int | None, int], Suggestion] = {}

    def add(invoice: Invoice, score: int, why: str, due: Decimal | None = None) -> None:
        if invoice.kind == InvoiceKind.CREDIT_NOTE:
            return
        if invoice.pk in credited:
            key: tuple[int | None, int] = (None, invoice.operator_id)
            suggestion = Suggestion(
                None,
                invoice.operator,
                left,
                score,
                gettext("%(why)s; %(number)s was credited, so to the account of %(operator)s")
                % {"why": why, "number": invoice.number, "operator": invoice.operator},
            )
        else:
            due = open_amount(invoice) if due is None else due
            if due <= 0:
                return
            key = (invoice.pk, invoice.operator_id)
            suggestion = Suggestion(invoice, invoice.operator, min(left, due), score, why)
        if key not in found or found[key].score < score:
            found[key] = suggestion

    text = line.free_text or ""
    for match in NUMBER_IN_TEXT.finditer(text):
        number = f"{match.group(1).upper()}{match.group(2)}-{int(match.group(3)):06d}"
        for invoice in Invoice.objects.filter(number=number).select_related("operator"):
            add(invoice, 3, gettext("invoice number %(number)s in the communication") % {"number": number})
    communication = communication_in(line)
    if communication:
        for invoice in Invoice.objects.filter(structured_communication=communication).select_related("operator"):
            add(invoice, 3, gettext("structured communication of %(number)s") % {"number": invoice.number})
    payer = normalised_name(line.counterparty_name)
    # The operators this account paid for lately (its latest 50 allocations: an accountant's account may have paid
    # for thousands), and those named like the payer: two indexed look-ups, not one join of every invoice with an
    # OR the database cannot use an index for. The queue page asks this for 50 lines at once.
    known: set[int] = set()
    if line.counterparty_account:
        known = set(
            Allocation.objects.filter(
                bank_line__counterparty_account=line.counterparty_account, invoice__isnull=False, amount__gt=0
            )
            .order_by("-pk")
            .values_list("invoice__operator_id", flat=True)[:50]
        )
    named: set[int] = set()
    if payer:
        named = set(Operator.objects.filter(name__icontains=payer.split()[0]).values_list("pk", flat=True)[:50])
    if known or named:
        # what each is still owed, in the same query; the latest 50, walked down the key
        candidates = with_paid(
            Invoice.objects.exclude(kind=InvoiceKind.CREDIT_NOTE)
            .filter(operator_id__in=known | named)
            .exclude(pk__in=credited)
            .select_related("operator")
        )
        # what a predecessor credited by a credit note paid counts too (D8), as on the statement
        for invoice in with_carried(candidates.order_by("-pk")[:50]):
            same_payer = invoice.operator_id in known or (
                bool(payer) and not is_third_party(line.counterparty_name, invoice.operator)
            )
            if not same_payer:
                continue
            due = invoice.total - invoice.paid  # type: ignore[attr-defined]
            if due == left:
                add(invoice, 2, gettext("same amount and payer as %(number)s") % {"number": invoice.number}, due)
            else:
                add(invoice, 1, gettext("same payer as %(number)s") % {"number": invoice.number}, due)
    ranked = sorted(found.values(), key=lambda s: (-s.score, s.invoice.number if s.invoice else ""))
    return ranked[:limit]


# --- the account (D12) -----------------------------------------------------------------------------------------


def account_allocations(operator: Operator) -> QuerySet[Allocation]:
    return Allocation.objects.filter(Q(invoice__operator=operator) | Q(invoice__isnull=True, operator=operator))


def account_balance(operator: Operator) -> Decimal:
    """D12: invoices minus credit notes minus payments plus refunds, all years; positive: owed to the FAMHP,
    negative: a credit balance of the operator."""
    invoices = Invoice.objects.filter(operator=operator)
    billed = invoices.exclude(kind=InvoiceKind.CREDIT_NOTE).aggregate(s=Sum("total"))["s"] or ZERO
    credited = sum(
        (abs(t) for t in invoices.filter(kind=InvoiceKind.CREDIT_NOTE).values_list("total", flat=True)), ZERO
    )
    paid = account_allocations(operator).aggregate(s=Sum("amount"))["s"] or ZERO
    refunded = Refund.objects.filter(operator=operator).aggregate(s=Sum("amount"))["s"] or ZERO
    return billed - credited - paid + refunded


def account_balances() -> dict[int, Decimal]:
    """``account_balance`` of every operator with an invoice, a payment or a refund, in four grouped queries
    (operator id → balance; positive: owed to the FAMHP, negative: a credit balance)."""
    balances: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for operator_id, kind, total in (
        Invoice.objects.values("operator_id", "kind").annotate(s=Sum("total")).values_list("operator_id", "kind", "s")
    ):
        balances[operator_id] += total if kind != InvoiceKind.CREDIT_NOTE else -abs(total)
    paid = Allocation.objects.annotate(owner=Coalesce("invoice__operator_id", "operator_id"))
    for operator_id, amount in paid.values("owner").annotate(s=Sum("amount")).values_list("owner", "s"):
        if operator_id is not None:
            balances[operator_id] -= amount
    for operator_id, amount in (
        Refund.objects.values("operator_id").annotate(s=Sum("amount")).values_list("operator_id", "s")
    ):
        balances[operator_id] += amount
    return dict(balances)


def refundable(operator: Operator) -> Decimal:
    """D12: the credit balance of the operator's whole account, never one invoice's overpayment while another
    invoice is open."""
    return max(-account_balance(operator), ZERO)


def refund_iban(operator: Operator) -> tuple[str, str]:
    """The account of the operator's latest payment, and its holder: where a refund goes by default. A payment
    the bank returned (the payer's account closed, say), an allocation undone or a refund that came back (a
    reversal bringing money in, from the account that refused it) is no payment: not that one."""
    last = (
        account_allocations(operator)
        .filter(amount__gt=0, reversal__isnull=True, bank_line__reversed_by__isnull=True, bank_line__reversal=False)
        .exclude(bank_line__counterparty_account="")
        .select_related("bank_line")
        .order_by("-bank_line__booked_on", "-pk")
        .first()
    )
    if last is None:
        return "", ""
    return last.bank_line.counterparty_account, last.bank_line.counterparty_name or operator.name


def credit_balances() -> list[tuple[Operator, Decimal, str, str]]:
    """Operators whose account is in credit: what may be refunded, and to which account."""
    with_payments = set(Allocation.objects.values_list("invoice__operator_id", flat=True).distinct()) | set(
        Allocation.objects.filter(invoice__isnull=True).values_list("operator_id", flat=True).distinct()
    )
    rows = []
    for operator in Operator.objects.filter(pk__in=with_payments - {None}).order_by("name"):
        amount = refundable(operator)
        if amount > 0:
            rows.append((operator, amount, *refund_iban(operator)))
    return rows


# --- the account statement (D10 interest) ----------------------------------------------------------------------


@dataclass
class Row:
    date: datetime.date
    kind: str
    reference: str
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    balance: Decimal = ZERO
    status: str = ""


@dataclass
class InterestLine:
    invoice: Invoice
    base: Decimal
    until: datetime.date
    periods: int
    amount: Decimal
    explanation: str


@dataclass
class Statement:
    operator: Operator
    today: datetime.date
    rows: list[Row] = field(default_factory=list)
    outstanding: Decimal = ZERO
    interest: Decimal = ZERO
    interest_lines: list[InterestLine] = field(default_factory=list)
    #: D10: years whose interest parameters the agency has not confirmed, with their names: no interest shown
    interest_blocked: dict[int, list[str]] = field(default_factory=dict)

    @property
    def balance(self) -> Decimal:
        return self.rows[-1].balance if self.rows else ZERO


CONTRIBUTION_LINES = {"activity_tax", "turnover_levy"}


def contribution_of(invoice: Invoice) -> Decimal:
    """D10: the base of interest is the contribution, never the fine or earlier interest on the invoice."""
    return sum(
        (Decimal(str(line["amount"])) for line in invoice.lines if line.get("description") in CONTRIBUTION_LINES),
        ZERO,
    )


def late_payment_interest(
    invoice: Invoice, payments: list[tuple[datetime.date, Decimal]], *, rate: Decimal, period: str, today: datetime.date
) -> list[InterestLine]:
    """D10: interest on the contribution from the day after the due date to each late payment, and on the
    contribution still outstanding to ``today``. Payments go to the contribution first (the fine and any
    interest line bear no interest)."""
    lines = []
    left = contribution_of(invoice)
    for booked, amount in sorted(payments):
        if left <= 0:
            break
        part = min(amount, left)
        left -= part
        if booked > invoice.due_on and part > 0:
            late = interest_due(base=part, due=invoice.due_on, until=booked, rate=rate, period=period)
            if late.amount:
                lines.append(InterestLine(invoice, part, booked, late.periods, late.amount, str(late.explanation)))
    if left > 0 and today > invoice.due_on:
        late = interest_due(base=left, due=invoice.due_on, until=today, rate=rate, period=period)
        if late.amount:
            lines.append(InterestLine(invoice, left, today, late.periods, late.amount, str(late.explanation)))
    return lines


def account_statement(operator: Operator, *, today: datetime.date) -> Statement:
    """Invoices, credit notes, payments and refunds in date order with the running balance (positive: owed to the
    FAMHP; a credit note is a credit and lowers it), and interest per D10 with the year's confirmed terms. While
    a year's interest parameters are unconfirmed, its interest is not shown and the statement names them."""
    invoices = list(with_paid(Invoice.objects.filter(operator=operator)))
    credited = {i.credits_id for i in invoices if i.credits_id}
    paid_on = paid_so_far(invoices)
    for invoice in invoices:
        invoice.paid = sum((amount for _day, amount in paid_on.get(invoice.pk, [])), ZERO)  # type: ignore[attr-defined]
    statement = Statement(operator, today)
    events: list[tuple[datetime.date, int, Row]] = []
    for allocation in account_allocations(operator).select_related("bank_line", "invoice", "reverses__bank_line"):
        line = allocation.bank_line
        label = allocation.invoice.number if allocation.invoice else gettext("account")
        row = Row(line.booked_on, "payment", f"{label} · {allocation.payer_name}".strip(" ·"))
        if allocation.amount > 0:
            row.credit = allocation.amount
        else:
            row.debit = -allocation.amount
        events.append((line.booked_on, 2, row))
    for refund in Refund.objects.filter(operator=operator):
        events.append((refund.recorded_on, 3, Row(refund.recorded_on, "refund", refund.iban, debit=refund.amount)))
    terms_of: dict[int, Any] = {}
    for invoice in invoices:
        status = status_of(invoice, invoice.paid, invoice.pk in credited)  # type: ignore[attr-defined]
        if invoice.kind == InvoiceKind.CREDIT_NOTE:
            row = Row(invoice.issued_on, "credit_note", invoice.number, credit=abs(invoice.total), status=status)
            events.append((invoice.issued_on, 1, row))
            continue
        events.append(
            (
                invoice.issued_on,
                0,
                Row(invoice.issued_on, invoice.kind, invoice.number, debit=invoice.total, status=status),
            )
        )
        if invoice.pk in credited or today <= invoice.due_on:
            continue
        payments = [p for p in paid_on[invoice.pk] if p[1] > 0]
        late_payments = any(day > invoice.due_on for day, _a in payments)
        if invoice.total - invoice.paid <= 0 and not late_payments:  # type: ignore[attr-defined]
            continue
        if invoice.year not in terms_of:
            try:
                terms_of[invoice.year] = interest_terms(invoice.year)
            except InterestUnconfirmed as unconfirmed:
                terms_of[invoice.year] = None
                statement.interest_blocked[invoice.year] = list(unconfirmed.names)
        terms = terms_of[invoice.year]
        if terms is None:
            continue
        for late in late_payment_interest(invoice, payments, rate=terms.rate, period=terms.period, today=today):
            statement.interest += late.amount
            statement.interest_lines.append(late)
    balance = ZERO
    for _date, _order, row in sorted(events, key=lambda e: (e[0], e[1])):
        balance += row.debit - row.credit
        row.balance = balance
        statement.rows.append(row)
    statement.outstanding = max(balance, ZERO)
    return statement


def overdue_by_operator(today: datetime.date) -> dict[Operator, list[Invoice]]:
    """Operators with invoices past their due date, not credited and not fully paid."""
    overdue: dict[Operator, list[Invoice]] = defaultdict(list)
    credited = credited_ids()
    candidates = with_paid(
        Invoice.objects.exclude(kind=InvoiceKind.CREDIT_NOTE).filter(due_on__lt=today)
    ).select_related("operator")
    for invoice in with_carried(candidates):
        if invoice.pk not in credited and invoice.paid < invoice.total:  # type: ignore[attr-defined]
            overdue[invoice.operator].append(invoice)
    return dict(overdue)


# --- the portal's invoice list and how to pay (issue 13) ----------------------------------------------------------


@dataclass(frozen=True)
class InvoiceRow:
    """An invoice as the company sees it: its derived status and what is still open on it."""

    invoice: Invoice
    status: str
    open: Decimal


def _invoice_rows_query(operator_id: int) -> QuerySet[Invoice]:
    credit_notes = Invoice.objects.filter(operator=OuterRef("operator"), credits=OuterRef("pk"))
    invoices = with_paid(Invoice.objects.filter(operator_id=operator_id)).annotate(credited=Exists(credit_notes))
    return invoices.select_related("credits").order_by("-issued_on", "-pk")


def invoice_rows(operator: Operator) -> list[InvoiceRow]:
    """The operator's invoices and credit notes, newest first, each with its status (from the allocations and the
    credit notes) and its open amount (0 for a paid, credited or overpaid invoice and for a credit note)."""
    # at every view of the portal's invoice list: one query, compiled once per process (issue 15); ``credited``: a
    # credit note of the same operator credits the invoice
    rows = []
    for invoice in with_carried(compiled_list("payments.invoice_rows", _invoice_rows_query, [operator.pk])):
        paid: Decimal = invoice.paid  # type: ignore[attr-defined]
        status = status_of(invoice, paid, invoice.credited)  # type: ignore[attr-defined]
        rows.append(InvoiceRow(invoice, status, invoice.total - paid if status in {"unpaid", "partly_paid"} else ZERO))
    return rows
