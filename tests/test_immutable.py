"""The facts (issued invoices, bank lines, allocations) cannot be changed or removed by any statement the
application's database role can run: UPDATE, DELETE, upsert, SQLite's REPLACE, PostgreSQL's TRUNCATE, and
``manage.py flush``, on SQLite and on PostgreSQL (issue 10 point 5, ADR 14)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from famhp.billing.models import Invoice
from famhp.immutable import FACT_TABLES, lift_before_migrate, protect_all
from famhp.payments.models import Allocation, BankLine
from famhp.payments.samples import Payment, coda
from famhp.payments.services import statement_import
from tests.portal.factories import belgian, invoice_for

SQLITE = connection.vendor == "sqlite"
POSTGRESQL = connection.vendor == "postgresql"
only_sqlite = pytest.mark.skipif(not SQLITE, reason="a SQLite statement")
only_postgresql = pytest.mark.skipif(not POSTGRESQL, reason="a PostgreSQL statement")


def triggers(table: str, on: BaseDatabaseWrapper = connection) -> set[str]:
    with on.cursor() as cursor:
        if on.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal", [table])
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [table])
        return {row[0] for row in cursor.fetchall()}


def expected_triggers(table: str) -> set[str]:
    names = ("immutable", "no_truncate") if POSTGRESQL else ("no_update", "no_delete", "no_replace")
    return {f"{table}_{name}" for name in names}


def counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        result = {}
        for table in FACT_TABLES:
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
            result[table] = cursor.fetchone()[0]
        return result


def refused(sql: str) -> bool:
    """Runs ``sql``; True when the database refused it (and, checked by the callers, nothing changed)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    except DatabaseError:
        return True
    return False


@pytest.fixture
def facts(db: None) -> Iterator[Invoice]:
    """One row in each fact table: an invoice, paid by one bank line, through one allocation. A table added to
    FACT_TABLES needs a row here too (the assertion says so), so that every test below covers it."""
    invoice = invoice_for(belgian("Medilab NV"), "100.00")
    statement_import(data=coda([Payment(Decimal("100.00"), structured=invoice.structured_communication)]), name="s")
    assert counts() == dict.fromkeys(FACT_TABLES, 1)
    yield invoice


def columns(table: str) -> list[str]:
    with connection.cursor() as cursor:
        return [column.name for column in connection.introspection.get_table_description(cursor, table)]


@pytest.mark.django_db
def test_every_fact_table_has_its_full_set_of_triggers_once() -> None:
    protect_all(connection)  # a second install (after the one of migrate) replaces, never doubles
    for table in FACT_TABLES:
        assert triggers(table) == expected_triggers(table)


@pytest.mark.parametrize("table", list(FACT_TABLES))
def test_update_and_delete_are_refused(facts: Invoice, table: str) -> None:
    assert refused(f"UPDATE {table} SET id = id")
    assert refused(f"DELETE FROM {table}")
    assert counts() == dict.fromkeys(FACT_TABLES, 1)


def test_the_orm_cannot_change_or_delete_facts(facts: Invoice) -> None:
    for change in (
        lambda: Invoice.objects.update(total=Decimal("1.00")),
        lambda: BankLine.objects.update(amount=Decimal("1.00")),
        lambda: Allocation.objects.all().delete(),
        lambda: Invoice.objects.filter(pk=facts.pk).delete(),
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            change()
    assert Invoice.objects.get().total == Decimal("100.00") and BankLine.objects.get().amount == Decimal("100.00")


@pytest.mark.parametrize("table", list(FACT_TABLES))
def test_an_upsert_is_refused(facts: Invoice, table: str) -> None:
    names = ", ".join(f'"{name}"' for name in columns(table))
    assert refused(
        f"INSERT INTO {table} ({names}) SELECT {names} FROM {table} WHERE true ON CONFLICT (id) DO UPDATE SET id = excluded.id"
    )
    assert counts() == dict.fromkeys(FACT_TABLES, 1)


@only_sqlite
@pytest.mark.parametrize("recursive_triggers", ["ON", "OFF"])
@pytest.mark.parametrize("table", list(FACT_TABLES))
def test_sqlite_replace_is_refused(facts: Invoice, table: str, recursive_triggers: str) -> None:
    """REPLACE deletes the colliding row without DELETE triggers unless recursive_triggers is on: each
    connection of the application turns it on; the BEFORE INSERT trigger holds on a connection that did not
    (one opened by hand), whether the row collides on its key or on another unique column."""
    names = columns(table)
    listed = ", ".join(f'"{name}"' for name in names)
    same_key = f"INSERT OR REPLACE INTO {table} ({listed}) SELECT {listed} FROM {table}"
    other_key = ", ".join("id + 1000" if name == "id" else f'"{name}"' for name in names)
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA recursive_triggers = {recursive_triggers}")
    try:
        before = [tuple(row) for row in _rows(table)]
        assert refused(same_key)
        assert refused(f"REPLACE INTO {table} ({listed}) SELECT {listed} FROM {table}")
        # under another key, colliding on a unique column (an allocation: the partial "one automatic match")
        assert refused(f"INSERT OR REPLACE INTO {table} ({listed}) SELECT {other_key} FROM {table}")
        assert [tuple(row) for row in _rows(table)] == before
    finally:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA recursive_triggers = ON")


def _rows(table: str) -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} ORDER BY id")
        return list(cursor.fetchall())


@only_postgresql
@pytest.mark.parametrize("table", list(FACT_TABLES))
def test_postgresql_truncate_is_refused(facts: Invoice, table: str) -> None:
    assert refused(f"TRUNCATE {table} CASCADE")
    assert refused(f"TRUNCATE {table}, payments_allocation, payments_bankline, billing_invoice RESTART IDENTITY")
    assert counts() == dict.fromkeys(FACT_TABLES, 1)


def test_manage_py_flush_is_refused_while_facts_exist(facts: Invoice) -> None:
    with pytest.raises(CommandError):
        call_command("flush", interactive=False, verbosity=0)
    assert counts() == dict.fromkeys(FACT_TABLES, 1)
    assert Invoice.objects.get().operator.name == "Medilab NV"  # the rest of the database is untouched too


@only_sqlite
@pytest.mark.django_db(transaction=True)
def test_a_migration_that_rebuilds_the_invoice_table_on_sqlite_gets_its_triggers_back() -> None:
    """SQLite alters a column by copying the table, dropping the old one and renaming the copy: the triggers go
    with the old table. The post_migrate receiver puts them back at the end of that same ``migrate``."""
    field = Invoice._meta.get_field("number")
    wider: models.CharField[str, str] = models.CharField(max_length=21, unique=True)
    wider.set_attributes_from_name("number")
    wider.model = Invoice
    # what ``migrate`` does first (pre_migrate): the year settings' guard, which names billing_invoice, is lifted,
    # or SQLite's rename of the rebuilt table fails on it
    lift_before_migrate(sender=None, using="default")
    with connection.schema_editor() as editor:
        editor.alter_field(Invoice, field, wider)
    try:
        assert triggers("billing_invoice") == set()  # the rebuild dropped them
        call_command("migrate", verbosity=0)
        assert triggers("billing_invoice") == expected_triggers("billing_invoice")
        assert triggers("billing_yearsettings") == {"billing_yearsettings_frozen"}
        invoice_for(belgian("Rebuilt NV"), "10.00")
        assert refused("UPDATE billing_invoice SET total = 0") and refused("DELETE FROM billing_invoice")
    finally:
        from famhp.immutable import purge_facts_for_tests

        purge_facts_for_tests(connection)
        lift_before_migrate(sender=None, using="default")
        with connection.schema_editor() as editor:
            editor.alter_field(Invoice, wider, field)
        call_command("migrate", verbosity=0)
    assert triggers("billing_invoice") == expected_triggers("billing_invoice")


@only_sqlite
@pytest.mark.django_db
def test_every_sqlite_connection_of_the_application_fires_triggers_on_replace() -> None:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA recursive_triggers")
        assert cursor.fetchone()[0] == 1


def test_an_insert_that_collides_with_nothing_still_goes_in(facts: Invoice) -> None:
    """The BEFORE INSERT trigger reads a partial unique index's condition: a manual allocation on a line that
    already has its automatic one is not a collision ("one automatic match" holds for automatic ones only)."""
    automatic = Allocation.objects.get()
    assert automatic.automatic
    Allocation.objects.create(bank_line=automatic.bank_line, invoice=facts, amount=Decimal("-1.00"))
    assert Allocation.objects.count() == 2
    with pytest.raises(DatabaseError), transaction.atomic():  # a second automatic one is refused, as before
        Allocation.objects.create(bank_line=automatic.bank_line, invoice=facts, amount=Decimal("1.00"), automatic=True)
