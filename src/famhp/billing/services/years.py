"""Year settings: the parameters the agency confirms, the cost per entity it fixes (D3), the closing decision
(D5) and closing the year (ADR 11)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from famhp.billing.models import (
    INTEREST_PARAMETERS,
    AssessmentRun,
    ClosingDecision,
    Invoice,
    InvoiceKind,
    YearSettings,
)
from famhp.billing.selectors import corrections_pending, year_settings_locked
from famhp.rules import applied_levy_rate
from famhp.rules.parameters import PARAMETER_NAMES, resolve_parameters

#: set only by the closing decision (D5), never from the built-in parameters
DECIDED_BY_THE_AGENCY = frozenset({"effective_levy_rate"})


def year_settings_from_builtin(year: int) -> YearSettings:
    """The year's settings filled from the built-in parameters; confirmed where a publication confirms them.
    The lowered rate stays empty: only the agency's closing decision sets it (D5)."""
    builtin = resolve_parameters(year)
    values = {name: builtin.values[name].value for name in PARAMETER_NAMES if name not in DECIDED_BY_THE_AGENCY}
    settings = YearSettings(year=year, **values)
    settings.confirmed = [
        n for n, v in builtin.values.items() if v.confirmed and v.value is not None and n not in DECIDED_BY_THE_AGENCY
    ]
    settings.full_clean()
    settings.save()
    return settings


def levy_rate_names(settings: YearSettings) -> set[str]:
    """The parameters behind the rate a turnover-levy invoice applies, as famhp.rules' one rate rule picks it
    (D5): the lowered rate, else the maximum, else the computed rate (budget and share)."""
    lowered, maximum = settings.effective_levy_rate, settings.max_levy_rate
    applied = applied_levy_rate(max_rate=maximum, lowered_rate=lowered, computed_rate=None)
    if applied is None:
        return {"budget", "activity_tax_share"}
    return {"effective_levy_rate"} if applied is lowered else {"max_levy_rate"}


def parameters_used(
    settings: YearSettings, kind: str, *, with_fine: bool = False, with_interest: bool = False
) -> set[str]:
    """Which parameters an invoice of ``kind`` depends on (D3; D4, D5; D7 with a fine; D10 with interest)."""
    if kind == InvoiceKind.ACTIVITY_TAX:
        used = {"cost_per_entity"} if settings.cost_per_entity is not None else {"budget", "activity_tax_share"}
    else:
        used = {"exemption_threshold", *levy_rate_names(settings)}
    return {
        *used,
        *({"administrative_fine"} if with_fine else ()),
        *(INTEREST_PARAMETERS if with_interest else ()),
    }


def unconfirmed_for(
    settings: YearSettings, kind: str, *, with_fine: bool = False, with_interest: bool = False
) -> list[str]:
    used = parameters_used(settings, kind, with_fine=with_fine, with_interest=with_interest)
    return sorted(n for n in used if n not in settings.confirmed)


@transaction.atomic
def cost_per_entity_fix(*, run: AssessmentRun) -> YearSettings:
    """The agency fixes the cost per entity of the year at the run's computed proposal (D3, FAQ 5)."""
    settings = year_settings_locked(run.year)
    proposal = run.summary.get("cost_per_entity")
    if settings.cost_per_entity is not None:
        raise ValidationError(_("The cost per entity of %(year)s is already fixed.") % {"year": run.year})
    if proposal is None:
        raise ValidationError(_("This run computed no cost per entity."))
    settings.cost_per_entity = Decimal(proposal)
    settings.confirmed = sorted({*settings.confirmed, "cost_per_entity"})
    settings.save()
    return settings


@transaction.atomic
def year_closing_decide(
    *, year: int, lowered_rate: Decimal | None, decided_on: datetime.date, reference: str
) -> YearSettings:
    """Record the agency's closing decision of ``year`` (D5, FAQ 5): "lowered to R" (``lowered_rate``, at most
    the maximum rate) or "not lowered" (None), with its date and reference. Recorded once, confirmed; it sets the
    rate the turnover-levy invoices apply. A second attempt is refused and changes nothing."""
    settings = year_settings_locked(year)
    if settings.closing_decision:
        raise ValidationError(
            _("The closing decision of %(year)s is already recorded (%(decision)s, %(date)s, %(reference)s).")
            % {
                "year": year,
                "decision": settings.get_closing_decision_display(),
                "date": settings.closing_decided_on,
                "reference": settings.closing_reference,
            }
        )
    if not reference.strip():
        raise ValidationError(_("The closing decision states its reference."))
    if lowered_rate is not None:
        if lowered_rate <= 0:
            raise ValidationError(_("A lowered rate is above zero."))
        if settings.max_levy_rate is not None and lowered_rate > settings.max_levy_rate:
            raise ValidationError(
                _("The lowered rate %(rate)s is above the maximum rate %(max)s of %(year)s (D5).")
                % {"rate": lowered_rate, "max": settings.max_levy_rate, "year": year}
            )
    settings.closing_decision = ClosingDecision.NOT_LOWERED if lowered_rate is None else ClosingDecision.LOWERED
    settings.effective_levy_rate = lowered_rate
    settings.closing_decided_on = decided_on
    settings.closing_reference = reference.strip()
    settings.confirmed = sorted({*settings.confirmed, "effective_levy_rate"})
    settings.full_clean()
    settings.save()
    return settings


@transaction.atomic
def year_close(*, year: int, closed_on: datetime.date | None = None) -> YearSettings:
    """Close the year once its turnover-levy invoices are out and no correction is pending (ADR 11)."""
    settings = year_settings_locked(year)
    if settings.closed_on is not None:
        raise ValidationError(_("%(year)s is already closed.") % {"year": year})
    if not Invoice.objects.filter(year=year, kind=InvoiceKind.TURNOVER_LEVY).exists():
        raise ValidationError(_("%(year)s has no turnover-levy invoices yet: it cannot be closed.") % {"year": year})
    pending = corrections_pending(year)
    if pending:
        raise ValidationError(
            _("%(count)s corrections after invoicing of %(year)s are pending: apply them first (billing correct).")
            % {"count": len(pending), "year": year}
        )
    settings.closed_on = closed_on or timezone.localdate()
    settings.save()
    return settings
