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
    #: new lines that are the same movement as a line of another file (ADR 12, addendum): queued, not matched
    lines_twin = models.PositiveIntegerField(_("possible duplicates"), default=0)

    class Meta:
        verbose_name = _("bank statement file")
        verbose_name_plural = _("bank statement files")
        ordering = ["-imported_at"]

    def __str__(self) -> str:
        return self.name


class BankLine(models.Model):
    """One movement on the agency's account: an imported fact, never changed (a database trigger refuses it)."""

    class Status(models.TextChoices):
        BOOKED = "booked", _("booked")
        PENDING = "pending", _("pending")

    statement_file = models.ForeignKey(StatementFile, on_delete=models.PROTECT, related_name="lines")
    #: identifies the movement across files: account, statement, sequence and bank reference
    #: unique by the Meta constraint (an index without PostgreSQL's second "LIKE" index: never looked up by pattern)
    fingerprint = models.CharField(max_length=64)
    account = models.CharField(_("account"), max_length=34)
    booked_on = models.DateField(_("booked on"))
    value_on = models.DateField(_("value date"), null=True, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, default="EUR")
    counterparty_name = models.CharField(_("payer"), max_length=140, blank=True)
    counterparty_account = models.CharField(_("payer's account"), max_length=34, blank=True)
    structured_communication = models.CharField(_("structured communication"), max_length=12, blank=True)
    free_text = models.CharField(_("communication"), max_length=500, blank=True)
    bank_reference = models.CharField(_("bank reference"), max_length=64, blank=True)
    #: the payer's end-to-end reference (camt ``EndToEndId``): what a return or reversal carries back
    end_to_end_id = models.CharField(_("end-to-end reference"), max_length=64, blank=True)
    #: booked by the bank, or only pending (camt ``PDNG``): a pending entry is never allocated
    status = models.CharField(_("status at the bank"), max_length=8, choices=Status.choices, default=Status.BOOKED)
    #: a reversal or return of an earlier movement (camt ``RvslInd``, CODA record 2.2 type of R-transaction)
    reversal = models.BooleanField(_("reversal or return"), default=False)
    return_reason = models.CharField(_("return reason"), max_length=4, blank=True)
    #: the same movement as a line of another file, whatever its format (``parsers.twin_key``, ADR 12 addendum)
    twin_key = models.CharField(max_length=32, blank=True)
    #: a line of another file with the same twin key: this line may be that movement received again (in the other
    #: format), so it is never matched or reversed automatically and waits in the queue for a person to decide
    twin_of = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="twins",
        verbose_name=_("possible duplicate of"),
        db_index=False,  # read from the twin only; one index less to write per imported line (issue 15)
    )
    #: the credit this reversal or return undoes, where it was found
    reverses_line = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by", verbose_name=_("reverses")
    )

    class Meta:
        verbose_name = _("bank line")
        verbose_name_plural = _("bank lines")
        ordering = ["-booked_on", "-pk"]
        # an import looks up the lines of its accounts and days once: known movements and twins (ADR 12); the
        # fingerprint and the communication are looked up by equality only, so each has one plain index (a
        # CharField's unique=True or db_index=True adds a second, varchar_pattern_ops index on PostgreSQL that
        # every insert of 100,000 lines writes for nothing: ADR 17)
        indexes = [
            models.Index(fields=["account", "booked_on"], name="bankline_account_day"),
            models.Index(fields=["structured_communication"], name="bankline_communication"),
        ]
        constraints = [models.UniqueConstraint(fields=["fingerprint"], name="bankline_fingerprint_unique")]

    def __str__(self) -> str:
        return f"{self.booked_on} {self.amount} {self.counterparty_name}"


class Allocation(models.Model):
    """A part of a bank line allocated to an invoice, or to an operator's account (``invoice`` empty: a payment
    to a credited invoice, D12), automatically by its structured communication or by staff. Never changed; a
    wrong allocation, or one whose payment the bank reversed, is undone by a negative one (``reverses``)."""

    bank_line = models.ForeignKey(BankLine, on_delete=models.PROTECT, related_name="allocations")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations", null=True, blank=True)
    #: the account credited when there is no invoice (D12: the account balance, never a dead invoice)
    operator = models.ForeignKey(
        "registry.Operator", on_delete=models.PROTECT, null=True, blank=True, related_name="account_allocations"
    )
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
            models.CheckConstraint(
                condition=models.Q(invoice__isnull=False) | models.Q(operator__isnull=False),
                name="allocation_to_invoice_or_account",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} → {self.invoice.number if self.invoice else self.operator}"


class LineReview(models.Model):
    """Staff marked a line of the queue as handled (a debit seen, a pending entry, a foreign-currency payment
    dealt with outside the system): it leaves the queue. Recorded once per line, with who and why."""

    bank_line = models.OneToOneField(BankLine, on_delete=models.PROTECT, related_name="review")
    note = models.CharField(_("note"), max_length=500, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    reviewed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("handled bank line")
        verbose_name_plural = _("handled bank lines")


class RefundExport(models.Model):
    """One pain.001 file sent to the bank: the refunds it holds are never exported again."""

    message_id = models.CharField(max_length=35, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    execution = models.DateField(_("execution date"))
    data = models.BinaryField()

    class Meta:
        verbose_name = _("refund export")
        verbose_name_plural = _("refund exports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.message_id


class Refund(models.Model):
    """D12: a refund of an operator's credit balance, a document of its own: recorded, exported once in a
    pain.001 file, then marked sent. Counted in the account as soon as it is recorded, so the same credit is
    never refunded twice."""

    class State(models.TextChoices):
        RECORDED = "recorded", _("recorded")
        EXPORTED = "exported", _("exported")
        SENT = "sent", _("sent")

    operator = models.ForeignKey("registry.Operator", on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    iban = models.CharField(_("IBAN"), max_length=34)
    name = models.CharField(_("beneficiary"), max_length=140)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.RECORDED)
    recorded_on = models.DateField(_("recorded on"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    export = models.ForeignKey(RefundExport, on_delete=models.PROTECT, null=True, blank=True, related_name="refunds")
    sent_on = models.DateField(_("sent on"), null=True, blank=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-recorded_on", "-pk"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_positive")]

    def __str__(self) -> str:
        return f"{self.operator} {self.amount}"


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
