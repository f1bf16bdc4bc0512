"""The workplace's reads: each composes the domain apps' selectors and models, and computes no amount itself
(amounts come from the assessment runs, the invoices and the allocations; budgets from famhp.rules)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils.translation import gettext_lazy as _

from famhp.billing.models import AssessmentRun, Invoice, InvoiceKind, OperatorAssessment, YearSettings, YearState
from famhp.billing.selectors import year_parameters, year_status
from famhp.billing.services import latest_run, run_changes
from famhp.declarations.models import Campaign, Declaration, DeclarationVersion, Invitation
from famhp.payments.models import Allocation, Refund, Reminder
from famhp.payments.selectors import (
    STATUS_LABELS,
    account_balance,
    account_balances,
    account_statement,
    paid_to_account_on,
    status_of,
    with_carried,
    with_paid,
)
from famhp.registry.models import Operator
from famhp.registry.selectors import operators_must_declare
from famhp.rules import InvalidInput, YearAssessment
from famhp.rules.money import ZERO_EUR
from famhp.workplace.lists import CREDITED, open_on

#: What comes next in each step of the year (ADR 11), in the finance officer's words.
NEXT_STEP = {
    YearState.SETTINGS: _("Open the campaign of the year."),
    YearState.CAMPAIGN_OPEN: _("Send the invitations to declare."),
    YearState.DECLARATIONS: _(
        "Remind those who have not declared; after the deadline run the assessment and issue the activity-tax notices."
    ),
    YearState.ACTIVITY_TAX_NOTICES: _("Record the closing decision of the year (lowered rate or not lowered)."),
    YearState.CLOSING_DECIDED: _("Run the assessment again, then issue the turnover-levy invoices."),
    YearState.LEVY_INVOICED: _("Import bank statements, allocate the queue, remind late payers; then close the year."),
    YearState.CORRECTIONS: _("Apply the pending corrections after invoicing, then close the year."),
    YearState.CLOSED: _("Nothing: the year is closed."),
}

#: Days past the due date, per ageing bucket (lower bound, upper bound or None, label).
AGEING = (
    (1, 30, _("1–30 days")),
    (31, 60, _("31–60 days")),
    (61, 90, _("61–90 days")),
    (91, None, _("over 90 days")),
)


def years() -> list[int]:
    """Every contribution year the agency has set up or opened, newest first."""
    known = set(YearSettings.objects.values_list("year", flat=True)) | set(
        Campaign.objects.values_list("year", flat=True)
    )
    return sorted(known, reverse=True)


def default_year() -> int | None:
    known = years()
    return known[0] if known else None


# --- the dashboard -------------------------------------------------------------------------------------------


@dataclass
class CampaignFigures:
    must_declare: int = 0
    invited: int = 0
    on_time: int = 0
    late: int = 0
    corrected: int = 0
    not_declared: int = 0
    per_day: list[tuple[datetime.date, int]] = field(default_factory=list)
    deadline: datetime.date | None = None


def campaign_figures(year: int) -> CampaignFigures:
    campaign = Campaign.objects.filter(year=year).first()
    must = operators_must_declare(year)
    figures = CampaignFigures(must_declare=must.count())
    if campaign is None:
        figures.not_declared = figures.must_declare
        return figures
    figures.deadline = campaign.deadline
    figures.invited = Invitation.objects.filter(campaign=campaign).count()
    declarations = Declaration.objects.filter(campaign=campaign).annotate(
        versions_count=Count("versions"),
        first_late=Count("versions", filter=Q(versions__number=1, versions__late=True)),
    )
    for declaration in declarations.values("versions_count", "first_late"):
        if declaration["first_late"]:
            figures.late += 1
        else:
            figures.on_time += 1
        if declaration["versions_count"] > 1:
            figures.corrected += 1
    figures.not_declared = must.exclude(declarations__campaign=campaign).count()
    first_versions = DeclarationVersion.objects.filter(declaration__campaign=campaign, number=1)
    figures.per_day = [
        (row["day"], row["n"])
        for row in first_versions.annotate(day=TruncDate("submitted_at"))
        .values("day")
        .annotate(n=Count("pk"))
        .order_by("day")
    ]
    return figures


@dataclass
class MoneyFigures:
    assessed: Decimal = ZERO_EUR
    invoiced: Decimal = ZERO_EUR
    credited: Decimal = ZERO_EUR
    paid: Decimal = ZERO_EUR
    outstanding: Decimal = ZERO_EUR
    overdue: Decimal = ZERO_EUR
    not_yet_due: Decimal = ZERO_EUR
    ageing: list[tuple[str, Decimal, int]] = field(default_factory=list)
    activity_tax_budget: Decimal | None = None
    notices: Decimal = ZERO_EUR
    levy_budget: Decimal | None = None
    levies: Decimal = ZERO_EUR
    #: paid on the year's invoices beyond what they ask: an overpayment, a payment on an invoice credited and
    #: not re-issued, what a correction's lower amount leaves (D8, D12); invoiced − credited − paid =
    #: outstanding − credit
    credit: Decimal = ZERO_EUR
    #: the accounts, all years (D12): credit balances now, paid to an account (not to an invoice), refunded
    accounts_credit: Decimal = ZERO_EUR
    to_accounts: Decimal = ZERO_EUR
    refunded: Decimal = ZERO_EUR


def _budgets(year: int) -> tuple[Decimal | None, Decimal | None]:
    """The activity-tax and turnover-levy budgets as famhp.rules splits the year's budget (D3, D5)."""
    settings = YearSettings.objects.filter(year=year).first()
    if settings is None:
        return None, None
    try:
        split = YearAssessment(parameters=year_parameters(settings), operators=[])
    except (InvalidInput, ValidationError):  # settings that do not resolve show no budget, never a guess
        return None, None
    return split.activity_tax_budget, split.turnover_levy_budget


def money_figures(year: int, *, today: datetime.date) -> MoneyFigures:
    figures = MoneyFigures()
    run = latest_run(year)
    if run is not None:
        figures.assessed = run.results.aggregate(s=Sum("total"))["s"] or ZERO_EUR
    invoices = Invoice.objects.filter(year=year)
    billed = invoices.exclude(kind=InvoiceKind.CREDIT_NOTE)
    figures.invoiced = billed.aggregate(s=Sum("total"))["s"] or ZERO_EUR
    figures.credited = abs(invoices.filter(kind=InvoiceKind.CREDIT_NOTE).aggregate(s=Sum("total"))["s"] or ZERO_EUR)
    figures.paid = Allocation.objects.filter(invoice__year=year).aggregate(s=Sum("amount"))["s"] or ZERO_EUR
    figures.notices = billed.filter(kind=InvoiceKind.ACTIVITY_TAX).aggregate(s=Sum("total"))["s"] or ZERO_EUR
    figures.levies = billed.filter(kind=InvoiceKind.TURNOVER_LEVY).aggregate(s=Sum("total"))["s"] or ZERO_EUR
    buckets: list[list[Any]] = [[label, ZERO_EUR, 0] for _low, _high, label in AGEING]
    # what the year's credited invoices were paid stays with the account (D12), except what a following invoice
    # counts as paid on it (D8: carried, up to its total)
    credited = with_paid(billed.exclude(credit_notes=None))
    late_on_credited = paid_to_account_on(set(credited.values_list("pk", flat=True)))
    figures.paid += late_on_credited  # paid to the account on a credited invoice's communication: paid on it
    figures.credit = (credited.aggregate(s=Sum("paid"))["s"] or ZERO_EUR) + late_on_credited
    live = with_paid(billed.filter(credit_notes=None))
    own = {invoice.pk: invoice.paid for invoice in live if invoice.follows_id}  # type: ignore[attr-defined]
    for invoice in with_carried(live):
        paid = invoice.paid  # type: ignore[attr-defined]
        if invoice.pk in own:
            figures.credit -= paid - own[invoice.pk]
        open_amount = invoice.total - paid
        if open_amount < 0:
            figures.credit -= open_amount
        if open_amount <= 0:
            continue
        figures.outstanding += open_amount
        late_days = (today - invoice.due_on).days
        if late_days <= 0:
            figures.not_yet_due += open_amount
            continue
        figures.overdue += open_amount
        for index, (low, high, _label) in enumerate(AGEING):
            if late_days >= low and (high is None or late_days <= high):
                buckets[index][1] += open_amount
                buckets[index][2] += 1
    figures.ageing = [(str(label), amount, count) for label, amount, count in buckets]
    figures.activity_tax_budget, figures.levy_budget = _budgets(year)
    figures.accounts_credit = -sum((b for b in account_balances().values() if b < 0), ZERO_EUR)
    figures.to_accounts = Allocation.objects.filter(invoice=None).aggregate(s=Sum("amount"))["s"] or ZERO_EUR
    figures.refunded = Refund.objects.aggregate(s=Sum("amount"))["s"] or ZERO_EUR
    return figures


@dataclass
class Dashboard:
    year: int
    status: Any
    next_step: str
    campaign: CampaignFigures
    money: MoneyFigures
    runs: int


def dashboard(year: int, *, today: datetime.date) -> Dashboard:
    status = year_status(year)
    return Dashboard(
        year=year,
        status=status,
        next_step=str(NEXT_STEP[YearState(status.state)]),
        campaign=campaign_figures(year),
        money=money_figures(year, today=today),
        runs=AssessmentRun.objects.filter(year=year, corrects=None).count(),
    )


# --- one operator ----------------------------------------------------------------------------------------------


@dataclass
class InvoiceRow:
    invoice: Invoice
    paid: Decimal
    status: str
    open_amount: Decimal
    #: neither credited nor a credit note: it may be credited
    live: bool = True


def operator_invoices(operator: Operator) -> list[InvoiceRow]:
    credited = set(Invoice.objects.filter(operator=operator).exclude(credits=None).values_list("credits_id", flat=True))
    rows = []
    for invoice in with_carried(
        with_paid(Invoice.objects.filter(operator=operator)).order_by("-year", "issued_on", "pk")
    ):
        paid: Decimal = invoice.paid  # type: ignore[attr-defined]
        status = status_of(invoice, paid, invoice.pk in credited)
        label = str(STATUS_LABELS.get(status, status))
        rows.append(InvoiceRow(invoice, paid, label, open_on(invoice, paid, status), status not in CREDITED))
    return rows


@dataclass
class OperatorPage:
    operator: Operator
    activities: list[Any]
    register_history: list[Any]
    declarations: list[tuple[Declaration, list[DeclarationVersion]]]
    invitations: list[Invitation]
    assessments: list[OperatorAssessment]
    invoices: list[InvoiceRow]
    allocations: list[Allocation]
    refunds: list[Refund]
    reminders: list[Reminder]
    balance: Decimal
    statement: Any
    audit: list[Any]
    emails: list[Any] = field(default_factory=list)


def operator_page(operator: Operator, *, today: datetime.date) -> OperatorPage:
    from famhp.accounts.models import AuditEvent

    declarations = []
    for declaration in (
        Declaration.objects.filter(operator=operator).select_related("campaign").order_by("-campaign__year")
    ):
        declarations.append((declaration, list(declaration.versions.order_by("-number"))))
    history = list(operator.history.order_by("-history_date")[:20])
    audit = list(AuditEvent.objects.filter(operator=operator).select_related("actor").order_by("-pk")[:30])
    return OperatorPage(
        operator=operator,
        activities=list(operator.activities.order_by("registered_on", "pk")),
        register_history=history,
        declarations=declarations,
        invitations=list(
            Invitation.objects.filter(operator=operator).select_related("campaign").order_by("-campaign__year")
        ),
        assessments=list(
            OperatorAssessment.objects.filter(operator=operator)
            .select_related("run")
            .order_by("-run__year", "-run__created_at", "-pk")[:10]
        ),
        invoices=operator_invoices(operator),
        allocations=list(
            Allocation.objects.filter(Q(invoice__operator=operator) | Q(invoice__isnull=True, operator=operator))
            .select_related("bank_line", "invoice")
            .order_by("-bank_line__booked_on", "-pk")
        ),
        refunds=list(Refund.objects.filter(operator=operator).order_by("-recorded_on", "-pk")),
        reminders=list(Reminder.objects.filter(operator=operator).order_by("-sent_on", "-pk")),
        balance=account_balance(operator),
        statement=account_statement(operator, today=today),
        audit=audit,
        emails=emails_of(operator),
    )


def emails_of(operator: Operator) -> list[Any]:
    """The workplace's e-mails to the operator (invitations, reminders, links sent again, invoices), each with
    its outcome, newest first."""
    from famhp.workplace.models import ItemDone

    invoices = [f"invoice:{pk}" for pk in Invoice.objects.filter(operator=operator).values_list("pk", flat=True)]
    return list(
        ItemDone.objects.filter(Q(item=f"operator:{operator.pk}") | Q(item__in=invoices))
        .select_related("action")
        .order_by("-at", "-pk")[:50]
    )


# --- assessment runs -------------------------------------------------------------------------------------------


@dataclass
class RunTotals:
    operators: int
    liable: int
    exempt: int
    default_assessments: int
    levy_pending: int
    entities: int
    activity_tax: Decimal
    turnover_levy: Decimal
    fine: Decimal
    total: Decimal


def run_totals(run: AssessmentRun) -> RunTotals:
    results = run.results.all()
    sums = results.aggregate(
        n=Count("pk"),
        liable=Count("pk", filter=Q(liable=True)),
        exempt=Count("pk", filter=Q(exempt=True)),
        defaults=Count("pk", filter=Q(default_assessment=True)),
        pending=Count("pk", filter=Q(levy_pending=True)),
        entities=Sum("entities"),
        activity_tax=Sum("activity_tax"),
        turnover_levy=Sum("turnover_levy"),
        fine=Sum("fine"),
        total=Sum("total"),
    )
    return RunTotals(
        operators=sums["n"],
        liable=sums["liable"],
        exempt=sums["exempt"],
        default_assessments=sums["defaults"],
        levy_pending=sums["pending"],
        entities=sums["entities"] or 0,
        activity_tax=sums["activity_tax"] or ZERO_EUR,
        turnover_levy=sums["turnover_levy"] or ZERO_EUR,
        fine=sums["fine"] or ZERO_EUR,
        total=sums["total"] or ZERO_EUR,
    )


def previous_run(run: AssessmentRun) -> AssessmentRun | None:
    return (
        AssessmentRun.objects.filter(year=run.year, corrects=None, created_at__lte=run.created_at)
        .exclude(pk=run.pk)
        .filter(Q(created_at__lt=run.created_at) | Q(pk__lt=run.pk))
        .order_by("-created_at", "-pk")
        .first()
    )


def run_changes_against_previous(run: AssessmentRun) -> list[Any]:
    return run_changes(previous_run(run), run)


def runs_of(year: int) -> list[tuple[AssessmentRun, Decimal, int]]:
    runs = AssessmentRun.objects.filter(year=year, corrects=None).annotate(
        total=Sum("results__total"), n=Count("results")
    )
    return [(run, run.total or ZERO_EUR, run.n) for run in runs.order_by("-created_at", "-pk")]
