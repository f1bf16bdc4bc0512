"""Bank lines and allocations are facts: the database refuses to change or delete them."""

from django.db import migrations

from famhp.immutable import immutable_table


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_initial")]
    operations = [
        immutable_table("payments_bankline"),
        immutable_table("payments_allocation"),
    ]
