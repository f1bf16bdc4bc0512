"""Rows that are facts once written (issued invoices, bank lines, allocations): the database refuses any UPDATE
or DELETE through a trigger, on SQLite and on PostgreSQL alike. Used by migrations."""

from __future__ import annotations

from typing import Any

from django.db import migrations

#: The tables of facts and the message their trigger gives, children before parents.
FACT_TABLES = {
    "payments_allocation": "allocations are never changed: reverse one instead",
    "payments_bankline": "bank lines are imported facts: they are never changed",
    "billing_invoice": "issued invoices are immutable: issue a credit note",
}


def _statements(vendor: str, table: str, message: str) -> tuple[list[str], list[str]]:
    if vendor == "postgresql":
        return (
            [
                f"CREATE FUNCTION {table}_immutable() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN RAISE EXCEPTION '{message}'; END; $$;",
                f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {table}_immutable();",
            ],
            [f"DROP TRIGGER {table}_immutable ON {table};", f"DROP FUNCTION {table}_immutable();"],
        )
    return (
        [
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} BEGIN SELECT RAISE(ABORT, '{message}'); END;",
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} BEGIN SELECT RAISE(ABORT, '{message}'); END;",
        ],
        [f"DROP TRIGGER {table}_no_update;", f"DROP TRIGGER {table}_no_delete;"],
    )


def immutable_table(table: str) -> migrations.RunPython:
    """A migration operation that makes ``table`` refuse updates and deletes."""
    message = FACT_TABLES[table]

    def forwards(apps: Any, schema_editor: Any) -> None:
        for statement in _statements(schema_editor.connection.vendor, table, message)[0]:
            schema_editor.execute(statement)

    def backwards(apps: Any, schema_editor: Any) -> None:
        for statement in _statements(schema_editor.connection.vendor, table, message)[1]:
            schema_editor.execute(statement)

    return migrations.RunPython(forwards, backwards)


def purge_facts_for_tests(connection: Any) -> None:
    """Empty the tables of facts, triggers lifted for the moment: only for tests that must flush a database
    with DELETE (SQLite), which the triggers would otherwise refuse."""
    with connection.cursor() as cursor:
        for table, message in FACT_TABLES.items():
            forwards, backwards = _statements(connection.vendor, table, message)
            for statement in backwards:
                cursor.execute(statement)
            cursor.execute(f"DELETE FROM {table}")
            for statement in forwards:
                cursor.execute(statement)
