"""Bank entries as banks send them (status, reversal, return reason, end-to-end reference), allocations to an
operator's account (D12), handled queue lines, refunds as documents. SQLite rebuilds the altered tables, which
drops their triggers: the facts' triggers are lifted first and put back last."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from famhp.immutable import immutable_table


def lifted(table: str) -> migrations.RunPython:
    operation = immutable_table(table)
    return migrations.RunPython(operation.reverse_code, operation.code)


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0002_invoices_immutable"),
        ("payments", "0002_facts_immutable"),
        ("registry", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        lifted("payments_allocation"),
        lifted("payments_bankline"),
        migrations.CreateModel(
            name="LineReview",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("note", models.CharField(blank=True, max_length=500, verbose_name="note")),
                ("reviewed_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "verbose_name": "handled bank line",
                "verbose_name_plural": "handled bank lines",
            },
        ),
        migrations.CreateModel(
            name="Refund",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("amount", models.DecimalField(decimal_places=2, max_digits=14, verbose_name="amount")),
                ("iban", models.CharField(max_length=34, verbose_name="IBAN")),
                ("name", models.CharField(max_length=140, verbose_name="beneficiary")),
                (
                    "state",
                    models.CharField(
                        choices=[("recorded", "recorded"), ("exported", "exported"), ("sent", "sent")],
                        default="recorded",
                        max_length=10,
                        verbose_name="state",
                    ),
                ),
                ("recorded_on", models.DateField(verbose_name="recorded on")),
                ("sent_on", models.DateField(blank=True, null=True, verbose_name="sent on")),
            ],
            options={
                "verbose_name": "refund",
                "verbose_name_plural": "refunds",
                "ordering": ["-recorded_on", "-pk"],
            },
        ),
        migrations.CreateModel(
            name="RefundExport",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("message_id", models.CharField(max_length=35, unique=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("execution", models.DateField(verbose_name="execution date")),
                ("data", models.BinaryField()),
            ],
            options={
                "verbose_name": "refund export",
                "verbose_name_plural": "refund exports",
                "ordering": ["-created_at"],
            },
        ),
        migrations.AddField(
            model_name="allocation",
            name="operator",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="account_allocations",
                to="registry.operator",
            ),
        ),
        migrations.AddField(
            model_name="bankline",
            name="end_to_end_id",
            field=models.CharField(blank=True, max_length=64, verbose_name="end-to-end reference"),
        ),
        migrations.AddField(
            model_name="bankline",
            name="return_reason",
            field=models.CharField(blank=True, max_length=4, verbose_name="return reason"),
        ),
        migrations.AddField(
            model_name="bankline",
            name="reversal",
            field=models.BooleanField(default=False, verbose_name="reversal or return"),
        ),
        migrations.AddField(
            model_name="bankline",
            name="reverses_line",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="reversed_by",
                to="payments.bankline",
                verbose_name="reverses",
            ),
        ),
        migrations.AddField(
            model_name="bankline",
            name="status",
            field=models.CharField(
                choices=[("booked", "booked"), ("pending", "pending")],
                default="booked",
                max_length=8,
                verbose_name="status at the bank",
            ),
        ),
        migrations.AlterField(
            model_name="allocation",
            name="invoice",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="allocations",
                to="billing.invoice",
            ),
        ),
        migrations.AddConstraint(
            model_name="allocation",
            constraint=models.CheckConstraint(
                condition=models.Q(("invoice__isnull", False), ("operator__isnull", False), _connector="OR"),
                name="allocation_to_invoice_or_account",
            ),
        ),
        migrations.AddField(
            model_name="linereview",
            name="bank_line",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.PROTECT, related_name="review", to="payments.bankline"
            ),
        ),
        migrations.AddField(
            model_name="linereview",
            name="reviewed_by",
            field=models.ForeignKey(
                blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, to=settings.AUTH_USER_MODEL
            ),
        ),
        migrations.AddField(
            model_name="refund",
            name="operator",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="refunds", to="registry.operator"
            ),
        ),
        migrations.AddField(
            model_name="refund",
            name="recorded_by",
            field=models.ForeignKey(
                blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, to=settings.AUTH_USER_MODEL
            ),
        ),
        migrations.AddField(
            model_name="refundexport",
            name="created_by",
            field=models.ForeignKey(
                blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, to=settings.AUTH_USER_MODEL
            ),
        ),
        migrations.AddField(
            model_name="refund",
            name="export",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="refunds",
                to="payments.refundexport",
            ),
        ),
        migrations.AddConstraint(
            model_name="refund",
            constraint=models.CheckConstraint(condition=models.Q(("amount__gt", 0)), name="refund_positive"),
        ),
        immutable_table("payments_bankline"),
        immutable_table("payments_allocation"),
    ]
