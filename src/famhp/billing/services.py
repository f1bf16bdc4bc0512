"""Assessment and invoicing: year settings, assessment runs, non-filers, invoices and credit notes."""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from famhp.billing.models import (
    NUMBER_PREFIX,
    AssessmentRun,
    FpsTurnover,
    Invoice,
    InvoiceKind,
    NumberSeries,
    OperatorAssessment,
    YearSettings,
)
from famhp.billing.ogm import structured_communication
from famhp.billing.selectors import year_parameters
from famhp.declarations.models import Campaign, DeclarationVersion
from famhp.registry.models import Operator
from famhp.registry.selectors import operators_must_declare, rules_operator, with_rules_inputs
from famhp.registry.services import RowError, normalise_enterprise_number
from famhp.rules import RULES_VERSION, InvalidInput, YearAssessment
from famhp.rules import Operator as RulesOperator
from famhp.rules import OperatorResult as RulesResult
from famhp.rules.money import ZERO, AmountError, parse_amount
from famhp.rules.parameters import PARAMETER_NAMES, ParameterValue, YearParameters, resolve_parameters
from famhp.rules.sanctions import late_interest

Progress = Callable[[int, int], None]


# --- year settings -------------------------------------------------------------------------------------------


def year_settings_from_builtin(year: int) -> YearSettings:
    """The year's settings filled from the built-in parameters; confirmed where a publication confirms them."""
    builtin = resolve_parameters(year)
    values = {name: builtin.values[name].value for name in PARAMETER_NAMES}
    settings = YearSettings(year=year, **values)
    settings.confirmed = [n for n, v in builtin.values.items() if v.confirmed and v.value is not None]
    settings.full_clean()
    settings.save()
    return settings


def parameters_used(settings: YearSettings, kind: str, *, with_fine: bool = False) -> set[str]:
    """Which parameters an invoice of ``kind`` depends on (D3; D4, D5; D7 when it carries a fine)."""
    if kind == InvoiceKind.ACTIVITY_TAX:
        return {"cost_per_entity"} if settings.cost_per_entity is not None else {"budget", "activity_tax_share"}
    if settings.effective_levy_rate is not None:
        rate = {"effective_levy_rate"}
    elif settings.budget is not None:
        # the lower of the computed rate (budget, share) and the maximum, where there is one
        rate = {"budget", "activity_tax_share", *({"max_levy_rate"} if settings.max_levy_rate is not None else ())}
    else:
        rate = {"max_levy_rate"}
    return {"exemption_threshold", *rate, *({"administrative_fine"} if with_fine else ())}


def unconfirmed_for(settings: YearSettings, kind: str, *, with_fine: bool = False) -> list[str]:
    return sorted(n for n in parameters_used(settings, kind, with_fine=with_fine) if n not in settings.confirmed)


@transaction.atomic
def cost_per_entity_fix(*, run: AssessmentRun) -> YearSettings:
    """The agency fixes the cost per entity of the year at the run's computed proposal (D3, FAQ 5)."""
    settings = YearSettings.objects.select_for_update().get(year=run.year)
    proposal = run.summary.get("cost_per_entity")
    if settings.cost_per_entity is not None:
        raise ValidationError(_("The cost per entity of %(year)s is already fixed.") % {"year": run.year})
    if proposal is None:
        raise ValidationError(_("This run computed no cost per entity."))
    settings.cost_per_entity = Decimal(proposal)
    settings.confirmed = sorted({*settings.confirmed, "cost_per_entity"})
    settings.save()
    return settings


# --- non-filers: the FPS Finance file ----------------------------------------------------------------------


def fps_turnover_import(*, year: int, data: bytes) -> tuple[int, list[RowError]]:
    """Import the FPS Finance turnover file (CSV: enterprise_number, total_turnover), all or nothing."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return 0, [RowError(1, "-", _("the file is not UTF-8 text"))]
    reader = csv.DictReader(io.StringIO(text), delimiter=";" if text.count(";") > text.count(",") else ",")
    if not reader.fieldnames or {"enterprise_number", "total_turnover"} - {f.strip() for f in reader.fieldnames}:
        return 0, [RowError(1, "enterprise_number, total_turnover", _("missing column"))]
    rows: dict[str, Decimal] = {}
    errors: list[RowError] = []
    for number, raw in enumerate(reader, start=2):
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        try:
            enterprise = normalise_enterprise_number(row["enterprise_number"])
        except ValidationError:
            errors.append(RowError(number, "enterprise_number", _("not a valid Belgian enterprise number")))
            continue
        try:
            amount = parse_amount(row["total_turnover"], max_places=2)
        except AmountError as error:
            errors.append(RowError(number, "total_turnover", str(error)))
            continue
        if enterprise in rows:
            errors.append(RowError(number, "enterprise_number", _("this enterprise appears twice")))
        rows[enterprise] = amount
    if errors:
        return 0, errors
    with transaction.atomic():
        FpsTurnover.objects.filter(year=year).delete()
        FpsTurnover.objects.bulk_create(
            FpsTurnover(year=year, enterprise_number=e, total_turnover=t) for e, t in rows.items()
        )
    return len(rows), []


# --- the assessment run --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunChange:
    operator: Operator
    before: Decimal | None
    after: Decimal | None


def assessment_run(*, year: int, progress: Progress | None = None) -> tuple[AssessmentRun, list[RunChange]]:
    """Assess every operator that must declare for ``year``: snapshot its activities and latest declaration
    (or, without one, the FPS Finance turnover: D6), run famhp.rules, store each result with its explanation,
    the parameters and the rules version. Returns the run and what changed since the previous run."""
    settings = YearSettings.objects.filter(year=year).first()
    if settings is None:
        raise ValidationError(_("No settings for %(year)s yet.") % {"year": year})
    if Invoice.objects.filter(year=year).exclude(kind=InvoiceKind.CREDIT_NOTE).exists():
        raise ValidationError(
            _("Invoices of %(year)s are issued: the assessment can no longer be run.") % {"year": year}
        )
    parameters = year_parameters(settings)
    latest: dict[int, DeclarationVersion] = {}
    versions = DeclarationVersion.objects.filter(declaration__campaign__year=year).select_related("declaration")
    for version in versions.order_by("declaration__operator_id", "-number"):
        latest.setdefault(version.declaration.operator_id, version)
    operators = list(with_rules_inputs(operators_must_declare(year), year))
    fps = dict(FpsTurnover.objects.filter(year=year).values_list("enterprise_number", "total_turnover"))
    subjects: list[RulesOperator] = []
    inputs: list[tuple[Operator, dict[str, Any]]] = []
    skipped: list[str] = []
    for index, operator in enumerate(operators, start=1):
        found = latest.get(operator.pk)
        if found is not None:
            subject = rules_operator(
                operator,
                year,
                total_turnover=found.total_turnover,
                levied_turnover=found.levied_turnover,
                declares_not_liable=found.not_liable,
            )
            source: dict[str, Any] = {"declaration_version": found.pk}
        elif operator.enterprise_number in fps:
            figure = fps[operator.enterprise_number]
            subject = rules_operator(operator, year, total_turnover=figure, levied_turnover=figure)._replace(
                declared=False
            )
            source = {"fps_total_turnover": str(figure)}
        else:
            skipped.append(operator.identifier)
            continue
        subjects.append(subject)
        inputs.append(
            (
                operator,
                {
                    **source,
                    "activities": [list(a) for a in subject.activities],
                    "self_control_guide": subject.self_control_guide,
                    "established_in_belgium": subject.established_in_belgium,
                    "active_in_belgium": subject.active_in_belgium,
                    "total_turnover": str(subject.total_turnover),
                    "levied_turnover": str(subject.levied_turnover),
                },
            )
        )
        if progress and index % 50 == 0:
            progress(index, len(operators))
    try:
        assessment = YearAssessment(parameters=parameters, operators=subjects)
    except InvalidInput as invalid:
        raise ValidationError([str(p) for p in invalid.problems]) from None
    previous = latest_run(year)
    with transaction.atomic():
        run = AssessmentRun.objects.create(
            year=year,
            rules_version=RULES_VERSION,
            parameters={
                n: {"value": None if v.value is None else str(v.value), "confirmed": v.confirmed}
                for n, v in parameters.values.items()
            },
            summary={
                "operators": len(subjects),
                "skipped_no_declaration_no_fps": skipped,
                "total_entities": assessment.total_entities,
                "cost_per_entity": None if assessment.cost_per_entity is None else str(assessment.cost_per_entity),
                "levy_rate": None if assessment.levy_rate is None else str(assessment.levy_rate),
                "explanation": [[line.rule, line.template, line.args] for line in assessment.explanation],
            },
        )
        OperatorAssessment.objects.bulk_create(
            _result_record(run, operator, snapshot, result)
            for (operator, snapshot), result in zip(inputs, assessment.operator_results(), strict=True)
        )
    if progress:
        progress(len(operators), len(operators))
    return run, run_changes(previous, run)


def _result_record(
    run: AssessmentRun, operator: Operator, snapshot: dict[str, Any], result: RulesResult
) -> OperatorAssessment:
    """An operator's result as stored: the amounts, and the explanation as (rule, template, arguments)."""
    return OperatorAssessment(
        run=run,
        operator=operator,
        inputs=snapshot,
        liable=result.liable,
        entities=result.entities,
        exempt=result.exempt,
        default_assessment=result.default_assessment,
        activity_tax=result.activity_tax,
        turnover_levy=result.turnover_levy,
        fine=result.fine,
        total=result.amount_due,
        explanation=[[line.rule, line.template, line.args] for line in result.explanation],
    )


def latest_run(year: int) -> AssessmentRun | None:
    """The year's latest full run (corrections of single operators after invoicing are not runs of the year)."""
    return AssessmentRun.objects.filter(year=year, corrects=None).order_by("-created_at", "-pk").first()


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


def run_changes(previous: AssessmentRun | None, run: AssessmentRun) -> list[RunChange]:
    if previous is None:
        return []
    before = {r.operator_id: r.total for r in previous.results.all()}
    after = {r.operator_id: r.total for r in run.results.all()}
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    operators = Operator.objects.in_bulk(changed)
    return [RunChange(operators[k], before.get(k), after.get(k)) for k in changed]


# --- invoices ------------------------------------------------------------------------------------------------


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
