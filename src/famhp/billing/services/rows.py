"""Writing a year's rows in bulk: one statement per thousand rows instead of a model instance per row.

A year's run writes one result per operator and issuing one invoice per operator; Django's ``bulk_create``
spends most of its time building model instances and their SQL (measured, issue 15). The values here are the
ones the ORM would send: JSON through the backend's own adapter, the rest as Python values the driver adapts as
Django does (Decimal, date, bool, int, str). Inserts only: the database's constraints and triggers apply as
to any other insert."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any

from django.db import connection, models

BATCH = 1000


def _concrete(field: object) -> models.Field[Any, Any]:
    if not isinstance(field, models.Field) or not field.column:
        raise TypeError(f"{field} is not a column")
    return field


def rows_insert(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert ``rows`` (values in the order of ``fields``, attribute names such as ``operator_id``) into the
    model's table inside the caller's transaction; returns the number of rows written."""
    opts = model._meta
    columns = [_concrete(opts.get_field(name)) for name in fields]  # a foreign key by its attribute name too
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(opts.db_table),
        ", ".join(quote(field.column) for field in columns),
        ", ".join(["%s"] * len(columns)),
    )
    adapt = connection.ops.adapt_json_value
    json_at = [(index, field.encoder) for index, field in enumerate(columns) if isinstance(field, models.JSONField)]
    same: dict[int, tuple[Any, Any]] = {index: (object(), None) for index, _encoder in json_at}
    written = 0
    iterator = iter(rows)
    with connection.cursor() as cursor:
        while chunk := list(islice(iterator, BATCH)):
            if json_at:
                prepared = []
                for row in chunk:
                    values = list(row)
                    for index, encoder in json_at:
                        value = values[index]
                        if value is not same[index][0]:  # one object on every row (a run's parameters): once
                            same[index] = (value, adapt(value, encoder))
                        values[index] = same[index][1]
                    prepared.append(values)
                cursor.executemany(sql, prepared)
            else:
                cursor.executemany(sql, chunk)
            written += len(chunk)
    return written
