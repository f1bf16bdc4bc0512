"""Reads of the year's parameters as the agency set them."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from famhp.billing.models import YearSettings
from famhp.rules import InvalidInput
from famhp.rules.parameters import PARAMETER_NAMES, ParameterValue, YearParameters, resolve_parameters

SETTINGS_SOURCE = "year settings of the agency"


def year_parameters(settings: YearSettings) -> YearParameters:
    """The settings as famhp.rules parameters, each marked confirmed or not."""
    given = {name: getattr(settings, name) for name in PARAMETER_NAMES}
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
