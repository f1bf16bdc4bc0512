"""A list as a file: CSV (UTF-8 with a byte-order mark, so that spreadsheet programs read accents) and XLSX
(openpyxl, amounts as numbers with two decimals, dates as dates). The same rows as the page, every page."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal
from typing import Any

from django.http import HttpResponse

from famhp.workplace.lists import Listing

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def _safe(text: str) -> str:
    """A cell never starts a formula in a spreadsheet program (CSV injection): "=", "+", "-", "@" are quoted."""
    return f"'{text}" if text[:1] in {"=", "+", "-", "@", "\t", "\r"} else text


def _cell(value: Any, numeric: bool) -> str:
    if numeric and isinstance(value, int | Decimal):
        return str(value)  # a negative amount stays a number
    return _safe(_text(value))


def listing_csv(listing: Listing, filename: str) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_safe(str(c.label)) for c in listing.columns])
    for row in listing.rows:
        writer.writerow([_cell(row.get(c.key), c.numeric) for c in listing.columns])
    response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def listing_xlsx(listing: Listing, filename: str) -> HttpResponse:
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = str(listing.title)[:31]
    sheet.append([str(c.label) for c in listing.columns])
    for row in listing.rows:
        cells: list[Any] = []
        for column in listing.columns:
            value = row.get(column.key)
            if isinstance(value, Decimal | int | datetime.date) and not isinstance(value, bool):
                cells.append(value)
            else:
                cells.append(_safe(_text(value)))
        sheet.append(cells)
    for index, column in enumerate(listing.columns, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(12, len(str(column.label)) + 2)
        for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
            if isinstance(cell.value, Decimal):
                cell.number_format = "#,##0.00"
            elif isinstance(cell.value, datetime.date):
                cell.number_format = "yyyy-mm-dd"
    sheet.freeze_panes = "A2"
    output = io.BytesIO()
    book.save(output)
    response = HttpResponse(output.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    return response
