"""Bulk declarations (issue 14): one upload of declarations for many companies, checked as a whole and
accepted all or nothing, with their certificates. The API and the portal's upload page both use it.

The upload is CSV (a header row, UTF-8, comma-separated) or JSON (a list of objects) with the columns
``COLUMNS``; row 1 is the first declaration. Each row's ``certificate`` names its PDF: the multipart field of
that name, else the uploaded file of that file name. Every problem of every row is reported, naming row and
field; nothing is recorded unless every row is right.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework import serializers

from famhp.api.problems import FieldError, django_errors, errors_of
from famhp.api.serializers import CertifiedSerializer
from famhp.declarations.models import Campaign, DeclarationVersion
from famhp.declarations.services import (
    Figures,
    certificate_check,
    declaration_open,
    declaration_submit,
    figures_check,
)
from famhp.registry.models import Operator

COLUMNS = (
    "year",
    "company",
    "total_turnover",
    "levied_turnover",
    "below_threshold",
    "not_liable",
    "certifier_name",
    "certifier_capacity",
    "certifier_membership_number",
    "certificate",
)
MAX_ROWS = 1000
MAX_BYTES = 2 * 1024 * 1024


class RowSerializer(CertifiedSerializer):
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    company = serializers.CharField(max_length=64, help_text="Enterprise number, or COUNTRY-identifier.")
    certificate = serializers.CharField(max_length=200, required=False, default="")


@dataclass(frozen=True)
class Row:
    campaign: Campaign
    operator: Operator
    figures: Figures
    certifier_name: str
    certifier_capacity: str
    certifier_membership_number: str
    certificate: UploadedFile | None


class BulkInvalid(Exception):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(f"{len(errors)} problems")
        self.errors = errors


def rows_read(upload: UploadedFile) -> list[dict[str, Any]]:
    """The upload's rows as dicts of strings (CSV) or JSON values (decimals kept exact)."""
    if upload.size is None or upload.size > MAX_BYTES:
        raise BulkInvalid([FieldError("declarations", _("The file is larger than 2 MB."))])
    raw = upload.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BulkInvalid([FieldError("declarations", _("The file is not UTF-8 text."))]) from None
    if text.lstrip().startswith(("[", "{")):
        try:
            data = json.loads(text, parse_float=Decimal)
        except (ValueError, RecursionError):
            raise BulkInvalid([FieldError("declarations", _("The file is not valid JSON."))]) from None
        if isinstance(data, dict):
            data = data.get("declarations")
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise BulkInvalid([FieldError("declarations", _("JSON: a list of declarations (objects) is expected."))])
        rows: list[dict[str, Any]] = data
    else:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        missing = [
            c for c in ("year", "company", "total_turnover", "levied_turnover") if c not in (reader.fieldnames or [])
        ]
        if missing:
            raise BulkInvalid(
                [FieldError(c, _("The header row lacks the column %(column)s.") % {"column": c}) for c in missing]
            )
        try:
            rows = [dict(row) for row in reader]
        except csv.Error as error:
            raise BulkInvalid(
                [FieldError("declarations", _("The CSV file is damaged: %(error)s") % {"error": error})]
            ) from None
    if not rows:
        raise BulkInvalid([FieldError("declarations", _("The file holds no declaration."))])
    if len(rows) > MAX_ROWS:
        raise BulkInvalid(
            [FieldError("declarations", _("At most %(count)s declarations in one upload.") % {"count": MAX_ROWS})]
        )
    return rows


def _cleaned(row: Mapping[str, Any]) -> dict[str, Any]:
    # CSV leaves empty cells as "": absent, so that the defaults (unticked boxes, no membership number) apply
    return {
        k: (v.strip() if isinstance(v, str) else v) for k, v in row.items() if k is not None and v not in ("", None)
    }


def _operator(identifier: str) -> Operator | None:
    """By enterprise number (dots and spaces allowed), or COUNTRY-identifier for a foreign operator."""
    compact = identifier.replace(".", "").replace(" ", "")
    if compact.isdigit():
        return Operator.objects.filter(enterprise_number=compact).first()
    country, separator, foreign = identifier.partition("-")
    if separator and foreign:
        return Operator.objects.filter(country=country.upper(), foreign_identifier=foreign).first()
    return None


def bulk_check(
    *,
    upload: UploadedFile,
    files: list[tuple[str, UploadedFile]],
    may_act_for: Callable[[Campaign, Operator], bool],
) -> list[Row]:
    """Every row checked (the columns, the company the caller acts for, the campaign open, the declaration's
    own rules, the certificate); raises BulkInvalid with every problem found, else the rows to submit."""
    by_field = dict(reversed(files))  # the first file of each field
    by_name = {f.name: f for _field, f in reversed(files) if f.name}
    errors: list[FieldError] = []
    rows: list[Row] = []
    seen: dict[tuple[int, int], int] = {}
    for number, raw in enumerate(rows_read(upload), start=1):
        unknown = sorted(str(k) for k in raw if k not in COLUMNS)
        errors += [FieldError(k, _("Unknown column."), number) for k in unknown]
        given = RowSerializer(data=_cleaned(raw))
        if not given.is_valid():
            errors += errors_of(given.errors, row=number)
            continue
        data = given.validated_data
        operator = _operator(data["company"])
        campaign = Campaign.objects.filter(year=data["year"]).first()
        # the same answer whether the company exists or not: nothing to learn about other companies
        if operator is None or campaign is None or not may_act_for(campaign, operator):
            errors.append(FieldError("company", _("You may not declare for this company in this year."), number))
            continue
        if (campaign.pk, operator.pk) in seen:
            errors.append(
                FieldError(
                    "company",
                    _("Declared twice in this upload (row %(row)s).") % {"row": seen[campaign.pk, operator.pk]},
                    number,
                )
            )
            continue
        seen[campaign.pk, operator.pk] = number
        if not declaration_open(campaign=campaign):
            errors.append(FieldError("year", _("The campaign %(year)s is closed.") % {"year": campaign.year}, number))
        figures = Figures(
            total_turnover=data["total_turnover"],
            levied_turnover=data["levied_turnover"],
            below_threshold=data["below_threshold"],
            not_liable=data["not_liable"],
        )
        errors += [
            FieldError(f, m, number)
            for f, m in figures_check(campaign=campaign, operator=operator, figures=figures).items()
        ]
        certificate = None
        if not figures.not_liable:  # FAQ 7: a company not liable declares without certificate
            certificate = by_field.get(data["certificate"]) or by_name.get(data["certificate"])
            if certificate is None:
                errors.append(FieldError("certificate", _("No uploaded file has this name."), number))
                continue
            try:
                certificate_check(certificate)
            except ValidationError as error:
                errors += [FieldError("certificate", e["message"], number) for e in django_errors(error)]
                continue
        rows.append(
            Row(
                campaign,
                operator,
                figures,
                data["certifier_name"],
                data["certifier_capacity"],
                data["certifier_membership_number"],
                certificate,
            )
        )
    if errors:
        raise BulkInvalid(errors)
    return rows


def bulk_submit(*, rows: list[Row], submitted_by: str) -> list[DeclarationVersion]:
    """All rows in one transaction: one that fails (a campaign closing meanwhile) records none, and the
    certificates already stored for the others are removed."""
    versions: list[DeclarationVersion] = []
    try:
        with transaction.atomic():
            for number, row in enumerate(rows, start=1):
                try:
                    versions.append(
                        declaration_submit(
                            campaign=row.campaign,
                            operator=row.operator,
                            figures=row.figures,
                            certifier_name=row.certifier_name,
                            certifier_capacity=row.certifier_capacity,
                            certifier_membership_number=row.certifier_membership_number,
                            certificate=row.certificate,
                            submitted_by=submitted_by,
                        )
                    )
                except ValidationError as error:
                    raise BulkInvalid(django_errors(error, row=number)) from None
    except BaseException:
        for version in versions:
            version.certificate.delete(save=False)
        raise
    return versions
