"""Issued invoices are immutable in the database itself: a trigger refuses any UPDATE or DELETE (RULES §8)."""

from django.db import migrations

SQLITE = [
    """CREATE TRIGGER billing_invoice_no_update BEFORE UPDATE ON billing_invoice
       BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable: issue a credit note'); END;""",
    """CREATE TRIGGER billing_invoice_no_delete BEFORE DELETE ON billing_invoice
       BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable: issue a credit note'); END;""",
]
SQLITE_REVERSE = ["DROP TRIGGER billing_invoice_no_update;", "DROP TRIGGER billing_invoice_no_delete;"]
POSTGRES = [
    """CREATE FUNCTION billing_invoice_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'issued invoices are immutable: issue a credit note'; END; $$;""",
    """CREATE TRIGGER billing_invoice_immutable BEFORE UPDATE OR DELETE ON billing_invoice
       FOR EACH ROW EXECUTE FUNCTION billing_invoice_immutable();""",
]
POSTGRES_REVERSE = [
    "DROP TRIGGER billing_invoice_immutable ON billing_invoice;",
    "DROP FUNCTION billing_invoice_immutable();",
]


def forwards(apps, schema_editor):
    for statement in POSTGRES if schema_editor.connection.vendor == "postgresql" else SQLITE:
        schema_editor.execute(statement)


def backwards(apps, schema_editor):
    for statement in POSTGRES_REVERSE if schema_editor.connection.vendor == "postgresql" else SQLITE_REVERSE:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
