"""People, their access to companies' contributions (FAQ 22–25, RULES §9), and the log of who did what."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from famhp.registry.models import Operator


class Person(AbstractUser):
    """A natural person: agency staff, or a user acting for one or more companies. Never a company itself."""

    #: Raised by "log out everywhere": every session signed with an older value ends.
    session_epoch = models.PositiveIntegerField(default=0)
    #: An account a company's main access manager created (companies established abroad): for that company only;
    #: no other company's grant ever binds to it (issue 10).
    created_for = models.ForeignKey(
        Operator, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("created for")
    )

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        #: The agency's staff permissions (issue 10): every admin page, custom view and action names one of these
        #: (or a model's view permission); roles (famhp.accounts.roles) are sets of them.
        permissions = [
            ("manage_year", _("Manage a year: settings, assessment runs, cost per entity, closing decision")),
            ("issue_invoices", _("Issue payment notices, invoices, credit notes and corrections")),
            ("manage_payments", _("Import bank statements, allocate and reverse payments, refunds")),
            ("manage_register", _("Import operators and change the facts that change amounts")),
            ("manage_campaign", _("Open the campaign, send invitations and reminders")),
            ("manage_contacts", _("Correct contact details, resend an invitation, reset an authenticator")),
            ("manage_staff", _("Manage people and their staff roles")),
        ]

    def get_session_auth_hash(self) -> str:
        return salted_hmac(
            "famhp.accounts.Person.session", f"{self.password}:{self.session_epoch}", algorithm="sha256"
        ).hexdigest()

    def __str__(self) -> str:
        return self.get_full_name() or self.email or self.username


class OidcIdentity(models.Model):
    """A person's identity at the federal authentication service (eID, itsme): issuer and subject."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="identities")
    issuer = models.CharField(max_length=300)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="oidc_identity_unique")]


class AccessRole(models.TextChoices):
    MANAGER = "manager", _("Main access manager")
    ENTERPRISE_USER = "enterprise_user", _("Enterprise User")


class Access(models.Model):
    """A person's "contributions" access to an operator, granted by its main access manager (FAQ 23).

    Pending while ``person`` is empty. It binds to one identity only (issue 10): at once to an account created
    for the same company; at the federal login to the identity whose subject is ``subject`` (when the grant
    names it); otherwise to the person who, logged in, opens the link sent to ``email``. Never by e-mail alone.
    """

    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="accesses")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, null=True, blank=True, related_name="accesses")
    email = models.EmailField(_("e-mail"))
    subject = models.CharField(
        _("national register number"),
        max_length=255,
        blank=True,
        help_text=_("The person's subject at the federal authentication service (eID, itsme), when known."),
    )
    role = models.CharField(_("role"), max_length=20, choices=AccessRole.choices, default=AccessRole.ENTERPRISE_USER)
    granted_by = models.ForeignKey(Person, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    granted_at = models.DateTimeField(_("granted at"))
    revoked_by = models.ForeignKey(Person, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("access")
        verbose_name_plural = _("accesses")
        constraints = [
            models.UniqueConstraint(
                fields=["operator", "email", "role"], condition=models.Q(revoked_at=None), name="one_live_access"
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.operator} ({self.get_role_display()})"

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class AuditEvent(models.Model):
    """Append-only: every login, grant, revocation, reset and logout. Never changed, never deleted."""

    class Kind(models.TextChoices):
        LOGIN = "login", _("login")
        LOGIN_FAILED = "login_failed", _("failed login")
        LOGOUT_EVERYWHERE = "logout_everywhere", _("logout everywhere")
        GRANT = "grant", _("access granted")
        REVOKE = "revoke", _("access revoked")
        TOTP_ENROLLED = "totp_enrolled", _("authenticator enrolled")
        TOTP_RESET = "totp_reset", _("authenticator reset")
        ACCOUNT_CREATED = "account_created", _("account created")
        GRANT_BOUND = "grant_bound", _("access bound to a person")

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    actor = models.ForeignKey(Person, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind}"
