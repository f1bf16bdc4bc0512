"""Rows that are facts once written (issued invoices, bank lines, allocations): the database itself refuses to
change or remove them, on SQLite and on PostgreSQL alike (ADR 14).

What each database refuses, and with what:

- UPDATE (and an upsert's DO UPDATE): a row trigger, both databases.
- DELETE: a row trigger, both databases; ``manage.py flush`` of a database holding facts is therefore refused
  (SQLite flushes with DELETE).
- SQLite ``INSERT OR REPLACE`` / ``REPLACE``: the conflicting row is deleted without DELETE triggers unless
  ``PRAGMA recursive_triggers`` is on. Both are done: every connection Django opens turns it on, and a BEFORE
  INSERT trigger refuses a row colliding with an existing one on its key or any full unique index (it also
  holds for a connection opened by hand, where the pragma is off).
- PostgreSQL ``TRUNCATE`` (and ``manage.py flush``, which truncates): a statement-level BEFORE TRUNCATE
  trigger, refusing when the table holds a row. An empty table may be truncated: nothing is lost, and the test
  runner flushes empty fact tables between tests.

The triggers are installed by the migrations that create the tables (``immutable_table``) and again, by name
and idempotently, after every ``migrate`` or ``flush`` (``install_after_migrate``, a post_migrate receiver): a
later migration that rebuilds a table on SQLite (copy, drop, rename) loses its triggers, and gets them back at
the end of the same ``migrate``. A new table of facts is protected by one line in ``FACT_TABLES``.

What stays possible: DDL by the table's owner (dropping a trigger, ``ALTER TABLE … DISABLE TRIGGER``), which is
a schema change, reviewed as a migration; tests use it in ``purge_facts_for_tests`` only.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.db.backends.base.base import BaseDatabaseWrapper

#: The tables of facts and the message their triggers give, children before parents.
FACT_TABLES = {
    "payments_allocation": "allocations are never changed: reverse one instead",
    "payments_bankline": "bank lines are imported facts: they are never changed",
    "billing_invoice": "issued invoices are immutable: issue a credit note",
}

#: Every trigger name ever used, so that an older set (billing/0002, payments/0002) is replaced, not doubled.
_SQLITE_TRIGGERS = ("no_update", "no_delete", "no_replace")
_POSTGRESQL_TRIGGERS = ("immutable", "no_truncate")


def _quote(message: str) -> str:
    return message.replace("'", "''")


def _sqlite_collisions(cursor: Any, table: str) -> list[str]:
    """One condition per way a REPLACE could collide with an existing row: the primary key, and every unique
    index (a partial one only where both the existing row and the new one fall under its WHERE)."""
    cursor.execute(f'PRAGMA table_info("{table}")')
    described = cursor.fetchall()
    primary = [row[1] for row in sorted(described, key=lambda row: row[5]) if row[5]]
    new_row = ", ".join(f'NEW."{row[1]}" AS "{row[1]}"' for row in described)
    keys: list[tuple[list[str], str]] = [(primary, "")] if primary else []
    cursor.execute(f'PRAGMA index_list("{table}")')
    for _seq, name, unique, _origin, partial in cursor.fetchall():
        if not unique:
            continue
        cursor.execute(f'PRAGMA index_info("{name}")')
        columns = [row[2] for row in cursor.fetchall()]
        where = ""
        if partial:
            cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = %s", [name])
            where = cursor.fetchone()[0].split(" WHERE ", 1)[1]
        if columns and None not in columns and (columns, where) not in keys:
            keys.append((columns, where))
    conditions = []
    for columns, where in keys:
        equal = " AND ".join(f'"{column}" = NEW."{column}"' for column in columns)
        if not where:
            conditions.append(f'EXISTS (SELECT 1 FROM "{table}" WHERE {equal})')
            continue
        conditions.append(
            f'(EXISTS (SELECT 1 FROM "{table}" WHERE {equal} AND ({where})) '
            f"AND EXISTS (SELECT 1 FROM (SELECT {new_row}) WHERE ({where})))"
        )
    return conditions


def _sqlite_create(cursor: Any, table: str, message: str) -> list[str]:
    refuse = f"SELECT RAISE(ABORT, '{_quote(message)}')"
    collisions = " OR ".join(_sqlite_collisions(cursor, table))
    statements = [
        f'CREATE TRIGGER "{table}_no_update" BEFORE UPDATE ON "{table}" BEGIN {refuse}; END;',
        f'CREATE TRIGGER "{table}_no_delete" BEFORE DELETE ON "{table}" BEGIN {refuse}; END;',
    ]
    if collisions:
        statements.append(
            f'CREATE TRIGGER "{table}_no_replace" BEFORE INSERT ON "{table}" WHEN {collisions} BEGIN {refuse}; END;'
        )
    return statements


def _postgresql_create(table: str, message: str) -> list[str]:
    text = _quote(message)
    return [
        f"CREATE OR REPLACE FUNCTION {table}_immutable() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '{text}'; END; $$;",
        f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {table}_immutable();",
        f"CREATE OR REPLACE FUNCTION {table}_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN IF EXISTS (SELECT 1 FROM {table}) THEN RAISE EXCEPTION '{text}'; END IF; RETURN NULL; END; $$;",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_no_truncate();",
    ]


def _drop(vendor: str, table: str) -> list[str]:
    if vendor == "postgresql":
        return [
            *(f"DROP TRIGGER IF EXISTS {table}_{name} ON {table};" for name in _POSTGRESQL_TRIGGERS),
            *(f"DROP FUNCTION IF EXISTS {table}_{name}();" for name in _POSTGRESQL_TRIGGERS),
        ]
    return [f'DROP TRIGGER IF EXISTS "{table}_{name}";' for name in _SQLITE_TRIGGERS]


def protect(connection: BaseDatabaseWrapper, table: str) -> None:
    """Install (again) the triggers of one fact table: drop-and-create by name, so it may run any number of times."""
    message = FACT_TABLES[table]
    with connection.cursor() as cursor:
        for statement in _drop(connection.vendor, table):
            cursor.execute(statement)
        if connection.vendor == "postgresql":
            statements = _postgresql_create(table, message)
        else:
            statements = _sqlite_create(cursor, table, message)
        for statement in statements:
            cursor.execute(statement)


def unprotect(connection: BaseDatabaseWrapper, table: str) -> None:
    with connection.cursor() as cursor:
        for statement in _drop(connection.vendor, table):
            cursor.execute(statement)


def protect_all(connection: BaseDatabaseWrapper) -> list[str]:
    """Protect every fact table that exists in the database; returns their names."""
    existing = set(connection.introspection.table_names())
    tables = [table for table in FACT_TABLES if table in existing]
    for table in tables:
        protect(connection, table)
    return tables


def immutable_table(table: str) -> migrations.RunPython:
    """A migration operation that makes ``table`` refuse changes (used by the migration creating the table)."""

    def forwards(apps: Any, schema_editor: Any) -> None:
        protect(schema_editor.connection, table)

    def backwards(apps: Any, schema_editor: Any) -> None:
        unprotect(schema_editor.connection, table)

    return migrations.RunPython(forwards, backwards)


#: The year settings' guard (ADR 20): once an invoice of the year exists, its confirmed parameters (the lowered
#: rate once the closing decision is recorded) keep their value and stay confirmed, and the year keeps its number.
YEAR_SETTINGS = "billing_yearsettings"
YEAR_SETTINGS_GUARD = "billing_yearsettings_frozen"
YEAR_SETTINGS_MESSAGE = (
    "invoices of this year exist: its confirmed parameters fixed their amounts and can no longer change "
    "(YearSettings.fixed_changes)"
)


def _year_settings_frozen_when(vendor: str) -> str:
    """The condition of ``YearSettings.fixed_changes`` in SQL, on OLD (stored) and NEW (written) rows: the same
    parameters (``FIXED_ONCE_INVOICED``), the same meaning of "fixes" (confirmed; the lowered rate once the
    closing decision is recorded), a confirmed one dropped from the list, the year renumbered."""
    from famhp.billing.models import FIXED_ONCE_INVOICED

    def confirmed(row: str, name: str) -> str:
        if vendor == "postgresql":
            return f"{row}.confirmed @> '[\"{name}\"]'::jsonb"
        return f"EXISTS (SELECT 1 FROM json_each({row}.\"confirmed\") WHERE value = '{name}')"

    distinct = "IS DISTINCT FROM" if vendor == "postgresql" else "IS NOT"
    changed = [f"NEW.year {distinct} OLD.year"]
    for name in FIXED_ONCE_INVOICED:
        fixes = "OLD.closing_decision <> ''" if name == "effective_levy_rate" else confirmed("OLD", name)
        changed.append(f"({fixes} AND NEW.{name} {distinct} OLD.{name})")
        changed.append(f"({confirmed('OLD', name)} AND NOT {confirmed('NEW', name)})")
    invoiced = "EXISTS (SELECT 1 FROM billing_invoice WHERE billing_invoice.year = OLD.year)"
    return f"{invoiced} AND ({' OR '.join(changed)})"


def _drop_year_settings_guard(connection: BaseDatabaseWrapper) -> None:
    if YEAR_SETTINGS not in connection.introspection.table_names():
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP TRIGGER IF EXISTS {YEAR_SETTINGS_GUARD} ON {YEAR_SETTINGS};")
            cursor.execute(f"DROP FUNCTION IF EXISTS {YEAR_SETTINGS_GUARD}();")
        else:
            cursor.execute(f'DROP TRIGGER IF EXISTS "{YEAR_SETTINGS_GUARD}";')


def guard_year_settings(connection: BaseDatabaseWrapper) -> bool:
    """Install (again) the year settings' guard: an UPDATE that changes what an invoiced year keeps is refused
    by the database itself, whatever the path (a bare ``save()``, a queryset ``update()``, SQL). True if
    installed (the tables exist)."""
    existing = set(connection.introspection.table_names())
    if not {YEAR_SETTINGS, "billing_invoice"} <= existing:
        return False
    _drop_year_settings_guard(connection)
    when = _year_settings_frozen_when(connection.vendor)
    message = _quote(YEAR_SETTINGS_MESSAGE)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"CREATE FUNCTION {YEAR_SETTINGS_GUARD}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN IF {when} THEN RAISE EXCEPTION '{message}'; END IF; RETURN NEW; END; $$;"
            )
            cursor.execute(
                f"CREATE TRIGGER {YEAR_SETTINGS_GUARD} BEFORE UPDATE ON {YEAR_SETTINGS} "
                f"FOR EACH ROW EXECUTE FUNCTION {YEAR_SETTINGS_GUARD}();"
            )
        else:
            cursor.execute(
                f'CREATE TRIGGER "{YEAR_SETTINGS_GUARD}" BEFORE UPDATE ON "{YEAR_SETTINGS}" WHEN {when} '
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END;"
            )
    return True


def lift_before_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """pre_migrate receiver: the year settings' guard reads ``billing_invoice``; on SQLite a migration that
    rebuilds that table (copy, drop, rename) fails while a trigger elsewhere names it, so the guard is lifted
    for the ``migrate`` and installed again at its end (``install_after_migrate``)."""
    from django.db import connections

    _drop_year_settings_guard(connections[using])


def install_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """post_migrate receiver: after every ``migrate`` (and ``flush``), every fact table is protected again, and
    the year settings are guarded again."""
    from django.db import connections

    protect_all(connections[using])
    guard_year_settings(connections[using])


def recursive_triggers_on(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """connection_created receiver: on SQLite, a REPLACE's implicit delete fires the DELETE triggers."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA recursive_triggers = ON")


def connect(app_config: Any) -> None:
    """Called from an AppConfig.ready: the receivers that keep the facts immutable."""
    from django.db.backends.signals import connection_created
    from django.db.models.signals import post_migrate, pre_migrate

    connection_created.connect(recursive_triggers_on, dispatch_uid="famhp.immutable.recursive_triggers")
    pre_migrate.connect(lift_before_migrate, sender=app_config, dispatch_uid="famhp.immutable.pre_migrate")
    post_migrate.connect(install_after_migrate, sender=app_config, dispatch_uid="famhp.immutable.post_migrate")


def purge_facts_for_tests(connection: BaseDatabaseWrapper) -> None:
    """Test-only: empty the fact tables, triggers lifted for the moment, so that the test runner's flush (DELETE
    on SQLite, TRUNCATE on PostgreSQL) finds them empty. Never called by the application."""
    existing = set(connection.introspection.table_names())
    tables = [table for table in FACT_TABLES if table in existing]
    for table in tables:
        unprotect(connection, table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            if tables:
                cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
        else:
            # Rows of other tables may still point at the facts: the flush that follows removes them too.
            cursor.execute("PRAGMA foreign_keys = OFF")
            try:
                for table in tables:
                    cursor.execute(f'DELETE FROM "{table}"')
            finally:
                cursor.execute("PRAGMA foreign_keys = ON")
    for table in tables:
        protect(connection, table)
