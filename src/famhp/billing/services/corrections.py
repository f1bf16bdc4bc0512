"""Credit notes and corrections after invoicing (RULES §8, D8)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from famhp.billing.models import (
    AssessmentRun,
    FpsTurnover,
    Invoice,
    InvoiceKind,
    OperatorAssessment,
    YearSettings,
)
from famhp.billing.selectors import corrections_pending, live_invoices, year_parameters, year_settings_locked
from famhp.billing.services.invoices import (
    _create,
    _reserve,
    interest_for,
    invoice_lines,
    invoice_number,
    needs_interest,
)
from famhp.billing.services.runs import _result_record, latest_run, operator_subject
from famhp.declarations.models import DeclarationVersion
from famhp.registry.models import Operator
from famhp.rules import RULES_VERSION, YearAssessment
from famhp.rules.parameters import ParameterValue, YearParameters
from famhp.text import too_long, validate_one_line

#: the reason a person types for a credit note (the corrections' own reasons are famhp's)
REASON_MAX_LENGTH = 500


@transaction.atomic
def credit_note_issue(
    *,
    invoice: Invoice,
    reason: str,
    issued_on: datetime.date | None = None,
    declaration_version: DeclarationVersion | None = None,
) -> Invoice:
    """Cancel an issued invoice in full by a credit note that refers to it (RULES §8). Under the year's lock
    and the invoice's: a second attempt, repeated or concurrent, finds the credit note and is refused."""
    settings = YearSettings.objects.select_for_update().filter(year=invoice.year).first()
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if settings is not None and settings.closed_on is not None:
        # closed: no correction is pending and none is made (ADR 11), so a credit note could never be followed by
        # the invoice it would make way for
        raise ValidationError(
            _("%(year)s was closed on %(date)s: its invoices are no longer credited.")
            % {"year": invoice.year, "date": settings.closed_on}
        )
    if invoice.kind == InvoiceKind.CREDIT_NOTE:
        raise ValidationError(_("A credit note is not credited."))
    if Invoice.objects.filter(credits=invoice).exists():
        raise ValidationError(_("This invoice is already credited."))
    if not reason.strip():
        raise ValidationError(_("A credit note states its reason."))
    validate_one_line(reason)  # printed on the credit note, its PDF, UBL and e-mail: one line of plain text
    if long := too_long(reason, REASON_MAX_LENGTH):
        raise ValidationError(_("The reason of a credit note is too long: %(problem)s.") % {"problem": long})
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
        declaration_version=declaration_version,
        reason=reason,
    )


def operator_reassess(*, run: AssessmentRun, operator: Operator) -> OperatorAssessment:
    """Assess one operator again after invoicing (a corrected declaration, a late one, an FPS Finance figure
    that came since), with the year's fixed cost per entity and the rate that ``run`` applied: the year's other
    operators are not touched (RULES §8, D8). Stored as a correction run of one operator."""
    settings = YearSettings.objects.get(year=run.year)
    parameters = year_parameters(settings)
    cost = settings.cost_per_entity
    if cost is None and run.summary.get("cost_per_entity"):
        cost = Decimal(run.summary["cost_per_entity"])
    applied = {
        "cost_per_entity": cost,
        # the rate the year's invoices applied (D5 via famhp.rules' one rate rule), given as the applied rate
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
    figure = (
        FpsTurnover.objects.filter(year=run.year, enterprise_number=operator.enterprise_number)
        .values_list("total_turnover", flat=True)
        .first()
    )
    subject, snapshot = operator_subject(operator, run.year, version, figure)
    result = YearAssessment(parameters=fixed, operators=[subject]).result().operators[0]
    with transaction.atomic():
        correction = AssessmentRun.objects.create(
            year=run.year,
            corrects=run,
            rules_version=RULES_VERSION,
            parameters=run.parameters,
            summary={**run.summary, "operators": 1, "correction_for": operator.identifier},
        )
        record = _result_record(correction, operator, snapshot, result)
        record.save(force_insert=True)
        return record


@dataclass(frozen=True)
class Correction:
    """What a correction after invoicing issued for one operator and kind: a credit note and a new invoice, a
    new invoice after an earlier credit note, or nothing (``changed`` False) where no amount changes (D8)."""

    operator: Operator
    kind: str
    credit_note: Invoice | None
    invoice: Invoice | None

    @property
    def changed(self) -> bool:
        return self.invoice is not None or self.credit_note is not None


def _amounts(lines: list[dict[str, Any]]) -> list[tuple[str, Decimal]]:
    """The amounts a correction compares; interest follows the issue date, so it alone changes nothing (D10)."""
    return [
        (line["description"], Decimal(line["amount"]))
        for line in lines
        if line["description"] != "late_interest" and Decimal(line["amount"])
    ]


def _first_issued(invoice: Invoice | None) -> datetime.date | None:
    """The issue date of the first invoice of ``invoice``'s chain (invoice → credit note → next invoice): where
    a non-filer's interest ends on every correction of it (D8, D10)."""
    while invoice is not None and invoice.follows_id is not None:
        invoice = Invoice.objects.select_related("follows__credits").get(pk=invoice.pk).follows.credits  # type: ignore[union-attr]
    return invoice.issued_on if invoice is not None else None


def _fine_line(invoice: Invoice) -> dict[str, Any] | None:
    return next((line for line in invoice.lines if line["description"] == "administrative_fine"), None)


def _operator_correct(
    *, settings: YearSettings, run: AssessmentRun, operator: Operator, issued_on: datetime.date
) -> list[Correction]:
    record: OperatorAssessment | None = None
    done = []
    for kind in (InvoiceKind.ACTIVITY_TAX, InvoiceKind.TURNOVER_LEVY):
        live = live_invoices(settings.year, kind).filter(operator=operator).first()
        credited = (
            None
            if live
            else Invoice.objects.filter(
                year=settings.year,
                kind=InvoiceKind.CREDIT_NOTE,
                credits__kind=kind,
                operator=operator,
                followed_by=None,
            )
            .select_related("credits")
            .first()
        )
        issued = Invoice.objects.filter(year=settings.year, kind=kind).exists()
        if live is None and credited is None and not issued:
            continue  # the year's invoices of this kind are not out yet: issuing the run bills it
        old = live if live is not None else (credited.credits if credited is not None else None)
        record = record or operator_reassess(run=run, operator=operator)
        interest = interest_for(settings.year) if needs_interest(record, kind) else None
        kept = _fine_line(old) if old is not None else None
        lines = invoice_lines(
            record, kind, issued_on=issued_on, interest=interest, kept_fine=kept, interest_until=_first_issued(old)
        )
        version_pk = record.inputs.get("declaration_version")
        version = DeclarationVersion.objects.filter(pk=version_pk).first() if version_pk else None
        where = _("declaration version %(number)s") % {"number": version.number} if version else _("no declaration")
        due_days = settings.due_days(kind)
        fields = {
            "year": settings.year,
            "kind": kind,
            "operator": operator,
            "lines": lines,
            "issued_on": issued_on,
            "due_days": due_days,
            "parameters": run.parameters,
            "rules_version": record.run.rules_version,
            "assessment": record,
            "declaration_version": version,
        }
        if live is not None:
            if _amounts(lines) == _amounts(live.lines):
                done.append(Correction(operator, kind, None, None))
                continue
            if not _amounts(lines):  # nothing owed any more (exempt, not liable): the credit note alone
                credit = credit_note_issue(
                    invoice=live,
                    reason=_("Correction after invoicing (D8), %(where)s: nothing is due.") % {"where": where},
                    issued_on=issued_on,
                    declaration_version=version,
                )
                done.append(Correction(operator, kind, credit, None))
                continue
            sequence = _reserve(settings.year, kind)
            number = invoice_number(settings.year, kind, sequence)
            credit = credit_note_issue(
                invoice=live,
                reason=_("Correction after invoicing (D8), %(where)s: replaced by %(number)s.")
                % {"where": where, "number": number},
                issued_on=issued_on,
                declaration_version=version,
            )
            new = _create(
                sequence=sequence,
                follows=credit,
                reason=_("Correction after invoicing (D8), %(where)s: replaces %(old)s, credited by %(credit)s.")
                % {"where": where, "old": live.number, "credit": credit.number},
                **fields,
            )
            done.append(Correction(operator, kind, credit, new))
        elif credited is None:  # owed since the year's invoices went out (above the threshold now): a first one
            if not _amounts(lines):
                continue
            new = _create(reason=_("Invoice after invoicing (D8), %(where)s.") % {"where": where}, **fields)
            done.append(Correction(operator, kind, None, new))
        else:
            if not _amounts(lines):
                continue
            new = _create(
                follows=credited,
                reason=_("Invoice after the credit note %(credit)s (D8), %(where)s.")
                % {"credit": credited.number, "where": where},
                **fields,
            )
            done.append(Correction(operator, kind, None, new))
    return done


@transaction.atomic
def corrections_apply(
    *, year: int, operator: Operator | None = None, issued_on: datetime.date | None = None
) -> list[Correction]:
    """Corrections after invoicing (D8), for one operator or for every pending one of the year: reassess at the
    year's fixed cost per entity and applied rate; where an amount changes, a credit note for the issued invoice
    and a new invoice, referring to each other and to the declaration version; where nothing changes, nothing.
    A late declaration replaces a default assessment (credited, re-billed as a normal invoice); the fine stays,
    on its own line, flagged as an interpretation. All or nothing, under the year's lock (a repeated call finds
    nothing pending)."""
    settings = year_settings_locked(year)
    if settings.closed_on is not None:
        raise ValidationError(_("%(year)s is closed.") % {"year": year})
    run = latest_run(year)
    if run is None:
        raise ValidationError(_("%(year)s has no assessment run.") % {"year": year})
    if operator is not None:
        operators = [operator]
    else:
        seen: dict[int, Operator] = {}
        for pending in corrections_pending(year):
            seen.setdefault(pending.operator.pk, pending.operator)
        operators = list(seen.values())
    issued_on = issued_on or timezone.localdate()
    done = []
    for subject in operators:
        done.extend(_operator_correct(settings=settings, run=run, operator=subject, issued_on=issued_on))
    return done


@transaction.atomic
def invoice_correct(
    *, invoice: Invoice, result: OperatorAssessment, reason: str, issued_on: datetime.date | None = None
) -> tuple[Invoice, Invoice]:
    """A correction by the agency's own choice: a credit note for the invoice, then a new invoice from
    ``result`` that follows it (RULES §8)."""
    credit = credit_note_issue(invoice=invoice, reason=reason, issued_on=issued_on)
    settings = YearSettings.objects.get(year=invoice.year)
    due_days = settings.due_days(invoice.kind)
    issued_on = issued_on or timezone.localdate()
    interest = interest_for(invoice.year) if needs_interest(result, invoice.kind) else None
    new = _create(
        year=invoice.year,
        kind=invoice.kind,
        operator=invoice.operator,
        lines=invoice_lines(
            result,
            invoice.kind,
            issued_on=issued_on,
            interest=interest,
            kept_fine=_fine_line(invoice),
            interest_until=_first_issued(invoice),
        ),
        issued_on=issued_on,
        due_days=due_days,
        parameters=result.run.parameters,
        rules_version=result.run.rules_version,
        assessment=result,
        follows=credit,
        reason=reason,
    )
    return credit, new
