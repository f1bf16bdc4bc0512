"""Reads of the year's parameters as the agency set them."""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from famhp.billing.models import INTEREST_PARAMETERS, YearSettings
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
