from typing import Any

from django.db import migrations

from famhp.immutable import protect, unprotect
from famhp.payments.parsers import twin_key


def twin_keys_again(apps: Any, schema_editor: Any) -> None:
    """ADR 12 addendum (review): the twin key no longer holds the value date nor the payer's account, and takes
    the agency's account in one form and a structured communication wherever it stands, so that the same
    movement written differently by CODA and camt.053 has one key. The lines already imported get the new key,
    so that a statement imported before is recognised when it comes again in the other format. Bank lines refuse
    UPDATE (ADR 14): the triggers are lifted for this one reviewed change and put back in the same transaction,
    as migration 0004 did. Which lines were found twins at their import (``twin_of``) stays as it was: a fact of
    that import."""
    connection = schema_editor.connection
    lines = apps.get_model("payments", "BankLine").objects.using(connection.alias)
    rows = []
    for line in lines.values(
        "pk",
        "account",
        "booked_on",
        "amount",
        "currency",
        "status",
        "structured_communication",
        "free_text",
        "twin_key",
    ).iterator(chunk_size=5000):
        key = twin_key(
            account=line["account"],
            booked_on=line["booked_on"],
            amount=line["amount"],
            currency=line["currency"],
            pending=line["status"] == "pending",
            structured_communication=line["structured_communication"],
            free_text=line["free_text"],
        )
        if key != line["twin_key"]:
            rows.append((key, line["pk"]))
    if not rows:
        return
    unprotect(connection, "payments_bankline")
    with connection.cursor() as cursor:
        cursor.executemany("UPDATE payments_bankline SET twin_key = %s WHERE id = %s", rows)
    protect(connection, "payments_bankline")


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0004_bank_line_twins"),
    ]

    operations = [
        migrations.RunPython(twin_keys_again, migrations.RunPython.noop),
    ]
