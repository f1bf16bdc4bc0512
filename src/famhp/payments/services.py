"""Payments: importing bank statements, matching them to invoices, allocating by hand, reminders, refunds."""

from __future__ import annotations

import datetime
import hashlib
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from famhp.billing.models import Invoice, InvoiceKind
from famhp.billing.ogm import parse as parse_ogm
from famhp.languages import email_language
from famhp.payments.models import Allocation, BankLine, Reminder, StatementFile
from famhp.payments.parsers import StatementError, parse
from famhp.payments.selectors import account_statement, overdue_by_operator
from famhp.registry.models import Operator
from famhp.rules.money import ZERO

Progress = Callable[[int, int], None]
#: +++123/4567/89012+++ or ***123/4567/89012*** written in a free communication (RULES §8)
OGM_IN_TEXT = re.compile(r"(\+\+\+|\*\*\*)\s*(\d{3})\s*/?\s*(\d{4})\s*/?\s*(\d{5})\s*(\+\+\+|\*\*\*)")
LEGAL_FORMS = re.compile(r"\b(nv|bv|bvba|sa|srl|sprl|gmbh|ltd|sas|sarl|ag|vzw|asbl|cv|sc|inc|llc)\b\.?")


def communication_in(line: BankLine | Any) -> str | None:
    """The structured communication of a movement: its structured field, else a +++…+++ or ***…*** pattern in
    its free text; valid under mod 97 in both cases, or None."""
    if line.structured_communication:
        return parse_ogm(line.structured_communication)
    for match in OGM_IN_TEXT.finditer(line.free_text or ""):
        found = parse_ogm(f"+++{match.group(2)}/{match.group(3)}/{match.group(4)}+++")
        if found:
            return found
    return None


def _normalise(name: str) -> str:
    return " ".join(LEGAL_FORMS.sub(" ", re.sub(r"[^\w\s]", " ", name.lower())).split())


def is_third_party(payer: str, operator: Operator) -> bool:
    """FAQ 19: a payer other than the operator. Judged on the names, with legal forms and punctuation ignored."""
    payer_name, own = _normalise(payer), _normalise(operator.name)
    return bool(payer_name) and own not in payer_name and payer_name not in own


def statement_import(
    *, data: bytes, name: str, imported_by: Any = None, progress: Progress | None = None
) -> tuple[StatementFile, bool]:
    """Import a CODA or camt.053 file: every movement kept as a fact, every credit matched to its invoice by the
    structured communication. Returns the file and whether it was new: the same file twice adds nothing, and a
    movement already imported through another file is not added again. A malformed file imports nothing and
    raises ValidationError saying where it is broken."""
    digest = hashlib.sha256(data).hexdigest()
    existing = StatementFile.objects.filter(sha256=digest).first()
    if existing is not None:
        return existing, False
    try:
        kind, movements = parse(data)
    except StatementError as error:
        raise ValidationError(_("%(name)s was not imported: %(problem)s") % {"name": name, "problem": error}) from None
    try:
        with transaction.atomic():
            statement = StatementFile.objects.create(
                sha256=digest, name=name[:255], format=kind, imported_by=imported_by
            )
            BankLine.objects.bulk_create(
                [
                    BankLine(
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
                    )
                    for m in movements
                ],
                batch_size=2000,
                ignore_conflicts=True,
            )
            new_lines = list(BankLine.objects.filter(statement_file=statement, amount__gt=0))
            matched = _match(new_lines, progress)
            statement.lines_new = BankLine.objects.filter(statement_file=statement).count()
            statement.lines_matched = matched
            statement.save(update_fields=["lines_new", "lines_matched"])
    except IntegrityError:
        # The same file imported at the same moment by someone else: theirs stands, this one adds nothing.
        return StatementFile.objects.get(sha256=digest), False
    return statement, True


def _match(lines: list[BankLine], progress: Progress | None) -> int:
    wanted = {line.pk: communication_in(line) for line in lines}
    # Only what matching needs: an invoice's JSON fields are heavy and a statement may hold 100,000 lines.
    invoices = {
        ogm: (pk, kind, Operator(name=name))
        for ogm, pk, kind, name in Invoice.objects.filter(
            structured_communication__in={c for c in wanted.values() if c}
        ).values_list("structured_communication", "pk", "kind", "operator__name")
    }
    allocations = []
    for index, line in enumerate(lines, start=1):
        found = invoices.get(wanted[line.pk] or "")
        if found is not None and found[1] != InvoiceKind.CREDIT_NOTE:
            invoice_id, _kind, operator = found
            allocations.append(
                Allocation(
                    bank_line=line,
                    invoice_id=invoice_id,
                    amount=line.amount,
                    automatic=True,
                    third_party=is_third_party(line.counterparty_name, operator),
                    payer_name=line.counterparty_name,
                )
            )
        if progress and index % 5000 == 0:
            progress(index, len(lines))
    Allocation.objects.bulk_create(allocations, batch_size=2000, ignore_conflicts=True)
    return len(allocations)


@transaction.atomic
def payment_allocate(
    *, line: BankLine, invoice: Invoice, amount: Decimal, by: Any, third_party: bool | None = None
) -> Allocation:
    """Staff allocate (part of) a bank line to an invoice; one payment may be spread over several invoices.
    The line is locked: allocations never exceed the payment, whoever allocates at the same time."""
    line = BankLine.objects.select_for_update().get(pk=line.pk)
    if amount <= 0:
        raise ValidationError({"amount": _("An allocation is a positive amount.")})
    allocated = line.allocations.aggregate(s=Sum("amount"))["s"] or ZERO
    if allocated + amount > line.amount:
        raise ValidationError(
            {
                "amount": _("Only %(left)s euro of this payment is still unallocated.")
                % {"left": line.amount - allocated}
            }
        )
    if invoice.kind == InvoiceKind.CREDIT_NOTE:
        raise ValidationError({"invoice": _("A payment is not allocated to a credit note.")})
    return Allocation.objects.create(
        bank_line=line,
        invoice=invoice,
        amount=amount,
        allocated_by=by,
        payer_name=line.counterparty_name,
        third_party=is_third_party(line.counterparty_name, invoice.operator) if third_party is None else third_party,
    )


@transaction.atomic
def allocation_reverse(*, allocation: Allocation, by: Any) -> Allocation:
    """Undo an allocation by its opposite; the line goes back to the queue for what it frees."""
    if allocation.amount <= 0 or hasattr(allocation, "reversal"):
        raise ValidationError(_("This allocation cannot be reversed."))
    BankLine.objects.select_for_update().get(pk=allocation.bank_line_id)
    return Allocation.objects.create(
        bank_line=allocation.bank_line,
        invoice=allocation.invoice,
        amount=-allocation.amount,
        allocated_by=by,
        payer_name=allocation.payer_name,
        third_party=allocation.third_party,
        reverses=allocation,
    )


def reminders_send(*, today: datetime.date | None = None, every_days: int = 14) -> int:
    """E-mail each operator with overdue invoices, in its language, with the interest accrued (D7). An operator
    is reminded again only ``every_days`` after its last reminder."""
    today = today or timezone.localdate()
    messages, reminded = [], []
    for operator, invoices in overdue_by_operator(today).items():
        last = Reminder.objects.filter(operator=operator).order_by("-sent_on").first()
        if last and (today - last.sent_on).days < every_days:
            continue
        statement = account_statement(operator, today=today)
        with translation.override(email_language(operator.language)):
            subject = _("FAMHP: overdue contributions") + f" — {operator.name}"
            body = render_to_string(
                "payments/email/reminder.txt", {"operator": operator, "statement": statement, "overdue": invoices}
            )
        messages.append(EmailMessage(subject=subject, body=body, to=[operator.contact_email]))
        reminded.append(
            Reminder(operator=operator, sent_on=today, amount=statement.outstanding, interest=statement.interest)
        )
    if messages:
        with get_connection() as connection:
            connection.send_messages(messages)
        Reminder.objects.bulk_create(reminded)
    return len(messages)
