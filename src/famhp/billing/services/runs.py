"""Assessment runs: the FPS Finance file for non-filers (D6, D9), a run of the whole year, what changed."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple, Protocol

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from famhp.billing.models import (
    AssessmentRun,
    FpsTurnover,
    Invoice,
    InvoiceKind,
    OperatorAssessment,
    YearSettings,
)
from famhp.billing.selectors import year_parameters
from famhp.billing.services.rows import collector_paused, rows_insert
from famhp.declarations.models import DeclarationVersion
from famhp.registry.models import Operator
from famhp.registry.selectors import RulesInputs, rules_inputs_of_year, rules_operator
from famhp.registry.services import RowError, normalise_enterprise_number
from famhp.rules import RULES_VERSION, InvalidInput, YearAssessment
from famhp.rules import Operator as RulesOperator
from famhp.rules import OperatorResult as RulesResult
from famhp.rules.money import ZERO, AmountError, parse_amount

Progress = Callable[[int, int], None]


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
    try:
        rows_read = list(enumerate(reader, start=2))
    except csv.Error as error:  # a field over the csv module's limit, a quote never closed …
        return 0, [RowError(reader.line_num, "-", _("the file cannot be read as CSV: %(error)s") % {"error": error})]
    for number, raw in rows_read:
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


class ChangedOperator(NamedTuple):
    """What a run's change shows of its operator (no model instance: a new rate changes nearly everyone)."""

    pk: int
    name: str
    enterprise_number: str | None
    country: str
    foreign_identifier: str

    @property
    def identifier(self) -> str:
        """As ``Operator.identifier``: the enterprise number, or COUNTRY-identifier for a foreign operator."""
        return self.enterprise_number or f"{self.country}-{self.foreign_identifier}"


@dataclass(frozen=True)
class RunChange:
    operator: ChangedOperator
    before: Decimal | None
    after: Decimal | None


#: D9: the explanation of a non-filer without any figure, in place of the exemption and default lines.
LEVY_PENDING = gettext_noop(
    "Turnover levy pending: no declaration and no FPS Finance figure; the activity tax and the fine are due, "
    "the turnover levy is assessed once a figure exists (D9)."
)


class DeclaredFigures(Protocol):
    """What an assessment reads of a declaration version: a model instance, or the run's ``Figures`` row."""

    @property
    def pk(self) -> Any: ...
    @property
    def total_turnover(self) -> Decimal: ...
    @property
    def levied_turnover(self) -> Decimal: ...
    @property
    def not_liable(self) -> bool: ...


class Figures(NamedTuple):
    """An operator's latest declaration version as the year's run reads it: one row of one query for all."""

    pk: int
    total_turnover: Decimal
    levied_turnover: Decimal
    not_liable: bool


def latest_figures(year: int) -> dict[int, Figures]:
    """Each operator's latest declaration version of ``year``, by operator id: one query for the year."""
    latest: dict[int, Figures] = {}
    versions = DeclarationVersion.objects.filter(declaration__campaign__year=year).order_by(
        "declaration__operator_id", "-number"
    )
    for operator_id, pk, total, levied, not_liable in versions.values_list(
        "declaration__operator_id", "pk", "total_turnover", "levied_turnover", "not_liable"
    ):
        if operator_id not in latest:
            latest[operator_id] = Figures(pk, total, levied, not_liable)
    return latest


def operator_subject(
    operator: Operator | RulesInputs, year: int, version: DeclaredFigures | None, fps_figure: Decimal | None
) -> tuple[RulesOperator, dict[str, Any]]:
    """What famhp.rules assesses for an operator, and the snapshot stored with its result: its latest declaration
    version; without one, the FPS Finance figure as both figures (D6); without either, no figure (D9): the
    activity tax and the fine, the levy pending (``"levy_pending": True`` in the snapshot)."""
    source: dict[str, Any]
    if version is not None:
        subject = rules_operator(
            operator,
            year,
            total_turnover=version.total_turnover,
            levied_turnover=version.levied_turnover,
            declares_not_liable=version.not_liable,
        )
        source = {"declaration_version": version.pk}
    elif fps_figure is not None:
        subject = rules_operator(operator, year, total_turnover=fps_figure, levied_turnover=fps_figure)
        subject = subject._replace(declared=False)
        source = {"fps_total_turnover": str(fps_figure)}
    else:
        subject = rules_operator(operator, year, total_turnover=ZERO, levied_turnover=ZERO)._replace(declared=False)
        source = {"levy_pending": True}
    snapshot = {
        **source,
        "activities": [list(a) for a in subject.activities],
        "self_control_guide": subject.self_control_guide,
        "established_in_belgium": subject.established_in_belgium,
        "active_in_belgium": subject.active_in_belgium,
        "total_turnover": str(subject.total_turnover),
        "levied_turnover": str(subject.levied_turnover),
    }
    return subject, snapshot


@collector_paused()
def assessment_run(*, year: int, progress: Progress | None = None) -> tuple[AssessmentRun, list[RunChange]]:
    """Assess every operator that must declare for ``year``: snapshot its activities and latest declaration
    (or, without one, the FPS Finance turnover: D6; without either, no figure: D9), run famhp.rules, store each
    result with its explanation, the parameters and the rules version. Returns the run and what changed since
    the previous run.

    It can be rerun after the activity-tax notices (to pick up the closing decision for the levy): the cost per
    entity is then fixed in the settings, and issued notices are never changed (a difference is a correction
    after invoicing, D8). Once turnover-levy invoices are out, corrections go through ``billing correct``."""
    settings = YearSettings.objects.filter(year=year).first()
    if settings is None:
        raise ValidationError(_("No settings for %(year)s yet.") % {"year": year})
    if Invoice.objects.filter(year=year, kind=InvoiceKind.TURNOVER_LEVY).exists():
        raise ValidationError(
            _(
                "Turnover-levy invoices of %(year)s are issued: the year is no longer assessed as a whole; "
                "corrections after invoicing go through the correction action (D8)."
            )
            % {"year": year}
        )
    notices_out = Invoice.objects.filter(year=year, kind=InvoiceKind.ACTIVITY_TAX).exists()
    if notices_out and settings.cost_per_entity is None:
        raise ValidationError(
            _("Activity-tax notices of %(year)s are issued but its cost per entity is not fixed.") % {"year": year}
        )
    parameters = year_parameters(settings)
    latest = latest_figures(year)
    operators = rules_inputs_of_year(year)
    fps = dict(FpsTurnover.objects.filter(year=year).values_list("enterprise_number", "total_turnover"))
    subjects: list[RulesOperator] = []
    inputs: list[tuple[int, dict[str, Any]]] = []  # the operator's key, not the operator: memory at 100,000
    pending: list[str] = []
    for index, operator in enumerate(operators, start=1):
        subject, snapshot = operator_subject(
            operator, year, latest.get(operator.pk), fps.get(operator.enterprise_number or "")
        )
        if snapshot.get("levy_pending"):
            pending.append(operator.identifier)
        subjects.append(subject)
        inputs.append((operator.pk, snapshot))
        if progress and index % 50 == 0:
            progress(index, len(operators))
    del operators  # not needed once the subjects are made (memory at 100,000)
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
                "levy_pending_no_figure": pending,
                "total_entities": assessment.total_entities,
                "cost_per_entity": None if assessment.cost_per_entity is None else str(assessment.cost_per_entity),
                "levy_rate": None if assessment.levy_rate is None else str(assessment.levy_rate),
                "closing_decision": settings.closing_decision,
                "unconfirmed": sorted(assessment.unconfirmed),
                "explanation": [[line.rule, line.template, line.args] for line in assessment.explanation],
            },
        )
        rows_insert(
            OperatorAssessment,
            RESULT_FIELDS,
            (
                _result_row(run, operator_pk, snapshot, result)
                for (operator_pk, snapshot), result in zip(inputs, assessment.operator_results(), strict=True)
            ),
        )
    if progress:
        progress(len(subjects), len(subjects))
    return run, run_changes(previous, run)


#: the columns of a stored result, in the order of ``_result_row``
RESULT_FIELDS = (
    "run_id",
    "operator_id",
    "inputs",
    "liable",
    "entities",
    "exempt",
    "default_assessment",
    "levy_pending",
    "activity_tax",
    "turnover_levy",
    "fine",
    "total",
    "explanation",
)


def _result_row(run: AssessmentRun, operator_pk: int, snapshot: dict[str, Any], result: RulesResult) -> tuple[Any, ...]:
    """An operator's result as stored: the amounts, and the explanation as (rule, template, arguments). A result
    without any figure (D9) keeps its activity tax and fine; its levy is pending, not exempt."""
    explanation = [[line.rule, line.template, line.args] for line in result.explanation]
    levy_pending = bool(snapshot.get("levy_pending")) and result.liable
    if levy_pending:
        explanation = [line for line in explanation if line[0] not in {"D4", "D6"}] + [["D9", LEVY_PENDING, {}]]
    return (
        run.pk,
        operator_pk,
        snapshot,
        result.liable,
        result.entities,
        result.exempt and not levy_pending,
        result.default_assessment,
        levy_pending,
        result.activity_tax,
        result.turnover_levy,
        result.fine,
        result.amount_due,
        explanation,
    )


def _result_record(
    run: AssessmentRun, operator: Operator, snapshot: dict[str, Any], result: RulesResult
) -> OperatorAssessment:
    """One result as a model instance (a reassessment of one operator after invoicing)."""
    _run, _operator, *values = _result_row(run, operator.pk, snapshot, result)
    return OperatorAssessment(run=run, operator=operator, **dict(zip(RESULT_FIELDS[2:], values, strict=True)))


def latest_run(year: int) -> AssessmentRun | None:
    """The year's latest full run (corrections of single operators after invoicing are not runs of the year)."""
    return AssessmentRun.objects.filter(year=year, corrects=None).order_by("-created_at", "-pk").first()


def run_changes(previous: AssessmentRun | None, run: AssessmentRun) -> list[RunChange]:
    if previous is None:
        return []
    before = dict(previous.results.values_list("operator_id", "total"))
    after = dict(run.results.values_list("operator_id", "total"))
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    if len(changed) > 500:  # a new rate changes nearly everyone: read the runs' operators, not a list of keys
        read = Operator.objects.filter(
            pk__in=OperatorAssessment.objects.filter(run__in=[previous, run]).values("operator_id")
        )
    else:
        read = Operator.objects.filter(pk__in=changed)
    operators = {row[0]: ChangedOperator(*row) for row in read.values_list(*ChangedOperator._fields)}
    return [RunChange(operators[k], before.get(k), after.get(k)) for k in changed]
