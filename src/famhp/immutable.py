"""Rows that are facts once written (issued invoices, bank lines, allocations): the database refuses any UPDATE
or DELETE through a trigger, on SQLite and on PostgreSQL alike. Used by migrations."""

from __future__ import annotations

from typing import Any

from django.db import migrations


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


def immutable_table(table: str, message: str) -> migrations.RunPython:
    """A migration operation that makes ``table`` refuse updates and deletes with ``message``."""

    def forwards(apps: Any, schema_editor: Any) -> None:
        for statement in _statements(schema_editor.connection.vendor, table, message)[0]:
            schema_editor.execute(statement)

    def backwards(apps: Any, schema_editor: Any) -> None:
        for statement in _statements(schema_editor.connection.vendor, table, message)[1]:
            schema_editor.execute(statement)

    return migrations.RunPython(forwards, backwards)
