"""Lookups every request makes, their SQL compiled once per process (issue 15).

Building and compiling an ORM query costs 0.5-0.9 ms of CPU, sending it and reading its row 0.1 ms. The pages
and the API look up the same few rows at every request: the person logged in, the company of the address, the
campaign of the year, whether the person has access to the company. These helpers compile such a lookup the
first time, through the ORM (the model's default manager, its table, its columns, the database's dialect), and
then send the same SQL with the new values; the row is turned into a model exactly as the ORM's iterable does
(the database's converters, ``Model.from_db``).

Only equality on a model's own fields (``pk``, a field or a foreign key's ``_id``) with an ``int`` or ``str``,
or ``None`` for ``IS NULL``; :func:`compiled_list` for a whole queryset a function builds from its values. The
statement is compiled with stand-ins of the values (distinct, of the same types) and kept only if the stand-ins
are, in order, its last parameters (those before are constants, such as ``SELECT 1`` of ``exists()``): it then
depends on nothing but the names and types, and which values are None. Anything else goes through the ORM as
before, with the same answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import EmptyResultSet, FullResultSet, ValidationError
from django.db import connections, models, router
from django.db.models.query import ModelIterable, QuerySet, get_related_populators  # type: ignore[attr-defined]
from django.db.models.sql.compiler import SQLCompiler

M = TypeVar("M", bound=models.Model)

#: the values (in the statement's order) → the statement's parameters
Parameters = Callable[[list[Any]], list[Any]]
#: (model, database, kind, (name, None or the value's type)…) → (SQL, compiler, converters, column names, how to
#: make the parameters), or None: this lookup goes through the ORM
_statements: dict[tuple[Any, ...], tuple[str, SQLCompiler | None, Any, list[str], Parameters] | None] = {}
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


def _probes(values: list[Any]) -> list[Any]:
    """Stand-ins of the values' types, each different, that any field of the type takes (a small integer fits
    even a small integer field): compiled with these, a statement shows where each value goes whatever the real
    values are (two equal ids would not)."""
    return [32001 + index if type(value) is int else f"famhp-probe-{index}" for index, value in enumerate(values)]


def _compile(
    queryset: QuerySet[Any], probes: list[Any], exists: bool = False
) -> tuple[str, Parameters, SQLCompiler] | None:
    """The SQL of ``queryset`` (built with ``probes``) and how to make its parameters from values of the probes'
    types, if the probes are its last parameters in order: the statement can then be sent again with other
    values. The parameters before are constants (``SELECT 1``, ``Coalesce(…, 0)``); a value takes the type the
    database's adapter gave the probe (psycopg's ``Int4`` for an integer field on PostgreSQL)."""
    query = queryset.query.exists() if exists else queryset.query
    compiler = query.get_compiler(using=queryset.db)
    try:
        sql, params = compiler.as_sql()
    except (EmptyResultSet, FullResultSet):  # e.g. ``__in=[]``: no statement, the ORM answers
        return None
    constant = list(params[: len(params) - len(probes)])
    tail = list(params[len(constant) :])
    if tail != probes or not all(isinstance(p, type(v)) for p, v in zip(tail, probes, strict=True)):
        return None
    casts = [None if type(p) is type(v) else type(p) for p, v in zip(tail, probes, strict=True)]
    if not any(casts):
        return sql, lambda values: [*constant, *values], compiler
    return (
        sql,
        lambda values: [
            *constant,
            *(value if cast is None else cast(value) for cast, value in zip(casts, values, strict=True)),
        ],
        compiler,
    )


def _statement(
    model: type[models.Model], database: str, lookups: dict[str, object], kind: str
) -> tuple[str, SQLCompiler | None, Any, list[str], Parameters] | None:
    key = (model, database, kind, tuple((n, None if v is None else type(v)) for n, v in lookups.items()))
    if key in _statements:
        return _statements[key]
    names = [name for name, value in sorted(lookups.items()) if value is not None]
    probes = _probes(_values(lookups))
    probed = {**lookups, **dict(zip(names, probes, strict=True))}
    try:
        queryset = model._default_manager.db_manager(database).filter(**probed).order_by()
        compiled = _compile(queryset, probes, exists=kind == "exists")
    except (TypeError, ValueError, ValidationError):  # a stand-in the field refuses ("7" for an integer): the ORM
        compiled = None
    entry: tuple[str, SQLCompiler | None, Any, list[str], Parameters] | None = None
    if compiled is not None:
        sql, parameters, compiler = compiled
        if kind == "exists":
            entry = (sql, None, None, [], parameters)
        else:
            klass_info = compiler.klass_info
            fields = klass_info["select_fields"] if klass_info else []
            select = compiler.select[fields[0] : fields[-1] + 1] if fields else []
            if len(select) == len(compiler.select) and not compiler.annotation_col_map:
                converters = compiler.get_converters([column for column, _sql, _alias in select])
                columns = [column.target.attname for column, _sql, _alias in select]
                entry = (sql, compiler, converters, columns, parameters)
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
    sql, compiler, converters, names, parameters = entry
    assert compiler is not None
    with connections[database].cursor() as cursor:
        cursor.execute(sql, parameters(_values(unique)))
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
        cursor.execute(entry[0], entry[4](_values(lookups)))
        return cursor.fetchone() is not None


#: name, the values' types → (SQL, how to make the parameters, compiler), or None: the ORM reads that list
_lists: dict[tuple[Any, ...], tuple[str, Parameters, SQLCompiler] | None] = {}


def compiled_list(name: str, build: Callable[..., QuerySet[M]], values: list[Any]) -> list[M]:
    """``list(build(*values))``: the models the queryset reads (its filters, annotations, ``select_related``,
    ordering), for a read a page makes at every request. The first time, ``build`` is called with stand-ins of
    the values and compiled; the SQL is then sent with the values. ``name`` names the query, and ``build`` must
    put each value into it once, as its last parameters (``int`` or ``str``): otherwise, and for
    ``prefetch_related`` or ``values()``, the ORM reads it each time."""
    key = (name, tuple(type(value) for value in values))
    if key not in _lists:
        entry = None
        if all(type(value) in _TYPES for value in values):
            probes = _probes(values)
            try:
                queryset = build(*probes)
                if (
                    queryset._iterable_class is ModelIterable
                    and not getattr(queryset, "_prefetch_related_lookups", ())
                    and not getattr(queryset, "_known_related_objects", {})
                ):
                    entry = _compile(queryset, probes)
            except (TypeError, ValueError, ValidationError):  # a stand-in a field refuses: the ORM each time
                entry = None
        _lists[key] = entry
    entry = _lists[key]
    if entry is None:
        return list(build(*values))
    sql, parameters, compiler = entry
    database = str(compiler.using)
    with connections[database].cursor() as cursor:
        cursor.execute(sql, parameters(values))
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
