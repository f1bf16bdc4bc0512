"""Writes to the register: operators, activities, self-control declarations, and the CSV import."""

from __future__ import annotations

import csv
import datetime
import io
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _
from stdnum.be import vat as be_vat

from famhp.languages import EMAIL_LANGUAGES
from famhp.registry.models import Activity, Operator, Role, SelfControlDeclaration
from famhp.rules import entity_table
from famhp.rules.entities import UnknownActivity


def normalise_enterprise_number(raw: str) -> str:
    """A valid Belgian enterprise number as 10 digits (python-stdnum ``be.vat``); ValidationError otherwise."""
    try:
        return str(be_vat.validate(raw))
    except Exception:  # stdnum raises its own ValidationError subclasses
        raise ValidationError(_("%(value)s is not a valid Belgian enterprise number.") % {"value": raw}) from None


def operator_create(
    *,
    name: str,
    contact_email: str,
    enterprise_number: str = "",
    foreign_identifier: str = "",
    country: str = "BE",
    street: str = "",
    postal_code: str = "",
    city: str = "",
    language: str = "nl",
    established_in_belgium: bool = True,
    active_in_belgium: bool = True,
) -> Operator:
    operator = Operator(
        enterprise_number=normalise_enterprise_number(enterprise_number) if enterprise_number else None,
        foreign_identifier=foreign_identifier,
        country=country.upper(),
        name=name,
        street=street,
        postal_code=postal_code,
        city=city,
        contact_email=contact_email,
        language=language,
        established_in_belgium=established_in_belgium,
        active_in_belgium=active_in_belgium,
    )
    operator.full_clean()
    operator.save()
    return operator


def activity_register(
    *,
    operator: Operator,
    role: str,
    category: str,
    registered_on: datetime.date,
    closed_on: datetime.date | None = None,
) -> Activity:
    activity = Activity(
        operator=operator, role=role, category=category, registered_on=registered_on, closed_on=closed_on
    )
    activity.full_clean()
    activity.save()
    return activity


def activity_close(*, activity: Activity, closed_on: datetime.date) -> Activity:
    if activity.closed_on is not None:
        raise ValidationError(_("This activity is already closed."))
    activity.closed_on = closed_on
    activity.full_clean()
    activity.save(update_fields=["closed_on"])
    return activity


def self_control_declare(
    *, operator: Operator, declared_on: datetime.date, complies: bool = True
) -> SelfControlDeclaration:
    declaration = SelfControlDeclaration(operator=operator, declared_on=declared_on, complies=complies)
    declaration.full_clean()
    declaration.save()
    return declaration


# --- CSV import ---------------------------------------------------------------------------------------------

#: The operator's own fields, updated on re-import (identifiers excluded: they find the operator).
OPERATOR_FIELDS = (
    "name",
    "street",
    "postal_code",
    "city",
    "contact_email",
    "language",
    "established_in_belgium",
    "active_in_belgium",
)
#: One row per activity, operator columns repeated: the shape of the agency registration portal's export.
CSV_COLUMNS = (
    "enterprise_number",
    "foreign_identifier",
    "country",
    *OPERATOR_FIELDS,
    "role",
    "category",
    "registered_on",
    "closed_on",
    "self_control_guide_since",
)
REQUIRED_COLUMNS = {"name", "contact_email", "role", "category", "registered_on"}
TRUE, FALSE = {"1", "true", "yes", "y", "ja", "oui"}, {"0", "false", "no", "n", "nee", "non", ""}


@dataclass(frozen=True)
class RowError:
    row: int  # the line number in the file, header = 1
    column: str
    message: str

    def __str__(self) -> str:
        return _("Row %(row)s, column %(column)s: %(message)s") % {
            "row": self.row,
            "column": self.column,
            "message": self.message,
        }


@dataclass(frozen=True)
class ImportResult:
    operators_created: int
    operators_updated: int
    activities_created: int
    errors: tuple[RowError, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


def _date(value: str) -> datetime.date:
    return datetime.date.fromisoformat(value.strip())


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise ValueError(value)


def _check_row(number: int, row: dict[str, str]) -> tuple[dict[str, Any], list[RowError]]:
    errors: list[RowError] = []
    clean: dict[str, Any] = {}

    def fail(column: str, message: str) -> None:
        errors.append(RowError(number, column, message))

    for column in REQUIRED_COLUMNS:
        if not (row.get(column) or "").strip():
            fail(column, _("required"))
    enterprise = (row.get("enterprise_number") or "").strip()
    foreign = (row.get("foreign_identifier") or "").strip()
    country = (row.get("country") or ("BE" if enterprise else "")).strip().upper()
    if enterprise:
        try:
            clean["enterprise_number"] = normalise_enterprise_number(enterprise)
        except ValidationError:
            fail("enterprise_number", _("%(value)s is not a valid Belgian enterprise number.") % {"value": enterprise})
    elif not foreign:
        fail("enterprise_number", _("give a Belgian enterprise number, or a foreign identifier and country"))
    elif len(country) != 2 or not country.isalpha():
        fail("country", _("a two-letter ISO country code is required with a foreign identifier"))
    clean["foreign_identifier"], clean["country"] = foreign, country or "BE"
    email = (row.get("contact_email") or "").strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            fail("contact_email", _("%(value)s is not a valid e-mail address") % {"value": email})
    clean["contact_email"] = email
    language = (row.get("language") or "nl").strip().lower()
    if language not in EMAIL_LANGUAGES:
        fail("language", _("one of nl, fr, en, de"))
    clean["language"] = language
    for column in ("established_in_belgium", "active_in_belgium"):
        raw = row.get(column)
        try:
            clean[column] = True if raw is None or not raw.strip() else _bool(raw)
        except ValueError:
            fail(column, _("true or false expected, not %(value)s") % {"value": raw})
    role, category = (row.get("role") or "").strip(), (row.get("category") or "").strip()
    if role and category:
        if role not in Role.values:
            fail("role", _("unknown role %(value)s") % {"value": role})
        else:
            try:
                entity_table().entities(role, category)
            except UnknownActivity:
                fail(
                    "category",
                    _("the role %(role)s does not exist for the category %(category)s")
                    % {"role": role, "category": category},
                )
    clean["role"], clean["category"] = role, category
    for column in ("registered_on", "closed_on", "self_control_guide_since"):
        raw = (row.get(column) or "").strip()
        if not raw:
            clean[column] = None
            continue
        try:
            clean[column] = _date(raw)
        except ValueError:
            fail(column, _("a date YYYY-MM-DD expected, not %(value)s") % {"value": raw})
    if clean.get("registered_on") and clean.get("closed_on") and clean["closed_on"] < clean["registered_on"]:
        fail("closed_on", _("an activity cannot close before it was registered"))
    if clean.get("self_control_guide_since") and role != "distributor":
        fail("self_control_guide_since", _("only a distributor declares the self-control guide"))
    for column in ("name", "street", "postal_code", "city"):
        clean[column] = (row.get(column) or "").strip()
    return clean, errors


def operators_import_csv(*, data: bytes) -> ImportResult:
    """Import operators and activities from the registration portal's CSV export, all or nothing.

    Every row is checked first; a file with any bad row imports nothing and returns every error with its row
    and column. Operators are matched by enterprise number (or country and foreign identifier) and updated;
    an activity already registered (same operator, role, category and date) is not duplicated.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return ImportResult(
            0, 0, 0, (RowError(1, "-", _("the file is not UTF-8 text (byte %(at)s)") % {"at": error.start}),)
        )
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = REQUIRED_COLUMNS - set(header)
    if missing:
        return ImportResult(0, 0, 0, (RowError(1, ", ".join(sorted(missing)), _("missing column")),))
    rows: list[tuple[int, dict[str, Any]]] = []
    errors: list[RowError] = []
    for index, row in enumerate(reader, start=2):
        unknown = [k for k in row if k not in CSV_COLUMNS and k is not None]
        if None in row:
            errors.append(RowError(index, "-", _("more fields than columns")))
        for column in unknown:
            errors.append(RowError(index, column, _("unknown column")))
        clean, row_errors = _check_row(index, {k: v for k, v in row.items() if k is not None and isinstance(v, str)})
        errors.extend(row_errors)
        rows.append((index, clean))
    if not rows and not errors:
        errors.append(RowError(2, "-", _("the file has no rows")))
    if errors:
        return ImportResult(0, 0, 0, tuple(errors))
    return _apply_rows(rows)


@transaction.atomic
def _apply_rows(rows: list[tuple[int, dict[str, Any]]]) -> ImportResult:
    created = updated = activities = 0
    seen: dict[tuple[str, str, str], Operator] = {}
    for _index, clean in rows:
        key = (clean.get("enterprise_number") or "", clean["country"], clean["foreign_identifier"])
        operator = seen.get(key)
        if operator is None:
            lookup = (
                {"enterprise_number": clean["enterprise_number"]}
                if clean.get("enterprise_number")
                else {"country": clean["country"], "foreign_identifier": clean["foreign_identifier"]}
            )
            fields = {name: clean[name] for name in OPERATOR_FIELDS}
            operator, was_created = Operator.objects.update_or_create(**lookup, defaults=fields)
            created += was_created
            updated += not was_created
            seen[key] = operator
        _activity, new = Activity.objects.get_or_create(
            operator=operator,
            role=clean["role"],
            category=clean["category"],
            registered_on=clean["registered_on"],
            defaults={"closed_on": clean["closed_on"]},
        )
        activities += new
        if clean["self_control_guide_since"]:
            SelfControlDeclaration.objects.get_or_create(
                operator=operator, declared_on=clean["self_control_guide_since"], defaults={"complies": True}
            )
    return ImportResult(created, updated, activities, ())
