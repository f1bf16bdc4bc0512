"""Year settings, assessment runs, the FPS Finance turnover file, invoices and credit notes (RULES §5, §7, §8)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from famhp.registry.models import Operator


def money(verbose: Any, **extra: Any) -> Any:
    """A euro amount: Decimal to the cent, never negative."""
    return models.DecimalField(verbose, max_digits=14, decimal_places=2, validators=[MinValueValidator(0)], **extra)


def rate(verbose: Any, **extra: Any) -> Any:
    """A rate as a fraction, up to 10 decimals (published rates such as 0.29438 % = 0.0029438 exist, D5)."""
    return models.DecimalField(verbose, max_digits=11, decimal_places=10, validators=[MinValueValidator(0)], **extra)


class InterestPeriod(models.TextChoices):
    """D10: the interest rate counts per started calendar month, or once."""

    STARTED_MONTH = "started_month", _("per started calendar month")
    ONCE = "once", _("once")


class InterestBase(models.TextChoices):
    """D10: what interest is computed on: the contribution due, never the fine or earlier interest."""

    CONTRIBUTION = "contribution", _("the contribution due (no interest on the fine or on interest)")


#: The per-year interest parameters of D10: each is confirmed by name in ``YearSettings.confirmed``.
INTEREST_PARAMETERS = ("late_interest_rate", "late_interest_period", "late_interest_base")


class ClosingDecision(models.TextChoices):
    """D5: the agency's decision when the accounts of the year close."""

    LOWERED = "lowered", _("lowered to the rate given")
    NOT_LOWERED = "not_lowered", _("not lowered (the maximum applies)")


class YearState(models.TextChoices):
    """The life cycle of a contribution year (ADR 11), derived in one place: ``selectors.year_state``."""

    SETTINGS = "settings", _("1. year settings (no campaign yet)")
    CAMPAIGN_OPEN = "campaign_open", _("2. campaign open")
    DECLARATIONS = "declarations", _("3. declarations coming in")
    ACTIVITY_TAX_NOTICES = "activity_tax_notices", _("4. activity-tax notices issued")
    CLOSING_DECIDED = "closing_decided", _("5. closing decision recorded")
    LEVY_INVOICED = "levy_invoiced", _("6. turnover-levy invoices issued")
    CORRECTIONS = "corrections", _("7. corrections after invoicing")
    CLOSED = "closed", _("8. closed")


#: the year's parameters that fix invoice amounts: once confirmed and invoiced, fixed (D3, D8, ADR 11)
FIXED_ONCE_INVOICED = (
    "budget",
    "activity_tax_share",
    "exemption_threshold",
    "max_levy_rate",
    "cost_per_entity",
    "effective_levy_rate",
    "administrative_fine",
    "late_interest_rate",
    "late_interest_period",
    "late_interest_base",
)


class YearSettings(models.Model):
    """The parameters of a contribution year as the agency sets them; each is used only once confirmed."""

    year = models.PositiveIntegerField(_("contribution year"), unique=True)
    budget = money(_("budget (sector share)"), null=True, blank=True)
    activity_tax_share = models.DecimalField(_("activity-tax share"), max_digits=5, decimal_places=4)
    exemption_threshold = money(_("exemption threshold (40,000 euro indexed)"))
    max_levy_rate = rate(_("maximum levy rate"), null=True, blank=True)
    cost_per_entity = money(
        _("cost per entity"), null=True, blank=True, help_text=_("Empty: computed from the budget (a proposal).")
    )
    #: the lowered rate of the closing decision (D5); set only by the closing decision
    effective_levy_rate = rate(_("lowered (effective) levy rate"), null=True, blank=True)
    administrative_fine = money(_("administrative fine"), null=True, blank=True)
    late_interest_rate = rate(_("interest rate (D10)"), null=True, blank=True)
    late_interest_period = models.CharField(
        _("interest period (D10)"), max_length=16, choices=InterestPeriod.choices, default=InterestPeriod.STARTED_MONTH
    )
    late_interest_base = models.CharField(
        _("interest base (D10)"), max_length=16, choices=InterestBase.choices, default=InterestBase.CONTRIBUTION
    )
    closing_decision = models.CharField(
        _("closing decision (D5)"), max_length=16, choices=ClosingDecision.choices, blank=True
    )
    closing_decided_on = models.DateField(_("closing decision dated"), null=True, blank=True)
    closing_reference = models.CharField(_("closing decision reference"), max_length=200, blank=True)
    closed_on = models.DateField(_("year closed on"), null=True, blank=True)
    #: names of the parameters the agency has confirmed (a parameter in use but not here blocks invoicing)
    confirmed = models.JSONField(_("confirmed parameters"), default=list, blank=True)
    activity_tax_due_days = models.PositiveIntegerField(_("payment term of the activity-tax notice (days)"), default=30)
    levy_due_days = models.PositiveIntegerField(_("payment term of the turnover-levy invoice (days)"), default=30)
    history = HistoricalRecords()

    def due_days(self, kind: str) -> int:
        """The payment term of an invoice of ``kind``: the notice's or the levy invoice's."""
        return self.activity_tax_due_days if kind == InvoiceKind.ACTIVITY_TAX else self.levy_due_days

    class Meta:
        verbose_name = _("year settings")
        verbose_name_plural = _("year settings")
        ordering = ["-year"]

    def __str__(self) -> str:
        return str(self.year)

    def invoiced(self) -> bool:
        return self.pk is not None and Invoice.objects.filter(year=self.year).exists()

    def fixes(self, name: str) -> bool:
        """Whether parameter ``name`` fixes amounts: confirmed; the lowered rate once the closing decision that
        alone sets it is recorded (D5: the decision comes after the notices, and sets it once)."""
        if name == "effective_levy_rate":
            return bool(self.closing_decision)
        return name in self.confirmed

    def fixed_changes(self) -> list[str]:
        """The parameters changed on this instance since it was stored that may not change any more: once an
        invoice of the year exists, a confirmed parameter that fixes amounts keeps its value and stays confirmed
        (D3: the cost per entity once published is fixed; D8: corrections reassess with the year's fixed figures).
        A parameter still unconfirmed fixed no amount (D7, D10 block every invoice that would use it): the agency
        may still set and confirm it, e.g. the interest terms before the first reminder."""
        stored = type(self).objects.filter(pk=self.pk).first() if self.pk is not None else None
        if stored is None or not stored.invoiced():
            return []
        changed = [
            name for name in FIXED_ONCE_INVOICED if stored.fixes(name) and getattr(self, name) != getattr(stored, name)
        ]
        changed += sorted(set(stored.confirmed) & set(FIXED_ONCE_INVOICED) - set(self.confirmed))
        if self.year != stored.year:
            changed.append("year")
        return sorted(set(changed))

    def clean(self) -> None:
        changed = self.fixed_changes()
        if changed:
            raise ValidationError(
                _(
                    "Invoices of %(year)s exist: these confirmed parameters fixed their amounts and can no longer "
                    "change: %(names)s. A change of the law is a new year's parameter, a wrong invoice a correction "
                    "(credit note and new invoice)."
                )
                % {"year": self.year, "names": ", ".join(changed)}
            )


class AssessmentRun(models.Model):
    """One assessment of a whole year: its parameters, the rules version, and a result per operator."""

    year = models.PositiveIntegerField(_("contribution year"), db_index=True)
    #: a correction of one operator after invoicing, made with the corrected run's cost per entity and rate
    corrects = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="corrections")
    created_at = models.DateTimeField(auto_now_add=True)
    rules_version = models.CharField(max_length=32)
    parameters = models.JSONField()
    summary = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("assessment run")
        verbose_name_plural = _("assessment runs")
        ordering = ["-year", "-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.year} #{self.pk} ({self.created_at:%Y-%m-%d %H:%M})"


class OperatorAssessment(models.Model):
    run = models.ForeignKey(AssessmentRun, on_delete=models.CASCADE, related_name="results")
    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="assessments")
    inputs = models.JSONField(help_text=_("Activities and declaration figures used (snapshot)."))
    liable = models.BooleanField()
    entities = models.PositiveIntegerField()
    exempt = models.BooleanField()
    default_assessment = models.BooleanField(default=False)
    #: D9: a non-filer without any figure: activity tax and fine only, the turnover levy waits for a figure
    levy_pending = models.BooleanField(_("levy pending: no figure"), default=False)
    activity_tax = money(_("activity tax"))
    turnover_levy = money(_("turnover levy"))
    fine = money(_("fine"), default=0)
    total = money(_("total"))
    explanation = models.JSONField(help_text=_("Explanation lines: rule, template, arguments."))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "operator"], name="one_result_per_run")]


class FpsTurnover(models.Model):
    """The total turnover known to the FPS Finance, for default assessments of non-filers (D6)."""

    year = models.PositiveIntegerField(_("contribution year"))
    enterprise_number = models.CharField(_("enterprise number"), max_length=10)
    total_turnover = money(_("total turnover"))
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("FPS Finance turnover")
        verbose_name_plural = _("FPS Finance turnovers")
        constraints = [models.UniqueConstraint(fields=["year", "enterprise_number"], name="fps_turnover_unique")]


class InvoiceKind(models.TextChoices):
    ACTIVITY_TAX = "activity_tax", _("Activity-tax payment notice")
    TURNOVER_LEVY = "turnover_levy", _("Turnover-levy invoice")
    CREDIT_NOTE = "credit_note", _("Credit note")


#: The prefix of each kind's numbers: AT2025-000001, TL2025-000001, CN2025-000001.
NUMBER_PREFIX = {InvoiceKind.ACTIVITY_TAX: "AT", InvoiceKind.TURNOVER_LEVY: "TL", InvoiceKind.CREDIT_NOTE: "CN"}

#: What each invoice line is, by its ``description`` key: the PDF and the Peppol document name it alike.
LINE_LABELS = {
    "activity_tax": _("Activity tax (annual contribution of economic operators)"),
    "turnover_levy": _("Turnover levy"),
    "administrative_fine": _("Administrative fine (no turnover declaration)"),
    "late_interest": _("Interest (no turnover declaration)"),
}


class NumberSeries(models.Model):
    """The last number issued per year and kind: numbers follow without gaps (locked while issuing)."""

    year = models.PositiveIntegerField()
    kind = models.CharField(max_length=20, choices=InvoiceKind.choices)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["year", "kind"], name="one_series_per_year_kind")]


class Invoice(models.Model):
    """An issued invoice, payment notice or credit note. Never changed once written: the service, the admin and
    the database (a trigger) all refuse it. A correction is a credit note plus a new invoice (RULES §8)."""

    year = models.PositiveIntegerField(_("contribution year"))
    kind = models.CharField(_("kind"), max_length=20, choices=InvoiceKind.choices)
    number = models.CharField(_("number"), max_length=20, unique=True)
    sequence = models.PositiveIntegerField()
    structured_communication = models.CharField(_("structured communication"), max_length=20, unique=True)
    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="invoices")
    debtor = models.JSONField(help_text=_("The debtor's details as they were on issue."))
    language = models.CharField(max_length=2)
    issued_on = models.DateField(_("issued on"))
    due_on = models.DateField(_("due on"))
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=2)
    lines = models.JSONField(help_text=_("Invoice lines: description, amount, rule, explanation."))
    parameters = models.JSONField()
    rules_version = models.CharField(max_length=32)
    assessment = models.ForeignKey(
        OperatorAssessment, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    credits = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="credit_notes")
    #: the credit note this invoice follows: an operator's invoices of one year and kind form one chain
    #: (invoice, its credit note, the next invoice, ...), so at most one of them is live (ADR 8)
    follows = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="followed_by", verbose_name=_("follows")
    )
    #: the declaration version a correction after invoicing (D8) was made for
    declaration_version = models.ForeignKey(
        "declarations.DeclarationVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-year", "kind", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["year", "kind", "sequence"], name="invoice_sequence_unique"),
            # No double billing (ADR 8): one first invoice per (year, kind, operator); every later one follows a
            # credit note, each credit note is followed at most once and each invoice is credited at most once.
            models.UniqueConstraint(
                fields=["year", "kind", "operator"],
                condition=models.Q(follows__isnull=True) & ~models.Q(kind="credit_note"),
                name="invoice_one_first_per_year_kind_operator",
            ),
            models.UniqueConstraint(
                fields=["follows"], condition=models.Q(follows__isnull=False), name="invoice_follows_once"
            ),
            models.UniqueConstraint(
                fields=["credits"], condition=models.Q(credits__isnull=False), name="invoice_credited_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"

    @property
    def formatted_communication(self) -> str:
        c = self.structured_communication
        return f"+++{c[:3]}/{c[3:7]}/{c[7:]}+++"
