"""Writing a year's rows in bulk: no model instance and no SQL compiled per row.

A year's run writes one result per operator and issuing one invoice per operator; Django's ``bulk_create``
spends most of its time building model instances and their SQL (measured, issue 15). The values here are the
ones the ORM would send: JSON as text (the same JSON as Django's, written compactly by orjson, about twenty
times faster than the json module: a year writes four JSON documents per operator), the rest as Python values
the driver adapts as Django does (Decimal, date, bool, int, str). Inserts only, inside the caller's transaction:
the database's constraints and triggers apply as to any other insert."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice
from typing import Any

import orjson
from django.db import connection, models

BATCH = 1000


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while a year's run builds its many small acyclic objects (hundreds of
    thousands of rows, JSON documents and results): it would only scan the growing heap again and again, as in
    ``famhp calculate``. Reference counting frees them as usual; the collector runs again afterwards."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def json_text(value: Any, encoder: type[json.JSONEncoder] | None = None) -> str:
    """The JSON text of ``value`` as a JSON field stores it: orjson for plain JSON values, else what Django writes
    (``json.dumps`` with the field's encoder: a tuple subclass, a value only the encoder knows)."""
    if encoder is None:
        try:
            return orjson.dumps(value).decode()
        except TypeError:
            pass
    return json.dumps(value, cls=encoder)


def json_value(text: str | bytes) -> Any:
    """A JSON document read as text (``json_text``'s counterpart, and for text the database wrote)."""
    return orjson.loads(text)


def _concrete(field: object) -> models.Field[Any, Any]:
    if not isinstance(field, models.Field) or not field.column:
        raise TypeError(f"{field} is not a column")
    return field


def rows_insert(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert ``rows`` (values in the order of ``fields``, attribute names such as ``operator_id``) into the
    model's table; returns the number of rows written. SQLite: one prepared statement run for each row
    (executemany); PostgreSQL: COPY (a statement per row is parsed and sent on its own)."""
    opts = model._meta
    columns = [_concrete(opts.get_field(name)) for name in fields]  # a foreign key by its attribute name too
    quote = connection.ops.quote_name
    table = quote(opts.db_table)
    names = ", ".join(quote(field.column) for field in columns)
    postgresql = connection.vendor == "postgresql"
    json_at = [(index, field.encoder) for index, field in enumerate(columns) if isinstance(field, models.JSONField)]
    # JSON as text (COPY reads it into jsonb; SQLite stores the text)
    adapt = json_text
    same: dict[int, tuple[Any, Any]] = {index: (object(), None) for index, _encoder in json_at}

    def prepared(row: Sequence[Any]) -> Sequence[Any]:
        if not json_at:
            return row
        values = list(row)
        for index, encoder in json_at:
            value = values[index]
            if value is not same[index][0]:  # one object on every row (a run's parameters): encoded once
                same[index] = (value, adapt(value, encoder))
            values[index] = same[index][1]
        return values

    written = 0
    with connection.cursor() as cursor:
        if postgresql:
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(prepared(row))
                    written += 1
            return written
        sql = "INSERT INTO {} ({}) VALUES ({})".format(table, names, ", ".join(["%s"] * len(columns)))
        iterator = iter(rows)
        while chunk := [prepared(row) for row in islice(iterator, BATCH)]:
            cursor.executemany(sql, chunk)
            written += len(chunk)
    return written
