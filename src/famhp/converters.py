"""Path converters shared by every front door: ids and contribution years that never reach the database or the
calendar out of range (an unknown id or year is a 404, never a server error)."""

from __future__ import annotations

from django.urls import register_converter

#: The contribution years a page or route may name; anything else is not found.
FIRST_YEAR, LAST_YEAR = 2000, 2099


class Id:
    """A row id: at most 18 digits, so that no number goes beyond the database's integers."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


class Year(Id):
    """A contribution year, 2000–2099."""

    regex = "20[0-9]{2}"


def year_or_none(value: object) -> int | None:
    """A year given as text (a query parameter): the year, or None when it is not a contribution year."""
    try:
        year = int(str(value))
    except ValueError:
        return None
    return year if FIRST_YEAR <= year <= LAST_YEAR else None


register_converter(Id, "id")
register_converter(Year, "year")
