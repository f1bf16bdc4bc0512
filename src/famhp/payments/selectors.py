"""Reads of payments: invoice status derived from allocations, the queue, refunds, the account statement."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import DecimalField, F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from famhp.billing.models import Invoice, InvoiceKind, YearSettings
from famhp.payments.models import Allocation, BankLine
from famhp.registry.models import Operator
from famhp.rules.money import ZERO
from famhp.rules.sanctions import late_interest

STATUS_LABELS = {
    "unpaid": _("unpaid"),
    "partly_paid": _("partly paid"),
    "paid": _("paid"),
    "overpaid": _("overpaid"),
    "credited": _("credited"),
    "credit_note": _("credit note"),
}


def with_paid(invoices: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """Annotate ``paid`` (the sum of allocations) on each invoice."""
    paid = Allocation.objects.filter(invoice=OuterRef("pk")).values("invoice").annotate(s=Sum("amount")).values("s")
    return invoices.annotate(
        paid=Coalesce(
            Subquery(paid, output_field=DecimalField(max_digits=14, decimal_places=2)),
            Value(ZERO),
            output_field=DecimalField(max_digits=14, decimal_places=2),
        )
    )


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
    paid = Allocation.objects.filter(invoice=invoice).aggregate(s=Sum("amount"))["s"] or ZERO
    return status_of(invoice, paid, Invoice.objects.filter(credits=invoice).exists())


def unmatched_lines() -> QuerySet[BankLine]:
    """The staff queue: incoming payments not (fully) allocated."""
    allocated = (
        Allocation.objects.filter(bank_line=OuterRef("pk")).values("bank_line").annotate(s=Sum("amount")).values("s")
    )
    money: DecimalField[Decimal, Decimal] = DecimalField(max_digits=14, decimal_places=2)
    return (
        BankLine.objects.filter(amount__gt=0)
        .annotate(allocated=Coalesce(Subquery(allocated, output_field=money), Value(ZERO), output_field=money))
        .exclude(allocated__gte=F("amount"))
        .order_by("booked_on", "pk")
    )


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
class Statement:
    operator: Operator
    today: datetime.date
    rows: list[Row] = field(default_factory=list)
    outstanding: Decimal = ZERO
    interest: Decimal = ZERO
    interest_lines: list[tuple[Invoice, int, Decimal]] = field(default_factory=list)

    @property
    def balance(self) -> Decimal:
        return self.rows[-1].balance if self.rows else ZERO


def account_statement(operator: Operator, *, today: datetime.date) -> Statement:
    """Invoices, credit notes and payments in date order with the running balance (positive: owed to the FAMHP),
    and the interest accrued on what is overdue (D7: per started calendar month after the due date)."""
    invoices = list(with_paid(Invoice.objects.filter(operator=operator)).select_related("credits"))
    credited = {i.credits_id for i in invoices if i.credits_id}
    rates = dict(YearSettings.objects.values_list("year", "late_interest_rate"))
    statement = Statement(operator, today)
    events: list[tuple[datetime.date, int, Row]] = []
    for invoice in invoices:
        status = status_of(invoice, invoice.paid, invoice.pk in credited)  # type: ignore[attr-defined]
        if invoice.kind == InvoiceKind.CREDIT_NOTE:
            events.append(
                (
                    invoice.issued_on,
                    1,
                    Row(invoice.issued_on, "credit_note", invoice.number, credit=invoice.total, status=status),
                )
            )
        else:
            events.append(
                (
                    invoice.issued_on,
                    0,
                    Row(invoice.issued_on, invoice.kind, invoice.number, debit=invoice.total, status=status),
                )
            )
            outstanding = invoice.total - invoice.paid  # type: ignore[attr-defined]
            rate = rates.get(invoice.year)
            if invoice.pk not in credited and outstanding > 0 and invoice.due_on < today and rate:
                late = late_interest(amount=outstanding, due=invoice.due_on, until=today, monthly_rate=rate)
                statement.interest += late.amount
                statement.interest_lines.append((invoice, late.months, late.amount))
    for allocation in Allocation.objects.filter(invoice__operator=operator).select_related("bank_line", "invoice"):
        line = allocation.bank_line
        row = Row(line.booked_on, "payment", f"{allocation.invoice.number} · {allocation.payer_name}".strip(" ·"))
        if allocation.amount > 0:
            row.credit = allocation.amount
        else:
            row.debit = -allocation.amount
        events.append((line.booked_on, 2, row))
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
    credited = set(Invoice.objects.exclude(credits=None).values_list("credits_id", flat=True))
    candidates = with_paid(
        Invoice.objects.exclude(kind=InvoiceKind.CREDIT_NOTE).filter(due_on__lt=today)
    ).select_related("operator")
    for invoice in candidates:
        if invoice.pk not in credited and invoice.paid < invoice.total:  # type: ignore[attr-defined]
            overdue[invoice.operator].append(invoice)
    return dict(overdue)


def overpaid() -> list[tuple[Invoice, Decimal, BankLine | None]]:
    """Invoices paid more than their total, with the excess and the last payment (whose account is refunded)."""
    rows = []
    for invoice in with_paid(Invoice.objects.exclude(kind=InvoiceKind.CREDIT_NOTE)).select_related("operator"):
        if invoice.paid > invoice.total:  # type: ignore[attr-defined]
            last = (
                Allocation.objects.filter(invoice=invoice, amount__gt=0)
                .select_related("bank_line")
                .order_by("-bank_line__booked_on", "-pk")
                .first()
            )
            rows.append((invoice, invoice.paid - invoice.total, last.bank_line if last else None))  # type: ignore[attr-defined]
    return rows
