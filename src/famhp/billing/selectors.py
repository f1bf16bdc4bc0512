"""Reads of the year's parameters as the agency set them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _

from famhp.billing.models import (
    INTEREST_PARAMETERS,
    FpsTurnover,
    Invoice,
    InvoiceKind,
    OperatorAssessment,
    YearSettings,
    YearState,
)
from famhp.declarations.models import Campaign, Declaration, DeclarationVersion
from famhp.registry.models import Operator
from famhp.registry.selectors import operators_must_declare
from famhp.rules import InvalidInput
from famhp.rules.parameters import PARAMETER_NAMES, ParameterValue, YearParameters, resolve_parameters

SETTINGS_SOURCE = "year settings of the agency"
RATE_NAMES = frozenset({"max_levy_rate", "effective_levy_rate", "late_interest_rate"})


def _significant(name: str, value: Decimal | None) -> Decimal | None:
    """A stored rate without the trailing zeros of its 10-decimal column (0.0030730000 is 0.003073)."""
    if name in RATE_NAMES and value is not None:
        return value.normalize() if value else Decimal(0)
    return value


def year_parameters(settings: YearSettings) -> YearParameters:
    """The settings as famhp.rules parameters, each marked confirmed or not."""
    given = {name: _significant(name, getattr(settings, name)) for name in PARAMETER_NAMES}
    try:
        resolve_parameters(settings.year, given)  # the same checks as any input (effective ≤ maximum, ranges)
    except InvalidInput as invalid:
        raise ValidationError([str(p) for p in invalid.problems]) from None
    return YearParameters(
        year=settings.year,
        values={
            name: ParameterValue(value, SETTINGS_SOURCE, name in settings.confirmed) for name, value in given.items()
        },
    )


def parameters_for_year(year: int) -> YearParameters | None:
    """The year's parameters: the agency's settings once it has set them, else the built-in ones, else None
    (a year that is neither is never guessed)."""
    settings = YearSettings.objects.filter(year=year).first()
    if settings is not None:
        try:
            return year_parameters(settings)
        except ValidationError:
            return None
    try:
        return resolve_parameters(year)
    except InvalidInput:
        return None


class InterestUnconfirmed(ValidationError):
    """D10: an interest parameter of the year is not confirmed by the agency, so nothing may show interest."""

    def __init__(self, names: list[str], year: int | None = None) -> None:
        self.names = sorted(names)
        super().__init__(
            _("These interest parameters of %(year)s are not confirmed yet, so no interest can be shown: %(names)s.")
            % {"year": "-" if year is None else year, "names": ", ".join(self.names)}
        )


class InterestTerms(NamedTuple):
    """D10 for one year: the rate (a fraction), the period ("started_month" | "once") and the base
    ("contribution": the contribution due only, never the fine or earlier interest)."""

    rate: Decimal
    period: str
    base: str


def interest_terms(year: int) -> InterestTerms | None:
    """The year's interest terms (D10), or None where the year has no settings or the agency confirmed that it
    charges no interest (no rate). Raises InterestUnconfirmed naming each of ``late_interest_rate``,
    ``late_interest_period`` and ``late_interest_base`` that is not confirmed."""
    settings = YearSettings.objects.filter(year=year).first()
    if settings is None:
        return None
    missing = [name for name in INTEREST_PARAMETERS if name not in settings.confirmed]
    if missing:
        raise InterestUnconfirmed(missing, year)
    if settings.late_interest_rate is None:
        return None
    return InterestTerms(settings.late_interest_rate, settings.late_interest_period, settings.late_interest_base)


# --- the year's life cycle (ADR 11) ----------------------------------------------------------------------------


def year_settings_locked(year: int) -> YearSettings:
    """The year's settings row, locked until the end of the caller's transaction: issuing, crediting, correcting
    and the closing decision of one year take this lock first, so concurrent or repeated actions queue and then
    find the work done (ADR 8)."""
    settings = YearSettings.objects.select_for_update().filter(year=year).first()
    if settings is None:
        raise ValidationError(_("No settings for %(year)s yet.") % {"year": year})
    return settings


def live_invoices(year: int, kind: str | None = None) -> QuerySet[Invoice]:
    """The year's invoices that are not credited (credit notes excluded): at most one per (kind, operator)."""
    kinds = [kind] if kind else [InvoiceKind.ACTIVITY_TAX, InvoiceKind.TURNOVER_LEVY]
    return Invoice.objects.filter(year=year, kind__in=kinds, credit_notes=None)


def operator_invoiced(year: int, operator_id: int) -> bool:
    """Whether the operator has an invoice of ``year`` (credited or not): a new declaration version then
    corrects an invoiced declaration (D8)."""
    kinds = [InvoiceKind.ACTIVITY_TAX, InvoiceKind.TURNOVER_LEVY]
    return Invoice.objects.filter(year=year, operator_id=operator_id, kind__in=kinds).exists()


def levy_pending_no_figure(year: int) -> list[Operator]:
    """D9: the operators that must declare for ``year`` without a declaration and without an FPS Finance
    figure: their turnover levy waits for a figure ("levy pending: no figure")."""
    declared = DeclarationVersion.objects.filter(declaration__campaign__year=year).values("declaration__operator_id")
    figures = FpsTurnover.objects.filter(year=year).values("enterprise_number")
    return list(
        operators_must_declare(year)
        .exclude(pk__in=declared)
        .exclude(enterprise_number__in=figures)
        .order_by("name", "pk")
    )


@dataclass(frozen=True)
class PendingCorrection:
    """An invoice (or a credit note not followed by a new invoice) whose assessment used other figures than the
    operator's current ones: a correction after invoicing is due (D8)."""

    operator: Operator
    kind: str
    invoice: Invoice
    reason: str


def _figure_source(assessment: OperatorAssessment | None) -> tuple[Any, bool] | None:
    if assessment is None:
        return None
    inputs = assessment.inputs
    return inputs.get("declaration_version"), "fps_total_turnover" in inputs


def _fps_changed(assessment: OperatorAssessment | None, figure: Decimal | None) -> bool:
    """A default assessment (D6) made from another FPS Finance figure than the one imported now (a figure that is
    gone is not a new figure: nothing is reassessed on an absence)."""
    if assessment is None or figure is None:
        return False
    return Decimal(str(assessment.inputs["fps_total_turnover"])) != figure


def corrections_pending(year: int, operator_id: int | None = None) -> list[PendingCorrection]:
    """The corrections after invoicing that the year waits for (D8): an invoice assessed from an earlier
    declaration version, from the FPS Finance figure where a declaration exists since, from another FPS Finance
    figure than the one imported now (D6), or without any figure where one exists since (D9)."""
    latest: dict[int, int] = {}
    versions = DeclarationVersion.objects.filter(declaration__campaign__year=year)
    if operator_id is not None:
        versions = versions.filter(declaration__operator_id=operator_id)
    for operator, pk in versions.order_by("declaration__operator_id", "number").values_list(
        "declaration__operator_id", "pk"
    ):
        latest[operator] = pk
    figures = dict(FpsTurnover.objects.filter(year=year).values_list("enterprise_number", "total_turnover"))
    # the latest reassessment after invoicing of each operator: a correction that changed nothing is done too
    reassessed: dict[int, OperatorAssessment] = {}
    corrections = OperatorAssessment.objects.filter(run__year=year, run__corrects__isnull=False)
    if operator_id is not None:
        corrections = corrections.filter(operator_id=operator_id)
    for record in corrections.order_by("pk"):
        reassessed[record.operator_id] = record
    tails = list(live_invoices(year).select_related("operator", "assessment"))
    tails += Invoice.objects.filter(
        year=year, kind=InvoiceKind.CREDIT_NOTE, followed_by=None, credits__isnull=False
    ).select_related("operator", "credits__assessment")
    pending = []
    for tail in tails:
        if operator_id is not None and tail.operator_id != operator_id:
            continue
        assessed = tail.credits if tail.kind == InvoiceKind.CREDIT_NOTE else tail
        assert assessed is not None
        latest_assessment = assessed.assessment
        later = reassessed.get(tail.operator_id)
        if later is not None and (latest_assessment is None or later.pk > latest_assessment.pk):
            latest_assessment = later
        source = _figure_source(latest_assessment)
        if source is None:
            continue
        version, from_fps = source
        now = latest.get(tail.operator_id)
        if now is not None and now != version:
            reason = _("declaration filed or corrected after invoicing")
        elif now is None and version is None and not from_fps and tail.operator.enterprise_number in figures:
            reason = _("an FPS Finance figure exists since the invoice (D9)")
        elif (
            now is None
            and from_fps
            and _fps_changed(latest_assessment, figures.get(tail.operator.enterprise_number or ""))
        ):
            reason = _("the FPS Finance figure changed since the invoice (D6)")
        else:
            continue
        pending.append(PendingCorrection(tail.operator, assessed.kind, tail, reason))
    return sorted(pending, key=lambda p: (p.operator.name, p.operator.pk, p.kind))


def year_state(year: int) -> YearState:
    """Where ``year`` stands in its life cycle (ADR 11): the one place that derives it."""
    settings = YearSettings.objects.filter(year=year).first()
    if settings is not None and settings.closed_on is not None:
        return YearState.CLOSED
    issued = set(Invoice.objects.filter(year=year).values_list("kind", flat=True).distinct())
    if InvoiceKind.TURNOVER_LEVY in issued:
        if InvoiceKind.CREDIT_NOTE in issued or corrections_pending(year):
            return YearState.CORRECTIONS
        return YearState.LEVY_INVOICED
    if settings is not None and settings.closing_decision:
        return YearState.CLOSING_DECIDED
    if InvoiceKind.ACTIVITY_TAX in issued:
        return YearState.ACTIVITY_TAX_NOTICES
    campaign = Campaign.objects.filter(year=year).first()
    if campaign is None:
        return YearState.SETTINGS
    if Declaration.objects.filter(campaign=campaign).exists():
        return YearState.DECLARATIONS
    return YearState.CAMPAIGN_OPEN


@dataclass(frozen=True)
class YearStatus:
    """What the agency sees of a year: its state, its invoices, what waits (ADR 11)."""

    year: int
    state: YearState
    settings: YearSettings | None
    invoices: dict[str, int]
    live: dict[str, int]
    levy_pending: list[Operator]
    corrections: list[PendingCorrection]


def year_status(year: int) -> YearStatus:
    counts: dict[str, int] = dict.fromkeys(InvoiceKind.values, 0)
    for kind, count in Invoice.objects.filter(year=year).values_list("kind").annotate(n=Count("pk")):
        counts[kind] = count
    live = {
        str(kind): live_invoices(year, kind).count() for kind in (InvoiceKind.ACTIVITY_TAX, InvoiceKind.TURNOVER_LEVY)
    }
    return YearStatus(
        year=year,
        state=year_state(year),
        settings=YearSettings.objects.filter(year=year).first(),
        invoices=counts,
        live=live,
        levy_pending=levy_pending_no_figure(year),
        corrections=corrections_pending(year),
    )
