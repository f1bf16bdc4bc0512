"""Year settings: the parameters the agency confirms, the cost per entity it fixes (D3), the closing decision
(D5) and closing the year (ADR 11)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import models, transaction
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
from famhp.billing.services.runs import latest_run
from famhp.rules import InvalidInput, applied_levy_rate
from famhp.rules.parameters import PARAMETER_NAMES, resolve_parameters
from famhp.text import validate_one_line

#: set only by the closing decision (D5), never from the built-in parameters
DECIDED_BY_THE_AGENCY = frozenset({"effective_levy_rate"})
#: what ``year_settings_change`` sets: the parameters famhp.rules bounds (the lowered rate excepted: the closing
#: decision alone sets it, D5), the interest terms (D10), the payment terms and the list of confirmed parameters
AMOUNT_PARAMETERS = tuple(name for name in PARAMETER_NAMES if name not in DECIDED_BY_THE_AGENCY)
SETTABLE = (
    *AMOUNT_PARAMETERS,
    "late_interest_period",
    "late_interest_base",
    "activity_tax_due_days",
    "levy_due_days",
    "confirmed",
)
#: the longest reason the history keeps (simple-history's ``history_change_reason``)
REASON_LENGTH = 100


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
        if settings.max_levy_rate is None:
            # no maximum: the rate that applies is the one the year's run computed (D5), and lowering it is a rate
            # below that one — never a guess (0.29438 typed for 0.29438 % would be a rate of 29 %)
            run = latest_run(year)
            computed = run.summary.get("levy_rate") if run is not None else None
            if computed is None:
                raise ValidationError(
                    _(
                        "%(year)s has no maximum rate and no computed levy rate yet: set the maximum rate or run "
                        "the assessment before lowering the rate (D5)."
                    )
                    % {"year": year}
                )
            if lowered_rate > Decimal(computed):
                raise ValidationError(
                    _(
                        "The lowered rate %(rate)s is above the rate %(computed)s the assessment of %(year)s computed (D5)."
                    )
                    % {"rate": lowered_rate, "computed": Decimal(computed), "year": year}
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


@dataclass(frozen=True)
class SettingChange:
    """One setting of a year as it was and as it is now."""

    name: str
    before: Any
    after: Any

    @property
    def label(self) -> str:
        return str(_field(self.name).verbose_name)


def _field(name: str) -> models.Field[Any, Any]:
    field = YearSettings._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field


def _same(name: str, stored: Any, given: Any) -> bool:
    if name == "confirmed":
        return sorted(set(stored or ())) == sorted(set(given or ()))
    return bool(stored == given)


def _typed(name: str, value: Any) -> Any:
    """The value as the field holds it (a Decimal for an amount, a sorted list of names for ``confirmed``)."""
    if name == "confirmed":
        if not isinstance(value, list | tuple | set | frozenset) or not all(isinstance(n, str) for n in value):
            raise ValidationError(_("The confirmed parameters are a list of parameter names."))
        return sorted(set(value))
    return _field(name).to_python(value)


def settings_changes(
    settings: YearSettings, changes: Mapping[str, Any], *, confirm: bool = False
) -> list[SettingChange]:
    """What ``changes`` would change in ``settings``, in the order of ``SETTABLE``; with ``confirm``, the
    parameters given a value are confirmed too (the list of confirmed parameters is then one of the changes)."""
    unknown = sorted(set(changes) - set(SETTABLE))
    if unknown:
        raise ValidationError(
            _("These are not settings of a year the agency changes here: %(names)s.") % {"names": ", ".join(unknown)}
        )
    wanted = {name: _typed(name, value) for name, value in changes.items()}
    if confirm:
        confirmed = set(wanted.get("confirmed", settings.confirmed))
        confirmed |= {n for n, v in wanted.items() if n in AMOUNT_PARAMETERS and v is not None}
        wanted["confirmed"] = sorted(confirmed)
    return [
        SettingChange(name, getattr(settings, name), wanted[name])
        for name in SETTABLE
        if name in wanted and not _same(name, getattr(settings, name), wanted[name])
    ]


def settings_moved(settings: YearSettings, based_on: Mapping[str, Any]) -> list[str]:
    """The settings (their names in words) that hold other values than ``based_on``, the values a preview was
    computed with: someone changed them since."""
    return sorted(
        str(_field(name).verbose_name)
        for name, value in based_on.items()
        if not _same(name, getattr(settings, name), _typed(name, value))
    )


def outside_the_rules(settings: YearSettings) -> list[str]:
    """famhp.rules' objections to the parameters of ``settings`` (its bounds, and D5: a lowered rate at most
    the maximum), each as a message; empty: the rules accept them, as a what-if or a run would read them."""
    try:
        resolve_parameters(settings.year, {name: getattr(settings, name) for name in PARAMETER_NAMES})
    except InvalidInput as invalid:
        return [
            _("These values are outside what the rules allow: %(problem)s") % {"problem": problem}
            for problem in invalid.problems
        ]
    return []


def change_refusals(settings: YearSettings) -> list[str]:
    """Why ``settings``, holding the new values, cannot be stored (empty: they can), in the order a person
    fixes them: a closed year; what an invoiced year keeps (the model's one rule, ``fixed_changes``: D3, D8,
    ADR 11); famhp.rules' bounds. Reads only: the what-if's confirmation step shows the same refusals."""
    if settings.closed_on is not None:
        return [_("%(year)s is closed: its settings no longer change.") % {"year": settings.year}]
    try:
        settings.clean()
    except ValidationError as fixed:
        return list(fixed.messages)
    return outside_the_rules(settings)


@transaction.atomic
def year_settings_change(
    *,
    year: int,
    changes: Mapping[str, Any],
    by: AbstractBaseUser | AnonymousUser | None,
    reason: str,
    confirm: bool = False,
    based_on: Mapping[str, Any] | None = None,
) -> list[SettingChange]:
    """Change the agency's settings of ``year`` (the one way: the workplace's what-if, the admin's form): under
    the year's lock, every check before anything is written, the change kept in the year's history with who,
    when and why. ``changes``: a setting's name (``SETTABLE``) → its new value (None: empty). ``confirm``: the
    parameters given a value are confirmed as well. ``based_on``: the values a preview was computed with; if
    the settings hold others now, someone changed them since, and nothing is saved.

    Refused with a message, changing nothing: nothing would change (a second click finds the first one done);
    the settings changed since the preview; a confirmed parameter of an invoiced year (D3, D8, ADR 11,
    ``YearSettings.fixed_changes``); a value out of famhp.rules' bounds; a closed year."""
    reason = reason.strip()
    if not reason or len(reason) > REASON_LENGTH:
        raise ValidationError(
            _("Give the reason of the change in one line of at most %(length)s characters.") % {"length": REASON_LENGTH}
        )
    validate_one_line(reason)
    settings = year_settings_locked(year)
    done = settings_changes(settings, changes, confirm=confirm)
    if not done:
        raise ValidationError(
            _("Nothing to save: the settings of %(year)s already hold these values.") % {"year": year}
        )
    moved = settings_moved(settings, based_on or {})
    if moved:
        raise ValidationError(
            _(
                "The settings of %(year)s changed since this preview (%(names)s): nothing is saved. Look at the "
                "new values and try again."
            )
            % {"year": year, "names": ", ".join(moved)}
        )
    for change in done:
        setattr(settings, change.name, change.after)
    refusals = change_refusals(settings)
    if refusals:
        raise ValidationError(refusals)
    settings.clean_fields()  # the model's clean() ran in change_refusals; the year (unique) does not change
    settings._change_reason = reason  # type: ignore[attr-defined]  # simple-history: why, in the year's history
    if by is not None and by.is_authenticated:
        settings._history_user = by  # type: ignore[attr-defined]  # and who, also outside a request
    settings.save(update_fields=[change.name for change in done])
    return done


#: what ``year_settings_prepare`` carries over to the next year: the parameters and terms the agency sets
#: (not the cost per entity, fixed per year at its run's proposal, D3; nor the closing decision, D5)
CARRIED_OVER = tuple(name for name in SETTABLE if name not in {"cost_per_entity", "confirmed"})


@transaction.atomic
def year_settings_prepare(*, year: int, by: AbstractBaseUser | AnonymousUser | None) -> YearSettings:
    """Create the settings of ``year + 1`` from those of ``year``, none confirmed: the agency checks and confirms
    each once published (D7, D10 block invoices on an unconfirmed parameter). The cost per entity stays empty
    (computed from the budget, D3) and so does the closing decision (D5). Refused, creating nothing, if the
    next year has settings already. The year's lock queues two clicks: the second finds the year prepared."""
    settings = year_settings_locked(year)
    following = year + 1
    if YearSettings.objects.filter(year=following).exists():
        raise ValidationError(_("The settings of %(year)s exist already.") % {"year": following})
    prepared = YearSettings(year=following, **{name: getattr(settings, name) for name in CARRIED_OVER})
    prepared.confirmed = []
    prepared.full_clean()
    prepared._change_reason = _("Prepared from the settings of %(year)s") % {"year": year}  # type: ignore[attr-defined]
    if by is not None and by.is_authenticated:
        prepared._history_user = by  # type: ignore[attr-defined]
    prepared.save()
    return prepared
