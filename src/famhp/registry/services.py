"""Writes to the register: operators, activities, self-control declarations, and the CSV import."""

from __future__ import annotations

import csv
import datetime
import io
import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _
from stdnum.be import vat as be_vat

from famhp.countries import country_problem
from famhp.languages import EMAIL_LANGUAGES
from famhp.registry.models import Activity, Operator, Role, SelfControlDeclaration
from famhp.rules import entity_table
from famhp.rules.entities import UnknownActivity
from famhp.text import text_problems, too_long


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


def _max_length(column: str) -> int | None:
    """The model's own limit for a column (the operator's fields; activity columns are checked by value)."""
    try:
        field = Operator._meta.get_field(column)
    except FieldDoesNotExist:  # a column of the activity or of the self-control guide
        return None
    # The enterprise number is checked by its own rule, whatever its dots and spaces.
    return None if column == "enterprise_number" else getattr(field, "max_length", None)


def _comparable(raw: str) -> str:
    """A foreign identifier without its punctuation, spaces or case: two spellings of one identifier compare
    equal."""
    return re.sub(r"[\s./-]", "", raw).upper()


def _check_row(number: int, row: dict[str, str]) -> tuple[dict[str, Any], list[RowError]]:
    errors: list[RowError] = []
    clean: dict[str, Any] = {}

    def fail(column: str, message: str) -> None:
        errors.append(RowError(number, column, message))

    for column, value in row.items():
        problems = text_problems(value)
        if problems:
            fail(
                column, _("contains %(problems)s: one line of plain text expected") % {"problems": ", ".join(problems)}
            )
            row[column] = ""  # reported once, not again by the checks below
        elif message := too_long(value.strip(), _max_length(column)):
            fail(column, message)
    unfit = {error.column for error in errors}
    for column in REQUIRED_COLUMNS - unfit:
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
    elif not country:
        fail("country", _("a two-letter ISO country code is required with a foreign identifier"))
    if country and (problem := country_problem(country)):
        fail("country", problem)
    clean["foreign_identifier"], clean["country"] = foreign, country or "BE"
    clean["written_as"] = enterprise or f"{clean['country']}-{foreign}"
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
    first_per_column = {error.column: error for error in reversed(errors)}  # one message per field
    return clean, [error for error in errors if first_per_column[error.column] is error]


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
    # The delimiter is the header's: sniffing a sample of the rows guesses wrong when a long field is cut off.
    header_line = text.split("\n", 1)[0]
    reader = csv.DictReader(io.StringIO(text), delimiter=max(",;\t", key=header_line.count))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = REQUIRED_COLUMNS - set(header)
    if missing:
        return ImportResult(0, 0, 0, (RowError(1, ", ".join(sorted(missing)), _("missing column")),))
    rows: list[tuple[int, dict[str, Any]]] = []
    errors: list[RowError] = []
    index = 1
    try:
        for index, row in enumerate(reader, start=2):
            unknown = [k for k in row if k not in CSV_COLUMNS and k is not None]
            if None in row:
                errors.append(RowError(index, "-", _("more fields than columns")))
            for column in unknown:
                errors.append(RowError(index, column, _("unknown column")))
            clean, row_errors = _check_row(
                index, {k: v for k, v in row.items() if k is not None and isinstance(v, str)}
            )
            errors.extend(row_errors)
            rows.append((index, clean))
    except csv.Error as error:  # a field over the csv module's limit, a quote never closed …
        errors.append(RowError(index + 1, "-", _("the file cannot be read as CSV: %(error)s") % {"error": error}))
    if not rows and not errors:
        errors.append(RowError(2, "-", _("the file has no rows")))
    reported = {(error.row, error.column) for error in errors}
    errors.extend(e for e in _one_operator_one_way(rows) if (e.row, e.column) not in reported)
    if errors:
        return ImportResult(0, 0, 0, tuple(errors))
    return _apply_rows(rows)


def _one_operator_one_way(rows: list[tuple[int, dict[str, Any]]]) -> list[RowError]:
    """An operator's rows (one per activity) write it one way: the same identifier in another spelling
    (0403.199.702, 0403199702, BE0403199702), or other details, are reported rather than merged."""
    errors: list[RowError] = []
    first: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
    for index, clean in rows:
        if clean.get("enterprise_number"):
            key, column = ("BE", clean["enterprise_number"]), "enterprise_number"
        elif clean.get("foreign_identifier"):
            key, column = (clean["country"], _comparable(clean["foreign_identifier"])), "foreign_identifier"
        else:
            continue
        if key not in first:
            first[key] = (index, clean)
            continue
        first_index, first_clean = first[key]
        if clean["written_as"] != first_clean["written_as"]:
            errors.append(
                RowError(
                    index,
                    column,
                    _("%(value)s is the operator of row %(row)s, written %(other)s there: write it one way")
                    % {"value": clean["written_as"], "row": first_index, "other": first_clean["written_as"]},
                )
            )
        for name in OPERATOR_FIELDS:
            if name in clean and name in first_clean and clean[name] != first_clean[name]:
                errors.append(
                    RowError(
                        index,
                        name,
                        _("differs from row %(row)s for the same operator (%(other)s there): one value expected")
                        % {"row": first_index, "other": first_clean[name]},
                    )
                )
    return errors


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
