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


def install_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """post_migrate receiver: after every ``migrate`` (and ``flush``), every fact table is protected again."""
    from django.db import connections

    protect_all(connections[using])


def recursive_triggers_on(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """connection_created receiver: on SQLite, a REPLACE's implicit delete fires the DELETE triggers."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA recursive_triggers = ON")


def connect(app_config: Any) -> None:
    """Called from an AppConfig.ready: the receivers that keep the facts immutable."""
    from django.db.backends.signals import connection_created
    from django.db.models.signals import post_migrate

    connection_created.connect(recursive_triggers_on, dispatch_uid="famhp.immutable.recursive_triggers")
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
