"""Text coming in and going out (ADR 14): one rule for what a person may type or import into a one-line field,
and one cleaner for what famhp writes into XML, PDF and e-mail headers.

In: a one-line field (a name, an address, an identifier) holds no control character at all: no NUL (which
PostgreSQL refuses outright), no line break (which breaks an e-mail subject or a CSV export), no tab, no
C1 control, no Unicode line or paragraph separator, no non-character. ``validate_one_line`` is the validator,
on the model fields and the forms alike; ``text_problems`` names what is wrong for the CSV import's messages.

Out: a value that got in before this rule, or from a bank file, is written anyway: ``one_line`` turns every
such character into a space, so that an invoice's UBL (XML 1.0 forbids most control characters), its PDF and
the subject of an e-mail never fail because of one name.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

#: Line breaks of every kind (what ``str.splitlines`` splits on).
LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufffe\uffff\ud800-\udfff]")


def text_problems(value: str) -> list[str]:
    """What makes ``value`` unfit for a one-line field, each named in words (empty: it is fine)."""
    problems = []
    if "\x00" in value:
        problems.append(str(_("a NUL byte")))
    if any(character in LINE_BREAKS for character in value):
        problems.append(str(_("a line break")))
    others = sorted(
        {c for c in _FORBIDDEN.findall(value) if c != "\x00" and c not in LINE_BREAKS},
    )
    if others:
        problems.append(
            str(_("a control character (%(codes)s)")) % {"codes": ", ".join(f"U+{ord(c):04X}" for c in others)}
        )
    return problems


@deconstructible
class OneLineValidator:
    """Refuses control characters and line breaks in a one-line text field."""

    code = "control_characters"

    def __call__(self, value: object) -> None:
        if not isinstance(value, str):
            return
        problems = text_problems(value)
        if problems:
            raise ValidationError(
                _("This field is one line of plain text: remove %(problems)s."),
                code=self.code,
                params={"problems": ", ".join(problems)},
            )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OneLineValidator)

    def __hash__(self) -> int:
        return hash(OneLineValidator)


validate_one_line = OneLineValidator()


def too_long(value: str, max_length: int | None) -> str | None:
    """The message for a value longer than ``max_length`` characters, or None."""
    if max_length is None or len(value) <= max_length:
        return None
    return str(_("%(length)s characters, at most %(max)s allowed")) % {"length": len(value), "max": max_length}


def one_line(value: object) -> str:
    """``value`` as text fit for XML 1.0, a PDF and an e-mail header: every control character, line break or
    non-character becomes a space, runs of spaces become one."""
    text = unicodedata.normalize("NFC", "" if value is None else str(value))
    return re.sub(" {2,}", " ", _FORBIDDEN.sub(" ", text)).strip()


class OneLineTextAdmin:
    """For every ModelAdmin of the back office (the admin site mixes it in): each form field of a one-line text
    column (``CharField``; ``TextField`` is left multi-line) refuses control characters and line breaks; the
    model's ``max_length`` already bounds its length."""

    def formfield_for_dbfield(self, db_field: models.Field[Any, Any], request: HttpRequest, **kwargs: Any) -> Any:
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]
        if (
            isinstance(db_field, models.CharField)
            and formfield is not None
            and validate_one_line not in formfield.validators
        ):
            formfield.validators.append(validate_one_line)
        return formfield


def without_control(value: str) -> str:
    """``value`` with each control character, line break or non-character replaced by a space, and otherwise
    untouched (unlike ``one_line``): for identifiers read from a bank file, whose spelling must not change."""
    return _FORBIDDEN.sub(" ", value) if _FORBIDDEN.search(value) else value
