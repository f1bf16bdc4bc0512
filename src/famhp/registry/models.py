"""The register of operators and their liable activities (RULES §3, §4), with every change kept in history."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from famhp.countries import validate_country
from famhp.rules import entity_table
from famhp.rules.entities import ROLES, UnknownActivity
from famhp.text import validate_one_line


class Role(models.TextChoices):
    AUTHORISED_REPRESENTATIVE = "authorised_representative", _("Authorised representative")
    DISTRIBUTOR = "distributor", _("Distributor")
    IMPORTER = "importer", _("Importer")
    MANUFACTURER = "manufacturer", _("Manufacturer")
    CUSTOM_MADE_MANUFACTURER = "custom_made_manufacturer", _("Custom-made manufacturer")
    ASSEMBLER = "assembler", _("Assembler (systems and procedure packs)")
    STHA = "stha", _("Service and technical home assistance")


assert tuple(Role.values) == ROLES, "roles must follow the entity table"
CATEGORY_CHOICES = [(c, c) for c in entity_table().categories]


class Operator(models.Model):
    """An economic operator: Belgian (enterprise number) or foreign (identifier and country)."""

    enterprise_number = models.CharField(
        _("enterprise number"),
        max_length=10,
        unique=True,
        null=True,
        blank=True,
        help_text=_("Belgian enterprise number, 10 digits (e.g. 0403199702)."),
        validators=[validate_one_line],
    )
    # Every one-line text of the register refuses control characters and line breaks (ADR 14).
    foreign_identifier = models.CharField(
        _("foreign identifier"), max_length=64, blank=True, validators=[validate_one_line]
    )
    country = models.CharField(
        _("country"),
        max_length=2,
        default="BE",
        help_text=_("ISO 3166-1 alpha-2 code, e.g. BE, DE, GB (not UK)."),
        validators=[validate_one_line, validate_country],
    )
    name = models.CharField(_("name"), max_length=200, validators=[validate_one_line])
    street = models.CharField(_("street and number"), max_length=200, blank=True, validators=[validate_one_line])
    postal_code = models.CharField(_("postal code"), max_length=16, blank=True, validators=[validate_one_line])
    city = models.CharField(_("city"), max_length=100, blank=True, validators=[validate_one_line])
    contact_email = models.EmailField(_("contact e-mail"))
    language = models.CharField(
        _("preferred language"), max_length=2, choices=settings.OPERATOR_LANGUAGES, default="nl"
    )
    established_in_belgium = models.BooleanField(_("established in Belgium"), default=True)
    active_in_belgium = models.BooleanField(_("liable activity on Belgian territory"), default=True)
    unregistered_activity = models.BooleanField(
        _("carries on a liable activity without having registered any"),
        default=False,
        help_text=_("Found by the agency (FAQ 14): liable, and counted at 9 entities while no activity is registered."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("operator")
        verbose_name_plural = _("operators")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(enterprise_number=None) | ~models.Q(foreign_identifier=""),
                name="operator_has_an_identifier",
            ),
            models.UniqueConstraint(
                fields=["country", "foreign_identifier"],
                condition=~models.Q(foreign_identifier=""),
                name="operator_foreign_identifier_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.identifier})"

    @property
    def identifier(self) -> str:
        """The enterprise number, or COUNTRY-identifier for a foreign operator."""
        return self.enterprise_number or f"{self.country}-{self.foreign_identifier}"


class Activity(models.Model):
    """A liable activity registered with the FAMHP: a role for a category of devices, from a date until closed."""

    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="activities")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    category = models.CharField(_("category"), max_length=32, choices=CATEGORY_CHOICES)
    registered_on = models.DateField(_("registered on"))
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        ordering = ["operator", "registered_on", "role", "category"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closed_on=None) | models.Q(closed_on__gte=models.F("registered_on")),
                name="activity_closes_after_registration",
            ),
        ]
        indexes = [models.Index(fields=["registered_on", "closed_on"])]

    def __str__(self) -> str:
        return f"{self.get_role_display()} — {self.category}"

    def clean(self) -> None:
        try:
            entity_table().entities(self.role, self.category)
        except UnknownActivity:
            raise ValidationError(
                {
                    "category": _("The role %(role)s does not exist for the category %(category)s (annex IX).")
                    % {"role": self.get_role_display(), "category": self.category}
                }
            ) from None
        if self.closed_on and self.registered_on and self.closed_on < self.registered_on:
            raise ValidationError({"closed_on": _("An activity cannot close before it was registered.")})


class SelfControlDeclaration(models.Model):
    """A distributor's dated declaration that it complies, or no longer complies, with the self-control guide
    (arts. 61–62 of the law of 15 December 2013; D1)."""

    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="self_control_declarations")
    declared_on = models.DateField(_("declared on"))
    complies = models.BooleanField(_("complies with the self-control guide"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("self-control guide declaration")
        verbose_name_plural = _("self-control guide declarations")
        ordering = ["operator", "-declared_on"]

    def __str__(self) -> str:
        return f"{self.operator} {self.declared_on}: {self.complies}"
