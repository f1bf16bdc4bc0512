"""Year settings: the parameters the agency confirms, the cost per entity it fixes (D3), the closing decision
(D5) and the state of the year (ADR 11)."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from famhp.billing.models import (
    AssessmentRun,
    InvoiceKind,
    YearSettings,
)
from famhp.rules.parameters import PARAMETER_NAMES, resolve_parameters


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
