"""The yearly declaration campaign (RULES §6): invitations, declarations and their versions."""

from __future__ import annotations

import datetime
import uuid

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from famhp.registry.models import Operator


class Campaign(models.Model):
    """The declaration campaign of a contribution year N, about the turnover of year N−1."""

    year = models.PositiveIntegerField(_("contribution year"), unique=True)
    deadline = models.DateField(_("deadline"), help_text=_("30 June of the contribution year (RULES §6)."))
    late_filing_until = models.DateField(
        _("late filings and corrections accepted until"), help_text=_("Set by the agency (RULES §6).")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-year"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(late_filing_until__gte=models.F("deadline")), name="campaign_late_after_deadline"
            )
        ]

    def __str__(self) -> str:
        return str(_("Campaign %(year)s") % {"year": self.year})

    @property
    def turnover_year(self) -> int:
        return self.year - 1

    @staticmethod
    def default_deadline(year: int) -> datetime.date:
        return datetime.date(year, 6, 30)


class Invitation(models.Model):
    """The e-mail inviting an operator to declare, with its personal link, and the reminders that followed."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="invitations")
    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="invitations")
    email = models.EmailField(_("sent to"))
    language = models.CharField(_("language"), max_length=2)
    sent_at = models.DateTimeField(_("sent at"))
    reminders_sent = models.PositiveIntegerField(_("reminders sent"), default=0)
    last_reminder_at = models.DateTimeField(_("last reminder at"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [models.UniqueConstraint(fields=["campaign", "operator"], name="one_invitation_per_campaign")]

    def __str__(self) -> str:
        return f"{self.campaign.year} → {self.operator}"


class Declaration(models.Model):
    """An operator's turnover declaration for a campaign; its content lives in its versions."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="declarations")
    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="declarations")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("declaration")
        verbose_name_plural = _("declarations")
        constraints = [models.UniqueConstraint(fields=["campaign", "operator"], name="one_declaration_per_campaign")]

    def __str__(self) -> str:
        return f"{self.campaign.year} — {self.operator}"


class CertifierCapacity(models.TextChoices):
    COMPANY_AUDITOR = "company_auditor", _("Company auditor (revisor)")
    EXTERNAL_ACCOUNTANT = "external_accountant", _("External accountant")
    INTERNAL_ACCOUNTANT = "internal_accountant", _("Internal accountant")


def certificate_path(instance: DeclarationVersion, filename: str) -> str:
    """Stored under MEDIA_ROOT (outside the web root) with a random name: the upload's name is never trusted."""
    return f"certificates/{instance.declaration.campaign.year}/{uuid.uuid4().hex}.pdf"


class DeclarationVersion(models.Model):
    """One submitted version of a declaration. Never changed: a correction is a new version (RULES §6)."""

    declaration = models.ForeignKey(Declaration, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    total_turnover = models.DecimalField(
        _("total turnover of medical devices in Belgium"),
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(0)],
    )
    levied_turnover = models.DecimalField(
        _("turnover from supplies to retailers and end users in Belgium"),
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(0)],
    )
    below_threshold = models.BooleanField(_("total turnover below 40,000 euro indexed"), default=False)
    not_liable = models.BooleanField(
        _("not established in Belgium and no liable activity on Belgian territory"), default=False
    )
    certifier_name = models.CharField(_("certifier's name"), max_length=200)
    certifier_capacity = models.CharField(_("certifier's capacity"), max_length=32, choices=CertifierCapacity.choices)
    certifier_membership_number = models.CharField(_("membership number"), max_length=64, blank=True)
    certificate = models.FileField(_("signed certificate (PDF)"), upload_to=certificate_path)
    submitted_at = models.DateTimeField(_("submitted at"))
    submitted_by = models.CharField(_("submitted by"), max_length=200)
    late = models.BooleanField(_("filed after the deadline"), default=False)

    class Meta:
        verbose_name = _("declaration version")
        verbose_name_plural = _("declaration versions")
        ordering = ["declaration", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["declaration", "number"], name="declaration_version_number_unique"),
            models.CheckConstraint(
                condition=models.Q(levied_turnover__lte=models.F("total_turnover")), name="levied_within_total"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.declaration} v{self.number}"
