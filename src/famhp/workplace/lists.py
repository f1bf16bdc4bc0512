"""The workplace's lists: operators, declarations, invoices and bank lines, each filtered and searched by the
query string, shown a page at a time and exported whole (CSV, XLSX) with the same filters. Statuses are the
domain's own (payments.selectors.status_of), never typed in."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from famhp.billing.models import Invoice, InvoiceKind
from famhp.declarations.models import Declaration, DeclarationVersion
from famhp.payments.models import Allocation, BankLine
from famhp.payments.selectors import STATUS_LABELS, credited_ids, status_of, unmatched_lines, with_carried, with_paid
from famhp.registry.models import Operator
from famhp.registry.selectors import operators_must_declare
from famhp.rules.money import ZERO_EUR

#: An invoice's derived status that asks for no more money: credited by a credit note, or a credit note itself.
CREDITED = frozenset({"credited", "credit_note"})


def open_on(invoice: Invoice, paid: Decimal, status: str) -> Decimal:
    """What the workplace shows as still open on an invoice: nothing once credited or on a credit note, else its
    total less what is paid (below zero when overpaid)."""
    return ZERO_EUR if status in CREDITED else invoice.total - paid


@dataclass(frozen=True)
class Column:
    key: str
    label: Any
    numeric: bool = False


@dataclass(frozen=True)
class Filter:
    name: str
    label: Any
    choices: tuple[tuple[str, Any], ...]


@dataclass
class Listing:
    name: str
    title: Any
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]]
    filters: tuple[Filter, ...]
    search_help: Any


def _search(params: dict[str, str]) -> str:
    return params.get("q", "").strip()[:100]


def _year(params: dict[str, str], default: int | None) -> int | None:
    try:
        return int(params.get("year") or default or 0) or None
    except ValueError:
        return default


# --- operators ---------------------------------------------------------------------------------------------------


def operators_listing(params: dict[str, str], *, year: int | None) -> Listing:
    year = _year(params, year)
    operators: QuerySet[Operator] = Operator.objects.order_by("name", "pk")
    if q := _search(params):
        operators = operators.filter(
            Q(name__icontains=q)
            | Q(enterprise_number__icontains=q)
            | Q(foreign_identifier__icontains=q)
            | Q(contact_email__icontains=q)
        )
    where = params.get("where", "")
    if where == "be":
        operators = operators.filter(established_in_belgium=True)
    elif where == "foreign":
        operators = operators.filter(established_in_belgium=False)
    must = set(operators_must_declare(year).values_list("pk", flat=True)) if year else set()
    declared = (
        set(Declaration.objects.filter(campaign__year=year).values_list("operator_id", flat=True)) if year else set()
    )
    campaign = params.get("campaign", "")
    if campaign == "must":
        operators = operators.filter(pk__in=must)
    elif campaign == "declared":
        operators = operators.filter(pk__in=declared)
    elif campaign == "not_declared":
        operators = operators.filter(pk__in=must - declared)
    billed = Invoice.objects.filter(operator=OuterRef("pk")).exclude(kind=InvoiceKind.CREDIT_NOTE)
    if year:
        billed = billed.filter(year=year)
    total = billed.values("operator").annotate(s=Sum("total")).values("s")
    operators = operators.annotate(invoiced=Coalesce(Subquery(total), Value(ZERO_EUR)))
    rows = [
        {
            "operator_id": o.pk,
            "name": o.name,
            "identifier": o.identifier,
            "where": _("Belgium") if o.established_in_belgium else o.country or _("abroad"),
            "email": o.contact_email,
            "language": o.language,
            "must_declare": _("yes") if o.pk in must else _("no"),
            "declared": _("yes") if o.pk in declared else (_("no") if o.pk in must else "—"),
            "invoiced": o.invoiced,
        }
        for o in operators
    ]
    return Listing(
        name="operators",
        title=_("Operators"),
        columns=(
            Column("name", _("Name")),
            Column("identifier", _("Enterprise number or identifier")),
            Column("where", _("Established in")),
            Column("email", _("Contact e-mail")),
            Column("language", _("Language")),
            Column("must_declare", _("Must declare")),
            Column("declared", _("Declared")),
            Column("invoiced", _("Invoiced"), numeric=True),
        ),
        rows=rows,
        filters=(
            Filter("where", _("Established"), (("", _("anywhere")), ("be", _("in Belgium")), ("foreign", _("abroad")))),
            Filter(
                "campaign",
                _("Campaign"),
                (
                    ("", _("all operators")),
                    ("must", _("must declare")),
                    ("declared", _("declared")),
                    ("not_declared", _("not declared")),
                ),
            ),
        ),
        search_help=_("Name, enterprise number, identifier or e-mail"),
    )


# --- declarations ---------------------------------------------------------------------------------------------


def declarations_listing(params: dict[str, str], *, year: int | None) -> Listing:
    year = _year(params, year)
    declarations = Declaration.objects.select_related("operator", "campaign").order_by("operator__name", "pk")
    if year:
        declarations = declarations.filter(campaign__year=year)
    if q := _search(params):
        declarations = declarations.filter(
            Q(operator__name__icontains=q)
            | Q(operator__enterprise_number__icontains=q)
            | Q(operator__foreign_identifier__icontains=q)
        )
    declarations = declarations.annotate(
        versions_count=Count("versions"),
        latest_number=Max("versions__number"),
        first_late=Count("versions", filter=Q(versions__number=1, versions__late=True)),
    )
    state = params.get("state", "")
    if state == "on_time":
        declarations = declarations.filter(first_late=0)
    elif state == "late":
        declarations = declarations.filter(first_late__gt=0)
    elif state == "corrected":
        declarations = declarations.filter(versions_count__gt=1)
    latest = {
        (v.declaration_id): v
        for v in DeclarationVersion.objects.filter(declaration__in=[d.pk for d in declarations]).order_by("number")
    }
    rows = []
    for d in declarations:
        version = latest.get(d.pk)
        rows.append(
            {
                "operator_id": d.operator_id,
                "year": d.campaign.year,
                "name": d.operator.name,
                "identifier": d.operator.identifier,
                "versions": d.versions_count,
                "late": _("late") if d.first_late else _("on time"),
                "submitted": version.submitted_at.date() if version else None,
                "total_turnover": version.total_turnover if version else None,
                "levied_turnover": version.levied_turnover if version else None,
                "certificate": version.pk if version else None,
            }
        )
    return Listing(
        name="declarations",
        title=_("Declarations"),
        columns=(
            Column("year", _("Year")),
            Column("name", _("Operator")),
            Column("identifier", _("Enterprise number or identifier")),
            Column("versions", _("Versions"), numeric=True),
            Column("late", _("Filed")),
            Column("submitted", _("Latest version submitted")),
            Column("total_turnover", _("Total turnover"), numeric=True),
            Column("levied_turnover", _("Levied turnover"), numeric=True),
        ),
        rows=rows,
        filters=(
            Filter(
                "state",
                _("Filed"),
                (("", _("all")), ("on_time", _("on time")), ("late", _("late")), ("corrected", _("corrected"))),
            ),
        ),
        search_help=_("Operator name, enterprise number or identifier"),
    )


# --- invoices --------------------------------------------------------------------------------------------------


def invoices_listing(params: dict[str, str], *, year: int | None, today: datetime.date) -> Listing:
    year = _year(params, year)
    invoices = with_paid(Invoice.objects.select_related("operator")).order_by("kind", "sequence")
    if year:
        invoices = invoices.filter(year=year)
    if kind := params.get("kind", ""):
        invoices = invoices.filter(kind=kind)
    if q := _search(params):
        invoices = invoices.filter(
            Q(number__icontains=q)
            | Q(operator__name__icontains=q)
            | Q(operator__enterprise_number__icontains=q)
            | Q(structured_communication__icontains=q.replace("+", "").replace("/", ""))
        )
    credited = credited_ids()
    wanted = params.get("status", "")
    rows = []
    for invoice in with_carried(invoices):
        paid: Decimal = invoice.paid  # type: ignore[attr-defined]
        status = status_of(invoice, paid, invoice.pk in credited)
        open_amount = open_on(invoice, paid, status)
        overdue_days = (today - invoice.due_on).days if open_amount > 0 and today > invoice.due_on else 0
        if wanted == "overdue":
            if not overdue_days:
                continue
        elif wanted == "open":
            if open_amount <= 0:
                continue
        elif wanted and status != wanted:
            continue
        rows.append(
            {
                "operator_id": invoice.operator_id,
                "invoice_id": invoice.pk,
                "number": invoice.number,
                "kind": invoice.get_kind_display(),
                "name": invoice.operator.name,
                "issued_on": invoice.issued_on,
                "due_on": invoice.due_on,
                "total": invoice.total,
                "paid": paid,
                "open": open_amount,
                "status": STATUS_LABELS.get(status, status),
                "overdue_days": overdue_days or None,
            }
        )
    return Listing(
        name="invoices",
        title=_("Invoices"),
        columns=(
            Column("number", _("Number")),
            Column("kind", _("Kind")),
            Column("name", _("Operator")),
            Column("issued_on", _("Issued on")),
            Column("due_on", _("Due on")),
            Column("total", _("Total"), numeric=True),
            Column("paid", _("Paid"), numeric=True),
            Column("open", _("Open amount"), numeric=True),
            Column("status", _("Status")),
            Column("overdue_days", _("Days overdue"), numeric=True),
        ),
        rows=rows,
        filters=(
            Filter("kind", _("Kind"), (("", _("all kinds")), *((k.value, k.label) for k in InvoiceKind))),
            Filter(
                "status",
                _("Status"),
                (("", _("all")), ("open", _("open")), ("overdue", _("overdue")), *STATUS_LABELS.items()),
            ),
        ),
        search_help=_("Number, structured communication, operator name or enterprise number"),
    )


# --- payments (bank lines) ---------------------------------------------------------------------------------------


def payments_listing(params: dict[str, str], *, year: int | None) -> Listing:
    lines = BankLine.objects.order_by("-booked_on", "-pk")
    if q := _search(params):
        lines = lines.filter(
            Q(counterparty_name__icontains=q)
            | Q(structured_communication__icontains=q)
            | Q(free_text__icontains=q)
            | Q(bank_reference__icontains=q)
        )
    queued = set(unmatched_lines().values_list("pk", flat=True))
    state = params.get("state", "")
    if state == "queue":
        lines = lines.filter(pk__in=queued)
    elif state == "settled":
        lines = lines.exclude(pk__in=queued)
    allocated = dict(
        Allocation.objects.filter(bank_line__in=lines)
        .values("bank_line")
        .annotate(s=Sum("amount"))
        .values_list("bank_line", "s")
    )
    operators = dict(
        Allocation.objects.filter(bank_line__in=lines)
        .exclude(invoice=None)
        .values_list("bank_line", "invoice__operator_id")
    )
    rows = [
        {
            "operator_id": operators.get(line.pk),
            "line_id": line.pk,
            "booked_on": line.booked_on,
            "amount": line.amount,
            "currency": line.currency,
            "payer": line.counterparty_name,
            "communication": line.structured_communication or line.free_text,
            "allocated": allocated.get(line.pk, ZERO_EUR),
            "state": _("in the queue") if line.pk in queued else _("settled"),
        }
        for line in lines
    ]
    return Listing(
        name="payments",
        title=_("Payments"),
        columns=(
            Column("booked_on", _("Booked on")),
            Column("amount", _("Amount"), numeric=True),
            Column("currency", _("Currency")),
            Column("payer", _("Payer")),
            Column("communication", _("Communication")),
            Column("allocated", _("Allocated"), numeric=True),
            Column("state", _("State")),
        ),
        rows=rows,
        filters=(
            Filter("state", _("State"), (("", _("all")), ("queue", _("in the queue")), ("settled", _("settled")))),
        ),
        search_help=_("Payer, communication or bank reference"),
    )


LISTINGS: dict[str, tuple[Callable[..., Listing], tuple[str, ...]]] = {
    "operators": (operators_listing, ("registry.view_operator",)),
    "declarations": (declarations_listing, ("declarations.view_declaration",)),
    "invoices": (invoices_listing, ("billing.view_invoice",)),
    "payments": (payments_listing, ("payments.view_bankline",)),
}
