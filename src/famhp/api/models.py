"""Personal access tokens: a person's strong login, handed to a program, cut down to some companies."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from famhp.accounts.models import Person
from famhp.registry.models import Operator


class ApiToken(models.Model):
    """Shown once at creation; only the SHA-256 of its secret is kept. ``prefix`` (public, in the token) finds the
    row; the secret's hash is compared in constant time. A token acts for its companies only while the person
    still holds their access (the portal's access module decides at every use), or, for agency staff, with the
    person's view permissions at that moment; never beyond either."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    companies = models.ManyToManyField(Operator, blank=True, related_name="+", verbose_name=_("companies"))
    #: agency staff: the read-only agency endpoints (operators, assessments, invoices, payments) per their role
    agency = models.BooleanField(_("agency"), default=False)
    read_write = models.BooleanField(_("may submit declarations"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def live(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()
