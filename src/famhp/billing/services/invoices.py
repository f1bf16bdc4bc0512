"""Invoices: numbers without gaps, the lines an assessment puts on an invoice, issuing a run's invoices."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, NamedTuple, Protocol

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import DEFERRED, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

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
from famhp.billing.selectors import InterestTerms, interest_terms, year_settings_locked
from famhp.billing.services.rows import collector_paused, json_value, rows_insert
from famhp.billing.services.runs import Progress, latest_run
from famhp.billing.services.years import unconfirmed_for
from famhp.declarations.models import Campaign, DeclarationVersion
from famhp.registry.models import Operator
from famhp.rules import interest_due
from famhp.rules.money import ZERO

#: D8: the fine of a default assessment stays due after a late declaration; an interpretation, said so.
FINE_STAYS = gettext_noop(
    "The administrative fine stays due after the late declaration: it sanctions the missed deadline "
    "(art. 14/17). This is an interpretation of the agency, flagged as such (D8)."
)


def _reserve(year: int, kind: str, count: int = 1) -> int:
    """Reserve ``count`` numbers of the series under a row lock; returns the first. Numbers follow without gaps:
    a transaction of the caller that rolls back returns them."""
    series, _created = NumberSeries.objects.get_or_create(year=year, kind=kind)
    series = NumberSeries.objects.select_for_update().get(pk=series.pk)
    first = series.last + 1
    series.last += count
    series.save(update_fields=["last"])
    return first


class Debtor(Protocol):
    """What an invoice copies of its debtor: an operator, or issuing's ``IssueRead``."""

    @property
    def name(self) -> str: ...
    @property
    def identifier(self) -> str: ...
    @property
    def enterprise_number(self) -> str | None: ...
    @property
    def street(self) -> str: ...
    @property
    def postal_code(self) -> str: ...
    @property
    def city(self) -> str: ...
    @property
    def country(self) -> str: ...
    @property
    def contact_email(self) -> str: ...


def _debtor(operator: Debtor) -> dict[str, Any]:
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


#: an invoice's columns by attribute name, in the order of its model's fields (a positional model instance)
INVOICE_FIELDS = tuple(field.attname for field in Invoice._meta.concrete_fields)


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
    declaration_version: DeclarationVersion | None = None,
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
        declaration_version=declaration_version,
        reason=reason,
    )


def _issue_row(
    *,
    year: int,
    kind: str,
    sequence: int,
    result: IssueRead,
    lines: list[dict[str, Any]],
    issued_on: datetime.date,
    due_days: int,
    run: AssessmentRun,
) -> list[Any]:
    """A first invoice of a run's issue as its column values (``INVOICE_FIELDS``, no key yet): what ``_build``
    makes, without building a model instance per operator before the insert (issue 15)."""
    values = {
        "year": year,
        "kind": kind,
        "number": invoice_number(year, kind, sequence),
        "sequence": sequence,
        "structured_communication": structured_communication(year=year, kind=kind, sequence=sequence),
        "operator_id": result.operator_id,
        "debtor": _debtor(result),
        "language": result.language,
        "issued_on": issued_on,
        "due_on": issued_on + datetime.timedelta(days=due_days),
        "total": sum((Decimal(line["amount"]) for line in lines), ZERO),
        "lines": lines,
        "parameters": run.parameters,
        "rules_version": run.rules_version,
        "assessment_id": result.pk,
        "credits_id": None,
        "follows_id": None,
        "declaration_version_id": None,
        "reason": "",
    }
    return [values[name] for name in INVOICE_FIELDS[1:]]


def invoice_number(year: int, kind: str, sequence: int) -> str:
    return f"{NUMBER_PREFIX[InvoiceKind(kind)]}{year}-{sequence:06d}"


def _create(*, sequence: int | None = None, **fields: Any) -> Invoice:
    """One invoice with the next number of its series (or the one reserved), inside the caller's transaction."""
    invoice = _build(sequence=sequence or _reserve(fields["year"], fields["kind"]), **fields)
    invoice.save(force_insert=True)
    return invoice


#: D10 for a non-filer's invoice: the declaration deadline (interest runs from the day after) and the terms.
Interest = tuple[datetime.date, InterestTerms]


class Assessed(Protocol):
    """What the lines of an invoice read of an assessment result: a stored result, or issuing's ``IssueRead``."""

    @property
    def explanation(self) -> Any: ...
    @property
    def activity_tax(self) -> Decimal: ...
    @property
    def turnover_levy(self) -> Decimal: ...
    @property
    def fine(self) -> Decimal: ...
    @property
    def levy_pending(self) -> bool: ...
    @property
    def default_assessment(self) -> bool: ...


def needs_interest(result: Assessed, kind: str) -> bool:
    """D10: a default assessment (D6) with a turnover levy carries interest on its turnover-levy invoice."""
    return (
        kind == InvoiceKind.TURNOVER_LEVY
        and result.default_assessment
        and not result.levy_pending
        and result.turnover_levy > 0
    )


def interest_for(year: int) -> Interest | None:
    """The year's declaration deadline and interest terms (D10); None without a campaign or without a rate.
    Raises InterestUnconfirmed (naming them) while an interest parameter is not confirmed."""
    terms = interest_terms(year)
    campaign = Campaign.objects.filter(year=year).first()
    if terms is None or campaign is None:
        return None
    return campaign.deadline, terms


def invoice_lines(
    result: Assessed,
    kind: str,
    *,
    issued_on: datetime.date | None = None,
    interest: Interest | None = None,
    kept_fine: dict[str, Any] | None = None,
    interest_until: datetime.date | None = None,
) -> list[dict[str, Any]]:
    """The lines an assessment puts on an invoice of ``kind``, each with its reason and explanation.

    A default assessment (D6) carries the fine (D7) and the interest (D10: on the turnover levy only, from the
    declaration deadline to the issue date) on the turnover-levy invoice, each on its own line. A non-filer
    without any figure (D9) has no levy line yet, only the fine. ``kept_fine``: the fine line of a credited
    default invoice that a late declaration replaces; it stays, flagged as an interpretation (D8).
    ``interest_until``: a correction's interest ends at the first invoice of its chain's issue date, not the
    correction's (D8, D10: correcting an invoice never adds interest)."""
    explanation = result.explanation
    if kind == InvoiceKind.ACTIVITY_TAX:
        rules = {"RULES §3", "D1", "D2", "D3", "D11"}
        return [_line("activity_tax", result.activity_tax, "D3", [e for e in explanation if e[0] in rules])]
    lines = []
    if not result.levy_pending:
        levy_rules = {"D4", "D5", "D6"}
        lines.append(_line("turnover_levy", result.turnover_levy, "D5", [e for e in explanation if e[0] in levy_rules]))
    else:
        lines.append(_line("turnover_levy", Decimal("0.00"), "D9", [e for e in explanation if e[0] == "D9"]))
    if result.default_assessment and result.fine:
        lines.append(_line("administrative_fine", result.fine, "D7", [e for e in explanation if e[0] == "D7"]))
    elif kept_fine is not None and Decimal(kept_fine["amount"]):
        kept = [line for line in kept_fine.get("explanation", []) if line != ["D8", FINE_STAYS, {}]]
        stays = [*kept, ["D8", FINE_STAYS, {}]]  # once, also after a second correction
        lines.append(_line("administrative_fine", Decimal(kept_fine["amount"]), "D8", stays))
    if needs_interest(result, kind) and interest is not None:
        deadline, terms = interest
        late = interest_due(
            base=result.turnover_levy,
            due=deadline,
            until=interest_until or issued_on or timezone.localdate(),
            rate=terms.rate,
            period=terms.period,
        )
        if late.amount:
            lines.append(_line("late_interest", late.amount, "D10", [list(late.explanation)]))
    return lines


def issue_refusal(settings: YearSettings, run: AssessmentRun, kind: str) -> str | None:
    """Why the ``kind`` invoices of ``run`` cannot be issued, or None: the closing decision first for the levy
    (D5), only the latest run, and only confirmed parameters (D3, D5, D7, D10, D11)."""
    if kind == InvoiceKind.TURNOVER_LEVY and not settings.closing_decision:
        return _(
            "The closing decision of %(year)s is not recorded: turnover-levy invoices are issued only after it "
            "(D5). Record the closing decision (lowered to R, or not lowered) first."
        ) % {"year": run.year}
    if kind == InvoiceKind.TURNOVER_LEVY and run.summary.get("closing_decision") != settings.closing_decision:
        return _(
            "This assessment run was made before the closing decision of %(year)s: run the assessment again so "
            "that the levy applies the decided rate (D5)."
        ) % {"year": run.year}
    latest = latest_run(run.year)
    if latest is None or latest.pk != run.pk:
        return _("Only the latest assessment run of a year is invoiced.")
    results = run.results.all()
    with_fine = kind == InvoiceKind.TURNOVER_LEVY and results.filter(fine__gt=0).exists()
    with_interest = (
        kind == InvoiceKind.TURNOVER_LEVY
        and results.filter(default_assessment=True, levy_pending=False, turnover_levy__gt=0).exists()
    )
    missing = unconfirmed_for(settings, kind, with_fine=with_fine, with_interest=with_interest)
    if kind == InvoiceKind.ACTIVITY_TAX and "entity_table" in run.summary.get("unconfirmed", []):
        missing = sorted({*missing, *({"entity_table"} - set(settings.confirmed))})
    if missing:
        return _("These parameters of %(year)s are not confirmed yet, so no invoice can use them: %(names)s.") % {
            "year": run.year,
            "names": ", ".join(missing),
        }
    return None


@collector_paused()
def invoices_issue(
    *,
    run: AssessmentRun,
    kind: str,
    issued_on: datetime.date | None = None,
    progress: Progress | None = None,
    batch: int = 5000,
) -> list[Invoice]:
    """Issue the ``kind`` invoices of a run: the first invoice of each operator that owes something.

    An operator that has an invoice of this year and kind already (live or credited) is never billed again
    here: a credited invoice is followed by a correction (D8), reassessed from the current figures, so an old
    default assessment is never re-billed after a declaration. Each chunk takes the year's lock and looks again
    at who is billed, so that repeated or concurrent calls issue nothing twice (and the database refuses a second
    first invoice per year, kind and operator). Refused, changing nothing, while the closing decision (for the
    levy) or a confirmation is missing: the message names it."""
    settings = YearSettings.objects.get(year=run.year)
    refusal = issue_refusal(settings, run, kind)
    if refusal:
        raise ValidationError(refusal)
    issued_on = issued_on or timezone.localdate()
    with_interest = run.results.filter(default_assessment=True, levy_pending=False, turnover_levy__gt=0).exists()
    interest = interest_for(run.year) if kind == InvoiceKind.TURNOVER_LEVY and with_interest else None
    due_days = settings.due_days(kind)
    # who is billed already is looked at once here, so that a repeated issue reads nothing more, and again in
    # each chunk under the year's lock: a concurrent issue may have billed some since. Every invoice of the kind
    # takes its number from the series, so a series that moved by more than this issue's own invoices says that
    # someone else issued since the start (a first invoice or a correction): from then on each chunk's operators
    # are looked up; until then one row is read per chunk.
    known = _last_number(run.year, kind)  # the series at the start, plus this issue's own numbers
    unbilled = run.results.exclude(operator_id__in=_first_invoices(run.year, kind).values("operator_id"))
    # the results in the order of their numbers, keys only: each chunk reads its own (memory at 100,000 operators)
    keys = list(unbilled.order_by(*ISSUE_ORDER).values_list("pk", flat=True))
    issued: list[Invoice] = []
    for start in range(0, len(keys), batch):
        due = []
        for values in _issue_reads(run, keys[start : start + batch]):
            result = IssueRead(values[0], values[1], json_value(values[2]), *values[3:])
            lines = invoice_lines(result, kind, issued_on=issued_on, interest=interest)
            if any(Decimal(line["amount"]) for line in lines):
                due.append((result, lines))
        with transaction.atomic():  # a chunk's numbers and its invoices are written together, or neither
            locked = year_settings_locked(run.year)
            if kind == InvoiceKind.ACTIVITY_TAX and locked.cost_per_entity is None:
                # the notices fix the cost per entity: a later run cannot change what they charged (ADR 11)
                locked.cost_per_entity = Decimal(run.summary["cost_per_entity"])
                locked.confirmed = sorted({*locked.confirmed, "cost_per_entity"})
                locked.save(update_fields=["cost_per_entity", "confirmed"])
            now = _last_number(run.year, kind)
            billed = (
                {
                    operator_id
                    for some in _slices([result.operator_id for result, _lines in due])
                    for operator_id in _first_invoices(run.year, kind)
                    .filter(operator_id__in=some)
                    .values_list("operator_id", flat=True)
                }
                if now != known
                else set()
            )
            chunk = [(result, lines) for result, lines in due if result.operator_id not in billed]
            if chunk:
                first = _reserve(run.year, kind, len(chunk))
                known += len(chunk)
                rows = [
                    _issue_row(
                        year=run.year,
                        kind=kind,
                        sequence=first + offset,
                        result=result,
                        lines=lines,
                        issued_on=issued_on,
                        due_days=due_days,
                        run=run,
                    )
                    for offset, (result, lines) in enumerate(chunk)
                ]
                issued.extend(_insert(run.year, kind, rows))
        if progress:
            progress(min(start + batch, len(keys)), len(keys))
    return issued


class IssueRead(NamedTuple):
    """What issuing reads of a run's result and its operator, in one query for the run (no model instances)."""

    pk: int
    operator_id: int
    explanation: Any
    activity_tax: Decimal
    turnover_levy: Decimal
    fine: Decimal
    levy_pending: bool
    default_assessment: bool
    name: str
    enterprise_number: str | None
    country: str
    foreign_identifier: str
    language: str
    street: str
    postal_code: str
    city: str
    contact_email: str

    @property
    def identifier(self) -> str:
        """As ``Operator.identifier``: the enterprise number, or COUNTRY-identifier for a foreign operator."""
        return self.enterprise_number or f"{self.country}-{self.foreign_identifier}"


#: the order of a run's invoice numbers: the operators' names
ISSUE_ORDER = ("operator__name", "operator_id")

ISSUE_READS = (
    "pk",
    "operator_id",
    "explanation_text",
    "activity_tax",
    "turnover_levy",
    "fine",
    "levy_pending",
    "default_assessment",
    *(f"operator__{name}" for name in ("name", "enterprise_number", "country", "foreign_identifier", "language")),
    *(f"operator__{name}" for name in ("street", "postal_code", "city", "contact_email")),
)


def _issue_reads(run: AssessmentRun, keys: list[int]) -> Iterator[tuple[Any, ...]]:
    """``ISSUE_READS`` of the results with these ``keys`` (in the order of ``ISSUE_ORDER``, as the keys are), the
    explanation as its JSON text (decoded by ``json_value``, faster than the field's own decoding)."""
    for some in _slices(keys):
        results = run.results.filter(pk__in=some).order_by(*ISSUE_ORDER)
        yield from results.annotate(explanation_text=Cast("explanation", TextField())).values_list(*ISSUE_READS)


def _slices(keys: list[int]) -> Iterator[list[int]]:
    """``keys`` in consecutive slices that one query can list besides a few other parameters (SQLite: 999 in all
    unless built otherwise; PostgreSQL: no such limit)."""
    size = max(1, (connection.features.max_query_params or len(keys) + 10) - 10)
    for start in range(0, len(keys), size):
        yield keys[start : start + size]


def _last_number(year: int, kind: str) -> int:
    """The last number taken from the series of ``year`` and ``kind`` (0 before the first)."""
    return NumberSeries.objects.filter(year=year, kind=kind).values_list("last", flat=True).first() or 0


def _first_invoices(year: int, kind: str) -> QuerySet[Invoice]:
    """The first invoice of each operator billed for ``year`` and ``kind`` (at most one: a database constraint)."""
    return Invoice.objects.filter(year=year, kind=kind, follows=None)


#: where an invoice's JSON documents are in its row: the invoices an issue returns leave them deferred, read back
#: only if asked for (a year's 100,000 invoices would otherwise keep their lines, debtors and parameters in memory)
_DOCUMENTS_AT = [INVOICE_FIELDS.index(name) - 1 for name in ("debtor", "lines", "parameters")]


def _insert(year: int, kind: str, rows: list[list[Any]]) -> list[Invoice]:
    """Write a chunk of first invoices of one year and kind with consecutive numbers; the invoices with their
    keys, their JSON documents deferred."""
    rows_insert(Invoice, INVOICE_FIELDS[1:], rows)
    sequence = INVOICE_FIELDS.index("sequence") - 1
    keys = dict(
        Invoice.objects.filter(
            year=year, kind=kind, sequence__range=(rows[0][sequence], rows[-1][sequence])
        ).values_list("sequence", "pk")
    )
    alias, invoices = connection.alias, []
    for row in rows:
        values = [keys[row[sequence]], *row]
        for at in _DOCUMENTS_AT:
            values[at + 1] = DEFERRED
        invoices.append(Invoice.from_db(alias, INVOICE_FIELDS, values))
    return invoices
