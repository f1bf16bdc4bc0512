"""Credit notes and corrections after invoicing (RULES §8, D8)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from famhp.billing.models import (
    AssessmentRun,
    Invoice,
    InvoiceKind,
    OperatorAssessment,
    YearSettings,
)
from famhp.billing.selectors import year_parameters
from famhp.billing.services.invoices import _create, invoice_lines
from famhp.billing.services.runs import _result_record
from famhp.declarations.models import DeclarationVersion
from famhp.registry.models import Operator
from famhp.registry.selectors import rules_operator
from famhp.rules import RULES_VERSION, YearAssessment
from famhp.rules.parameters import ParameterValue, YearParameters


def operator_reassess(*, run: AssessmentRun, operator: Operator) -> OperatorAssessment:
    """Assess one operator again after invoicing (a corrected declaration, a late one), with the cost per
    entity and the rate that the run applied: the year's other operators are not touched (RULES §8)."""
    base = YearSettings.objects.get(year=run.year)
    parameters = year_parameters(base)
    applied = {
        "cost_per_entity": Decimal(run.summary["cost_per_entity"]) if run.summary.get("cost_per_entity") else None,
        "effective_levy_rate": Decimal(run.summary["levy_rate"]) if run.summary.get("levy_rate") else None,
    }
    values = dict(parameters.values)
    for name, value in applied.items():
        values[name] = ParameterValue(value, f"applied by assessment run {run.pk}", True)
    fixed = YearParameters(year=run.year, values=values)
    version = (
        DeclarationVersion.objects.filter(declaration__campaign__year=run.year, declaration__operator=operator)
        .order_by("-number")
        .first()
    )
    if version is None:
        raise ValidationError(
            _("%(operator)s has no declaration for %(year)s.") % {"operator": operator, "year": run.year}
        )
    subject = rules_operator(
        operator,
        run.year,
        total_turnover=version.total_turnover,
        levied_turnover=version.levied_turnover,
        declares_not_liable=version.not_liable,
    )
    result = YearAssessment(parameters=fixed, operators=[subject]).result().operators[0]
    with transaction.atomic():
        correction = AssessmentRun.objects.create(
            year=run.year,
            corrects=run,
            rules_version=RULES_VERSION,
            parameters=run.parameters,
            summary={**run.summary, "operators": 1, "correction_for": operator.identifier},
        )
        snapshot = {
            "declaration_version": version.pk,
            "total_turnover": str(subject.total_turnover),
            "levied_turnover": str(subject.levied_turnover),
        }
        record = _result_record(correction, operator, snapshot, result)
        record.save(force_insert=True)
        return record


@transaction.atomic
def credit_note_issue(*, invoice: Invoice, reason: str, issued_on: datetime.date | None = None) -> Invoice:
    """Cancel an issued invoice in full by a credit note that refers to it (RULES §8)."""
    if invoice.kind == InvoiceKind.CREDIT_NOTE:
        raise ValidationError(_("A credit note is not credited."))
    if Invoice.objects.filter(credits=invoice).exists():
        raise ValidationError(_("This invoice is already credited."))
    if not reason.strip():
        raise ValidationError(_("A credit note states its reason."))
    return _create(
        year=invoice.year,
        kind=InvoiceKind.CREDIT_NOTE,
        operator=invoice.operator,
        lines=invoice.lines,
        issued_on=issued_on or timezone.localdate(),
        due_days=0,
        parameters=invoice.parameters,
        rules_version=invoice.rules_version,
        assessment=invoice.assessment,
        credits=invoice,
        reason=reason,
    )


@transaction.atomic
def invoice_correct(
    *, invoice: Invoice, result: OperatorAssessment, reason: str, issued_on: datetime.date | None = None
) -> tuple[Invoice, Invoice]:
    """A correction: a credit note for the invoice, then a new invoice from ``result`` (RULES §8)."""
    credit = credit_note_issue(invoice=invoice, reason=reason, issued_on=issued_on)
    settings = YearSettings.objects.get(year=invoice.year)
    due_days = settings.activity_tax_due_days if invoice.kind == InvoiceKind.ACTIVITY_TAX else settings.levy_due_days
    new = _create(
        year=invoice.year,
        kind=invoice.kind,
        operator=invoice.operator,
        lines=invoice_lines(result, invoice.kind),
        issued_on=issued_on or timezone.localdate(),
        due_days=due_days,
        parameters=result.run.parameters,
        rules_version=result.run.rules_version,
        assessment=result,
        follows=credit,
        reason=reason,
    )
    return credit, new
