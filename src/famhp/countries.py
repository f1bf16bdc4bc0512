"""Countries as ISO 3166-1 alpha-2 codes (issue 11), checked with pycountry: one validator wherever a country
enters (the register's model and forms, the admin, the operator CSV import) and one correction for the UBL
(CEN rule BR-CL-14). Codes people commonly type instead (``UK``, ``EL``) are refused with the right one named."""

from __future__ import annotations

import functools

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from famhp.text import validate_one_line

#: Codes people type for a country that are not its ISO 3166-1 alpha-2 code: the code that is meant.
#: UK is the United Kingdom's usual abbreviation, EL Greece's code in EU VAT numbers.
COMMON_MISTAKES = {"UK": "GB", "EL": "GR"}


@functools.cache
def _codes() -> dict[str, str]:
    """Every ISO 3166-1 alpha-2 code with the country's English name."""
    import pycountry  # loaded on first use: its tables are large

    return {country.alpha_2: country.name for country in pycountry.countries}


def country_name(code: str) -> str:
    """The English name of an ISO 3166-1 alpha-2 code, or the empty string."""
    return _codes().get(code, "")


def country_problem(code: str) -> str | None:
    """Why ``code`` is not an ISO 3166-1 alpha-2 code (in words, with the code meant for a common mistake), or
    None. The code is taken as written: ``be`` is refused (capitals), as the database compares exact codes."""
    if code in _codes():
        return None
    typed = code.strip().upper()
    meant = COMMON_MISTAKES.get(typed)
    if meant is not None:
        return _("%(code)s is not an ISO 3166-1 country code: write %(meant)s (%(name)s).") % {
            "code": code,
            "meant": meant,
            "name": country_name(meant),
        }
    if typed in _codes():
        return _("Write the country code in capitals: %(meant)s.") % {"meant": typed}
    return _("%(code)s is not an ISO 3166-1 country code: two letters, such as BE, DE, FR or NL.") % {"code": code}


def validate_country(value: str) -> None:
    """Django validator: ``value`` is an ISO 3166-1 alpha-2 code (see :func:`country_problem`)."""
    problem = country_problem(value)
    if problem is not None:
        raise ValidationError(problem, code="country")


def iso_country(code: str) -> str | None:
    """The ISO 3166-1 alpha-2 code ``code`` stands for: itself (in capitals), or the code a common mistake
    means (``UK`` is ``GB``, ``EL`` is ``GR``); None when it stands for no country."""
    typed = code.strip().upper()
    corrected = COMMON_MISTAKES.get(typed, typed)
    return corrected if corrected in _codes() else None


class CountryField(forms.CharField):
    """A form field for a country code: spaces removed, written in capitals, then :func:`validate_country`."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("max_length", 2)
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.validators += [validate_one_line, validate_country]

    def to_python(self, value: object) -> str:
        return str(super().to_python(value)).strip().upper()
