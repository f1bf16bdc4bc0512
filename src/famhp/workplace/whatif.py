"""What-if (issue 12): the year's operators assessed by famhp.rules with some parameters changed, in memory;
saved only when the agency confirms (``save_preview`` shows what saving changes, billing's
``year_settings_change`` saves it).

Nothing is written: the subjects are read as the assessment run reads them (billing's ``operator_subject``:
latest declaration version, else the FPS Finance figure, else no figure), the parameters are the year's settings
with the changes applied and checked by famhp.rules like any input, and each operator's new amount is set beside
its amount in the latest run."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext as _

from famhp.billing.models import AssessmentRun, FpsTurnover, Invoice, YearSettings, YearState
from famhp.billing.selectors import RATE_NAMES, year_state
from famhp.billing.services import SettingChange, change_refusals, latest_run, settings_changes, settings_moved
from famhp.billing.services.runs import operator_subject
from famhp.declarations.models import DeclarationVersion
from famhp.registry.models import Operator
from famhp.registry.selectors import operators_must_declare, with_rules_inputs
from famhp.rules import InvalidInput, YearAssessment, resolve_parameters
from famhp.rules.money import ZERO_EUR
from famhp.rules.parameters import PARAMETER_NAMES

#: The parameters a what-if changes (issue 12): budget, share, maximum rate, cost per entity.
CHANGEABLE = ("budget", "activity_tax_share", "max_levy_rate", "cost_per_entity")
#: Upper bounds (inclusive) of the distribution's buckets, in euro; the last bucket is open.
BUCKETS = (Decimal(0), Decimal(250), Decimal(1000), Decimal(2500), Decimal(10000), Decimal(50000))


@dataclass(frozen=True)
class OperatorChange:
    operator: Operator
    before: Decimal | None
    after: Decimal
    activity_tax: Decimal
    turnover_levy: Decimal

    @property
    def difference(self) -> Decimal | None:
        return None if self.before is None else self.after - self.before


@dataclass
class WhatIf:
    year: int
    current: dict[str, Decimal | None]
    changed: dict[str, Decimal | None]
    problems: list[str] = field(default_factory=list)
    cost_per_entity: Decimal | None = None
    levy_rate: Decimal | None = None
    computed_levy_rate: Decimal | None = None
    total_entities: int = 0
    activity_tax_budget: Decimal | None = None
    levy_budget: Decimal | None = None
    rows: list[OperatorChange] = field(default_factory=list)
    total_before: Decimal = ZERO_EUR
    total_after: Decimal = ZERO_EUR
    distribution: list[tuple[str, int, int]] = field(default_factory=list)


def _current(settings: YearSettings) -> dict[str, Any]:
    values = {}
    for name in PARAMETER_NAMES:
        value = getattr(settings, name)
        values[name] = value.normalize() if name in RATE_NAMES and value else value
    return values


def current_parameters(year: int) -> dict[str, Decimal | None]:
    settings = YearSettings.objects.filter(year=year).first()
    return {} if settings is None else {name: _current(settings)[name] for name in CHANGEABLE}


def _subjects(year: int) -> list[tuple[Operator, Any]]:
    latest: dict[int, DeclarationVersion] = {}
    versions = DeclarationVersion.objects.filter(declaration__campaign__year=year).select_related("declaration")
    for version in versions.order_by("declaration__operator_id", "-number"):
        latest.setdefault(version.declaration.operator_id, version)
    fps = dict(FpsTurnover.objects.filter(year=year).values_list("enterprise_number", "total_turnover"))
    subjects = []
    for operator in with_rules_inputs(operators_must_declare(year), year).order_by("name", "pk"):
        subject, _snapshot = operator_subject(
            operator, year, latest.get(operator.pk), fps.get(operator.enterprise_number or "")
        )
        subjects.append((operator, subject))
    return subjects


def _bucket_label(index: int) -> str:
    if index == 0:
        return _("nothing")
    if index == len(BUCKETS):
        return _("over %(low)s €") % {"low": f"{BUCKETS[-1]:,}"}
    return _("%(low)s–%(high)s €") % {"low": f"{BUCKETS[index - 1]:,}", "high": f"{BUCKETS[index]:,}"}


def _bucket(amount: Decimal) -> int:
    for index, high in enumerate(BUCKETS):
        if amount <= high:
            return index
    return len(BUCKETS)


def what_if(year: int, changes: dict[str, Decimal | None]) -> WhatIf:
    """The year assessed with ``changes`` (a parameter name → its value, None: empty, e.g. a cost per entity
    computed from the budget). Problems (a value out of bounds, no budget and no cost) are reported, not raised."""
    settings = YearSettings.objects.filter(year=year).first()
    result = WhatIf(year=year, current=current_parameters(year), changed=dict(changes))
    if settings is None:
        result.problems.append(_("No settings for %(year)s yet.") % {"year": year})
        return result
    given = {**_current(settings), **changes}
    try:
        parameters = resolve_parameters(year, given)
        subjects = _subjects(year)
        assessment = YearAssessment(parameters=parameters, operators=[s for _o, s in subjects])
    except InvalidInput as invalid:
        result.problems.extend(str(problem) for problem in invalid.problems)
        return result
    run = latest_run(year)
    before = dict(run.results.values_list("operator_id", "total")) if run is not None else {}
    result.cost_per_entity = assessment.cost_per_entity
    result.levy_rate = assessment.levy_rate
    result.computed_levy_rate = assessment.computed_levy_rate
    result.total_entities = assessment.total_entities
    result.activity_tax_budget = assessment.activity_tax_budget
    result.levy_budget = assessment.turnover_levy_budget
    counts_before = [0] * (len(BUCKETS) + 1)
    counts_after = [0] * (len(BUCKETS) + 1)
    for (operator, _subject), outcome in zip(subjects, assessment.operator_results(), strict=True):
        previous = before.get(operator.pk)
        result.rows.append(
            OperatorChange(operator, previous, outcome.amount_due, outcome.activity_tax, outcome.turnover_levy)
        )
        result.total_after += outcome.amount_due
        counts_after[_bucket(outcome.amount_due)] += 1
        if previous is not None:
            result.total_before += previous
            counts_before[_bucket(previous)] += 1
    result.distribution = [
        (_bucket_label(index), counts_before[index], counts_after[index]) for index in range(len(BUCKETS) + 1)
    ]
    return result


@dataclass
class SavePreview:
    """What saving a what-if's parameters changes, before anything is saved: each setting old → new, why it
    cannot be saved (if so), and what follows for the year."""

    year: int
    changes: list[SettingChange]
    #: the settings changed by someone else since the what-if was computed (their names in words)
    moved: list[str]
    refusals: list[str]
    #: the changed parameters not confirmed yet (their names in words): invoices using one wait for it
    unconfirmed: list[str]
    latest_run: AssessmentRun | None
    invoiced: bool
    state: YearState

    @property
    def savable(self) -> bool:
        return bool(self.changes) and not self.moved and not self.refusals

    @property
    def rows(self) -> list[tuple[str, str, Any, Any]]:
        """Each change as the page shows it: its name in words, how to show its values ("eur", "rate" or
        "text"), the value now and the new value (the confirmed parameters as their names in words)."""
        shown = []
        for change in self.changes:
            before, after = change.before, change.after
            if change.name == "confirmed":
                before, after = _labels(before), _labels(after)
            else:
                words = _choice_words(change.name)
                before, after = words.get(before, before), words.get(after, after)
            kind = "eur" if change.name in EURO_NAMES else "rate" if change.name in FRACTION_NAMES else "text"
            shown.append((change.label, kind, before, after))
        return shown


#: how the confirmation step shows a value: euro amounts, and fractions as percentages
EURO_NAMES = frozenset({"budget", "exemption_threshold", "cost_per_entity", "administrative_fine"})
FRACTION_NAMES = frozenset({"activity_tax_share", "max_levy_rate", "late_interest_rate"})


def _choice_words(name: str) -> dict[Any, Any]:
    """A setting's choices in words ("started_month" → "per started calendar month"); empty for other settings."""
    try:
        return dict(getattr(YearSettings._meta.get_field(name), "choices", None) or [])
    except FieldDoesNotExist:
        return {}


def _labels(names: list[str]) -> str:
    fields = {field.name: str(field.verbose_name) for field in YearSettings._meta.fields}
    return ", ".join(fields.get(name, name) for name in names) or "—"


def save_preview(year: int, changes: dict[str, Decimal | None], based_on: dict[str, Decimal | None]) -> SavePreview:
    """The confirmation step of "save these parameters": read only, the same checks as the service."""
    settings = YearSettings.objects.filter(year=year).first()
    if settings is None:
        return SavePreview(
            year, [], [], [_("No settings for %(year)s yet.") % {"year": year}], [], None, False, year_state(year)
        )
    done = settings_changes(settings, changes)
    moved = settings_moved(settings, based_on)
    for change in done:
        setattr(settings, change.name, change.after)
    refusals = change_refusals(settings) if done else []
    return SavePreview(
        year=year,
        changes=done,
        moved=moved,
        refusals=refusals,
        unconfirmed=[change.label for change in done if change.name not in settings.confirmed],
        latest_run=latest_run(year),
        invoiced=Invoice.objects.filter(year=year).exists(),
        state=year_state(year),
    )
