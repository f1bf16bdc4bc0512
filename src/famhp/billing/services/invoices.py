"""Invoices: numbers without gaps, the lines an assessment puts on an invoice, issuing a run's invoices."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from famhp.billing.models import (
    NUMBER_PREFIX,
    AssessmentRun,
    Invoice,
    InvoiceKind,
    NumberSeries,
    OperatorAssessment,
    YearSettings,
)
from famhp.billing.ogm import structured_communication
from famhp.billing.services.runs import Progress, latest_run
from famhp.billing.services.years import unconfirmed_for
from famhp.declarations.models import Campaign
from famhp.registry.models import Operator
from famhp.rules.money import ZERO
from famhp.rules.sanctions import late_interest


def _reserve(year: int, kind: str, count: int = 1) -> int:
    """Reserve ``count`` numbers of the series under a row lock; returns the first. Numbers follow without gaps:
    a transaction of the caller that rolls back returns them."""
    series, _created = NumberSeries.objects.get_or_create(year=year, kind=kind)
    series = NumberSeries.objects.select_for_update().get(pk=series.pk)
    first = series.last + 1
    series.last += count
    series.save(update_fields=["last"])
    return first


def _debtor(operator: Operator) -> dict[str, Any]:
    return {
        "name": operator.name,
        "identifier": operator.identifier,
        "enterprise_number": operator.enterprise_number,
        "street": operator.street,
        "postal_code": operator.postal_code,
        "city": operator.city,
        "country": operator.country,
        "email": operator.contact_email,
    }


def _line(description: str, amount: Decimal, rule: str, explanation: list[Any] | None = None) -> dict[str, Any]:
    return {"description": description, "amount": str(amount), "rule": rule, "explanation": explanation or []}


def _build(
    *,
    year: int,
    kind: str,
    sequence: int,
    operator: Operator,
    lines: list[dict[str, Any]],
    issued_on: datetime.date,
    due_days: int,
    parameters: dict[str, Any],
    rules_version: str,
    assessment: OperatorAssessment | None,
    credits: Invoice | None = None,
    follows: Invoice | None = None,
    reason: str = "",
) -> Invoice:
    prefix = NUMBER_PREFIX[InvoiceKind(kind)]
    total = sum((Decimal(line["amount"]) for line in lines), ZERO)
    return Invoice(
        year=year,
        kind=kind,
        number=f"{prefix}{year}-{sequence:06d}",
        sequence=sequence,
        structured_communication=structured_communication(year=year, kind=kind, sequence=sequence),
        operator=operator,
        debtor=_debtor(operator),
        language=operator.language,
        issued_on=issued_on,
        due_on=issued_on + datetime.timedelta(days=due_days),
        total=total,
        lines=lines,
        parameters=parameters,
        rules_version=rules_version,
        assessment=assessment,
        credits=credits,
        follows=follows,
        reason=reason,
    )


def _create(**fields: Any) -> Invoice:
    """One invoice with the next number of its series, inside the caller's transaction."""
    invoice = _build(sequence=_reserve(fields["year"], fields["kind"]), **fields)
    invoice.save(force_insert=True)
    return invoice


def invoice_lines(
    result: OperatorAssessment, kind: str, *, interest: tuple[datetime.date, datetime.date, Decimal] | None = None
) -> list[dict[str, Any]]:
    """The lines an assessment puts on an invoice of ``kind``, each with its reason and explanation.

    A default assessment (D6) carries the fine and the interest of D7 on the turnover-levy invoice, each on
    its own line: ``interest`` is (declaration deadline, issue date, monthly rate)."""
    explanation = result.explanation
    if kind == InvoiceKind.ACTIVITY_TAX:
        rules = {"RULES §3", "D1", "D2", "D3"}
        return [_line("activity_tax", result.activity_tax, "D3", [e for e in explanation if e[0] in rules])]
    lines = [_line("turnover_levy", result.turnover_levy, "D5", [e for e in explanation if e[0] in {"D4", "D5", "D6"}])]
    if result.default_assessment and result.fine:
        lines.append(_line("administrative_fine", result.fine, "D7", [e for e in explanation if e[0] == "D7"]))
    if result.default_assessment and interest is not None and result.turnover_levy:
        deadline, issued_on, monthly_rate = interest
        late = late_interest(amount=result.turnover_levy, due=deadline, until=issued_on, monthly_rate=monthly_rate)
        if late.amount:
            lines.append(_line("late_interest", late.amount, "D7", [list(late.explanation)]))
    return lines


def _interest_terms(
    settings: YearSettings, year: int, issued_on: datetime.date
) -> tuple[datetime.date, datetime.date, Decimal] | None:
    """D7 for a non-filer: interest from the declaration deadline to the invoice, at the year's monthly rate."""
    campaign = Campaign.objects.filter(year=year).first()
    if campaign is None or settings.late_interest_rate is None:
        return None
    return campaign.deadline, issued_on, settings.late_interest_rate


def invoices_issue(
    *,
    run: AssessmentRun,
    kind: str,
    issued_on: datetime.date | None = None,
    progress: Progress | None = None,
    batch: int = 500,
) -> list[Invoice]:
    """Issue the ``kind`` invoices of a run: one per operator that owes something and has none yet.

    Refused while a parameter it uses is not confirmed by the agency (a clear message names them)."""
    settings = YearSettings.objects.get(year=run.year)
    with_fine = kind == InvoiceKind.TURNOVER_LEVY and run.results.filter(fine__gt=0).exists()
    missing = unconfirmed_for(settings, kind, with_fine=with_fine)
    if with_fine and "late_interest_rate" not in settings.confirmed:
        missing = sorted({*missing, "late_interest_rate"})
    if missing:
        raise ValidationError(
            _("These parameters of %(year)s are not confirmed yet, so no invoice can use them: %(names)s.")
            % {"year": run.year, "names": ", ".join(missing)}
        )
    latest = latest_run(run.year)
    if latest is None or latest.pk != run.pk:
        raise ValidationError(_("Only the latest assessment run of a year is invoiced."))
    issued_on = issued_on or timezone.localdate()
    due_days = settings.activity_tax_due_days if kind == InvoiceKind.ACTIVITY_TAX else settings.levy_due_days
    already = set(
        Invoice.objects.filter(year=run.year, kind=kind, credit_notes=None).values_list("operator_id", flat=True)
    )
    due = []
    interest = _interest_terms(settings, run.year, issued_on) if with_fine else None
    for result in run.results.select_related("operator").order_by("operator__name", "operator_id"):
        lines = invoice_lines(result, kind, interest=interest)
        if result.operator_id not in already and any(Decimal(line["amount"]) for line in lines):
            due.append((result, lines))
    issued: list[Invoice] = []
    for start in range(0, len(due), batch):
        chunk = due[start : start + batch]
        with transaction.atomic():  # a chunk's numbers and its invoices are written together, or neither
            first = _reserve(run.year, kind, len(chunk))
            invoices = [
                _build(
                    year=run.year,
                    kind=kind,
                    sequence=first + offset,
                    operator=result.operator,
                    lines=lines,
                    issued_on=issued_on,
                    due_days=due_days,
                    parameters=run.parameters,
                    rules_version=run.rules_version,
                    assessment=result,
                )
                for offset, (result, lines) in enumerate(chunk)
            ]
            issued.extend(Invoice.objects.bulk_create(invoices))
        if progress:
            progress(start + len(chunk), len(due))
    return issued
