"""Bank statements, their lines as immutable facts, and the allocations of payments to invoices (RULES §8)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from famhp.billing.models import Invoice


class StatementFile(models.Model):
    """An imported bank statement file; the same file (by content) is imported once."""

    class Format(models.TextChoices):
        CODA = "coda", "CODA"
        CAMT053 = "camt053", "camt.053"

    sha256 = models.CharField(max_length=64, unique=True)
    name = models.CharField(_("file name"), max_length=255)
    format = models.CharField(_("format"), max_length=10, choices=Format.choices)
    imported_at = models.DateTimeField(auto_now_add=True)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    lines_new = models.PositiveIntegerField(_("new lines"), default=0)
    lines_matched = models.PositiveIntegerField(_("lines matched"), default=0)

    class Meta:
        verbose_name = _("bank statement file")
        verbose_name_plural = _("bank statement files")
        ordering = ["-imported_at"]

    def __str__(self) -> str:
        return self.name


class BankLine(models.Model):
    """One movement on the agency's account: an imported fact, never changed (a database trigger refuses it)."""

    statement_file = models.ForeignKey(StatementFile, on_delete=models.PROTECT, related_name="lines")
    #: identifies the movement across files: account, statement, sequence and bank reference
    fingerprint = models.CharField(max_length=64, unique=True)
    account = models.CharField(_("account"), max_length=34)
    booked_on = models.DateField(_("booked on"))
    value_on = models.DateField(_("value date"), null=True, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, default="EUR")
    counterparty_name = models.CharField(_("payer"), max_length=140, blank=True)
    counterparty_account = models.CharField(_("payer's account"), max_length=34, blank=True)
    structured_communication = models.CharField(_("structured communication"), max_length=12, blank=True, db_index=True)
    free_text = models.CharField(_("communication"), max_length=500, blank=True)
    bank_reference = models.CharField(_("bank reference"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("bank line")
        verbose_name_plural = _("bank lines")
        ordering = ["-booked_on", "-pk"]

    def __str__(self) -> str:
        return f"{self.booked_on} {self.amount} {self.counterparty_name}"


class Allocation(models.Model):
    """A part of a bank line allocated to an invoice: automatically by its structured communication, or by
    staff. Never changed; a wrong manual allocation is reversed by a negative one (``reverses``)."""

    bank_line = models.ForeignKey(BankLine, on_delete=models.PROTECT, related_name="allocations")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations")
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    automatic = models.BooleanField(_("matched automatically"), default=False)
    third_party = models.BooleanField(_("paid by a third party"), default=False)
    payer_name = models.CharField(_("payer"), max_length=140, blank=True)
    allocated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    allocated_at = models.DateTimeField(auto_now_add=True)
    reverses = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversal")

    class Meta:
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")
        constraints = [
            # a line is matched automatically once at most, whatever runs at the same time (issue 6)
            models.UniqueConstraint(
                fields=["bank_line"], condition=models.Q(automatic=True), name="one_automatic_match"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} → {self.invoice.number}"


class Reminder(models.Model):
    """A reminder sent for an operator's overdue invoices, with the amounts it stated."""

    operator = models.ForeignKey("registry.Operator", on_delete=models.PROTECT, related_name="payment_reminders")
    sent_on = models.DateField(_("sent on"))
    amount = models.DecimalField(_("outstanding"), max_digits=14, decimal_places=2)
    interest = models.DecimalField(_("interest"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("payment reminder")
        verbose_name_plural = _("payment reminders")
        ordering = ["-sent_on"]
