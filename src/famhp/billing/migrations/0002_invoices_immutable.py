"""Issued invoices are immutable in the database itself: a trigger refuses any UPDATE or DELETE (RULES §8)."""

from django.db import migrations

from famhp.immutable import immutable_table


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]
    operations = [immutable_table("billing_invoice")]
