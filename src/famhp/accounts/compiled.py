"""Lookups every request makes, their SQL compiled once per process (issue 15).

Building and compiling an ORM query costs 0.5-0.9 ms of CPU, sending it and reading its row 0.1 ms. The pages
and the API look up the same few rows at every request: the person logged in, the company of the address, the
campaign of the year, whether the person has access to the company. These helpers compile such a lookup the
first time, through the ORM (the model's default manager, its table, its columns, the database's dialect), and
then send the same SQL with the new values; the row is turned into a model exactly as the ORM's iterable does
(the database's converters, ``Model.from_db``).

Only equality on a model's own fields (``pk``, a field or a foreign key's ``_id``) with an ``int`` or ``str``,
or ``None`` for ``IS NULL``. The SQL is reused only if compiling it put exactly the given values, in the order of
their names, as its last parameters (those before are constants, such as ``SELECT 1`` of ``exists()``): the
statement then depends on nothing but the names and which values are None. Anything else
goes through the ORM as before, with the same answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections, models, router
from django.db.models.query import ModelIterable, QuerySet, get_related_populators  # type: ignore[attr-defined]
from django.db.models.sql.compiler import SQLCompiler

M = TypeVar("M", bound=models.Model)

#: (model, database, kind, (name, None or the value's type)…) → (SQL, compiler, converters, column names, constant
#: parameters), or None: this lookup goes through the ORM
_statements: dict[tuple[Any, ...], tuple[str, SQLCompiler | None, Any, list[str], list[Any]] | None] = {}
_TYPES = (int, str)


def _plain(model: type[models.Model], lookups: dict[str, object]) -> bool:
    """Equality on the model's own concrete fields, with values the statement can take as they are."""
    for name, value in lookups.items():
        if value is not None and type(value) not in _TYPES:  # bool is an int, and is refused here too
            return False
        if name == "pk":
            continue
        field = _field(model, name)
        if field is None or not field.concrete or field.many_to_many:
            return False
    return True


def _field(model: type[models.Model], name: str) -> Any:
    """The concrete field ``name`` names (a foreign key by its ``_id`` too), or None: a lookup with ``__``, a name
    the model lacks."""
    for field in model._meta.concrete_fields:
        if name in {field.name, field.attname}:
            return field
    return None


def _values(lookups: dict[str, object]) -> list[Any]:
    """The values as the compiled statement takes them: by name (a filter's keywords are sorted), None left out
    (``IS NULL``)."""
    return [value for _name, value in sorted(lookups.items()) if value is not None]


def _statement(
    model: type[models.Model], database: str, lookups: dict[str, object], kind: str
) -> tuple[str, SQLCompiler | None, Any, list[str], list[Any]] | None:
    key = (model, database, kind, tuple((n, None if v is None else type(v)) for n, v in lookups.items()))
    if key in _statements:
        return _statements[key]
    queryset = model._default_manager.db_manager(database).filter(**lookups).order_by()
    query = queryset.query.exists() if kind == "exists" else queryset.query
    compiler = query.get_compiler(using=database)
    sql, params = compiler.as_sql()
    given = _values(lookups)
    constant = list(params[: len(params) - len(given)])  # what the statement holds whatever the values (SELECT 1)
    tail = list(params[len(constant) :])
    entry: tuple[str, SQLCompiler | None, Any, list[str], list[Any]] | None = None
    if tail == given and all(type(p) is type(v) for p, v in zip(tail, given, strict=True)):
        if kind == "exists":
            entry = (sql, None, None, [], constant)
        else:
            klass_info = compiler.klass_info
            fields = klass_info["select_fields"] if klass_info else []
            select = compiler.select[fields[0] : fields[-1] + 1] if fields else []
            if len(select) == len(compiler.select) and not compiler.annotation_col_map:
                converters = compiler.get_converters([column for column, _sql, _alias in select])
                names = [column.target.attname for column, _sql, _alias in select]
                entry = (sql, compiler, converters, names, constant)
    _statements[key] = entry
    return entry


def unique_row(model: type[M], **unique: object) -> M | None:
    """The row a lookup on a unique field (or ``pk``) finds, as ``get()`` gives it, or None."""
    database = router.db_for_read(model)
    entry = _statement(model, database, unique, "row") if _plain(model, unique) else None
    if entry is None:
        try:
            return model._default_manager.db_manager(database).get(**unique)
        except model.DoesNotExist:  # type: ignore[attr-defined]
            return None
    sql, compiler, converters, names, constant = entry
    assert compiler is not None
    with connections[database].cursor() as cursor:
        cursor.execute(sql, [*constant, *_values(unique)])
        rows = cursor.fetchmany(2)
    if len(rows) != 1:
        if rows:
            raise model.MultipleObjectsReturned(f"{model.__name__}: {unique!r} is not unique")  # type: ignore[attr-defined]
        return None
    if converters:
        rows = list(compiler.apply_converters(rows, converters))
    return model.from_db(database, names, rows[0])


def row_exists(model: type[models.Model], **lookups: object) -> bool:
    """``model.objects.filter(**lookups).exists()``."""
    database = router.db_for_read(model)
    entry = _statement(model, database, lookups, "exists") if _plain(model, lookups) else None
    if entry is None:
        return model._default_manager.db_manager(database).filter(**lookups).exists()
    with connections[database].cursor() as cursor:
        cursor.execute(entry[0], [*entry[4], *_values(lookups)])
        return cursor.fetchone() is not None


#: name, the values' types → (SQL, constant parameters, compiler), or None: that list goes through the ORM
_lists: dict[tuple[Any, ...], tuple[str, list[Any], SQLCompiler] | None] = {}


def compiled_list(name: str, build: Callable[[], QuerySet[M]], values: list[Any]) -> list[M]:
    """The models the queryset ``build()`` reads (its filters, annotations, ``select_related``, ordering), for a
    read a page makes at every request: ``build`` is called and compiled the first time, the SQL then sent with
    the new ``values``. ``name`` names one shape of query, and ``values`` must be every value the query depends
    on (the compiled statement must end with exactly them, as ``int`` or ``str``, or the ORM reads it each time).
    No ``prefetch_related``, no ``values()``: those are read by the ORM each time."""
    key = (name, tuple(type(value) for value in values))
    if key not in _lists:
        queryset = build()
        entry = None
        if (
            all(type(value) in _TYPES for value in values)
            and queryset._iterable_class is ModelIterable
            and not getattr(queryset, "_prefetch_related_lookups", ())
            and not getattr(queryset, "_known_related_objects", {})
        ):
            compiler = queryset.query.get_compiler(using=queryset.db)
            try:
                sql, params = compiler.as_sql()
            except (EmptyResultSet, FullResultSet):  # e.g. ``__in=[]``: no statement, the ORM answers
                sql, params = "", ()
            constant = list(params[: len(params) - len(values)])
            tail = list(params[len(constant) :])
            if sql and tail == values and all(type(p) is type(v) for p, v in zip(tail, values, strict=True)):
                entry = (sql, constant, compiler)
        _lists[key] = entry
        if entry is None:
            return list(queryset)
    entry = _lists[key]
    if entry is None:
        return list(build())
    sql, constant, compiler = entry
    database = str(compiler.using)
    with connections[database].cursor() as cursor:
        cursor.execute(sql, [*constant, *values])
        rows = cursor.fetchall()
    # what Django's ModelIterable does with the rows of a compiled query
    klass_info, select, annotations = compiler.klass_info, compiler.select, compiler.annotation_col_map
    assert klass_info is not None
    model = klass_info["model"]
    fields = klass_info["select_fields"]
    start, end = fields[0], fields[-1] + 1
    names = [column[0].target.attname for column in select[start:end]]
    populators = get_related_populators(klass_info, select, database)
    found = []
    for row in compiler.results_iter([rows]):
        instance = model.from_db(database, names, row[start:end])
        for populator in populators:
            populator.populate(row, instance)
        for attribute, position in (annotations or {}).items():
            setattr(instance, attribute, row[position])
        found.append(instance)
    return found
