"""Writes about people and access: identities, grants and revocations, authenticators, logging out."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from famhp.accounts.models import Access, AccessRole, AuditEvent, OidcIdentity, Person
from famhp.languages import email_language
from famhp.registry.models import Operator

RECOVERY_CODES = 10


def audit(
    kind: str,
    *,
    actor: Person | None = None,
    person: Person | None = None,
    operator: Operator | None = None,
    **detail: Any,
) -> AuditEvent:
    return AuditEvent.objects.create(kind=kind, actor=actor, person=person, operator=operator, detail=detail)


@transaction.atomic
def person_from_oidc(*, issuer: str, claims: dict[str, Any]) -> Person:
    """The person behind an OpenID Connect identity, created at first login; names and e-mail kept current.
    Pending accesses granted to the person's e-mail are bound to it."""
    subject = str(claims["sub"])
    identity = OidcIdentity.objects.select_related("person").filter(issuer=issuer, subject=subject).first()
    if identity is None:
        person = Person.objects.create(username=f"oidc-{secrets.token_hex(8)}")
        person.set_unusable_password()
        OidcIdentity.objects.create(person=person, issuer=issuer, subject=subject)
        audit(AuditEvent.Kind.ACCOUNT_CREATED, person=person, method="oidc")
    else:
        person = identity.person
    person.first_name = str(claims.get("given_name", person.first_name))[:150]
    person.last_name = str(claims.get("family_name", person.last_name))[:150]
    if not (person.first_name or person.last_name) and claims.get("name"):
        person.first_name = str(claims["name"])[:150]
    person.email = str(claims.get("email", person.email))
    person.save()
    bind_pending_accesses(person=person, subject=subject)
    return person


def bind_pending_accesses(*, person: Person, subject: str) -> int:
    """At the federal login: the pending grants that name this identity's subject (never by e-mail alone)."""
    pending = list(Access.objects.filter(person=None, revoked_at=None, subject=subject).exclude(subject=""))
    for access in pending:
        _bind(access, person, how="subject")
    return len(pending)


def _bind(access: Access, person: Person, *, how: str, actor: Person | None = None) -> None:
    access.person = person
    access.save(update_fields=["person"])
    audit(AuditEvent.Kind.GRANT_BOUND, actor=actor or person, person=person, operator=access.operator, how=how)


def is_manager(person: Person, operator: Operator) -> bool:
    return Access.objects.filter(operator=operator, person=person, role=AccessRole.MANAGER, revoked_at=None).exists()


def _agency(actor: Person) -> bool:
    """Agency staff who manage companies' contacts and access (support, the administrator)."""
    return actor.is_staff and (actor.has_perm("accounts.manage_contacts") or actor.has_perm("accounts.manage_staff"))


def _may_manage(actor: Person, operator: Operator) -> bool:
    """The operator's main access manager, or the agency's support."""
    return is_manager(actor, operator) or _agency(actor)


@transaction.atomic
def access_grant(
    *,
    operator: Operator,
    email: str,
    role: str = AccessRole.ENTERPRISE_USER,
    granted_by: Person | None,
    subject: str = "",
) -> Access:
    """Grant the "contributions" access to ``email`` for ``operator`` (FAQ 23); ``granted_by`` None is the
    agency's own setting-up of a company's first main access manager.

    The grant binds at once only to an account created for this same company with that e-mail; else it waits
    for the federal login of ``subject`` (when given) or for its link (``access_claim``). An account another
    company created is never reached, whatever its e-mail (issue 10)."""
    if granted_by is not None and not _may_manage(granted_by, operator):
        raise PermissionDenied(_("Only the company's main access manager grants access."))
    email, subject = email.strip().lower(), subject.strip()
    if Access.objects.filter(operator=operator, email=email, role=role, revoked_at=None).exists():
        raise ValidationError({"email": _("%(email)s already has this access.") % {"email": email}})
    person = Person.objects.filter(email__iexact=email, created_for=operator).order_by("pk").first()
    if subject:
        identity = OidcIdentity.objects.filter(issuer=settings.FAMHP_OIDC_ISSUER, subject=subject).first()
        person = identity.person if identity is not None else None
    try:
        with transaction.atomic():  # the same grant posted twice at once: the database keeps one (one_live_access)
            access = Access.objects.create(
                operator=operator,
                person=person,
                email=email,
                subject=subject,
                role=role,
                granted_by=granted_by,
                granted_at=timezone.now(),
            )
    except IntegrityError:
        raise ValidationError({"email": _("%(email)s already has this access.") % {"email": email}}) from None
    audit(AuditEvent.Kind.GRANT, actor=granted_by, person=person, operator=operator, email=email, role=role)
    return access


CLAIM_SALT = "famhp.accounts.access_claim"
CLAIM_MAX_AGE = 60 * 60 * 24 * 30


def access_claim_link(access: Access) -> str:
    """The personal link sent to a pending grant's e-mail address: opened by a logged-in person, it binds the
    grant to that person (who thereby shows they read that mailbox)."""
    token = signing.dumps({"a": access.pk, "e": access.email}, salt=CLAIM_SALT)
    return settings.FAMHP_BASE_URL + reverse("accounts:claim", args=[token])


def access_from_claim(token: str) -> Access | None:
    try:
        data = signing.loads(token, salt=CLAIM_SALT, max_age=CLAIM_MAX_AGE)
    except signing.BadSignature:
        return None
    return Access.objects.filter(pk=data.get("a"), email=data.get("e"), person=None, revoked_at=None).first()


@transaction.atomic
def access_claim(*, access: Access, person: Person) -> Access:
    """Bind a pending grant to ``person`` (its link was opened by them, or the agency knows them)."""
    access = Access.objects.select_for_update().get(pk=access.pk)
    if access.person_id is not None or access.revoked_at is not None:
        raise ValidationError(_("This access is no longer waiting for its person."))
    if person.created_for_id is not None and person.created_for_id != access.operator_id:
        raise ValidationError(_("This account was created for another company: it cannot receive this access."))
    _bind(access, person, how="link")
    return access


def send_claim_link(access: Access, language: str = "en") -> None:
    with translation.override(email_language(language)):
        body = render_to_string("accounts/email/claim.txt", {"access": access, "link": access_claim_link(access)})
        subject = _("FAMHP contributions: access for %(company)s") % {"company": access.operator.name}
    EmailMessage(subject=subject, body=body, to=[access.email]).send()


@transaction.atomic
def access_revoke(*, access: Access, revoked_by: Person) -> Access:
    # The company is locked first, then everything is read again: two managers who revoke each other at the same
    # moment leave one (the second finds that its own access is gone, or that it is the last manager).
    Operator.objects.select_for_update(no_key=True).filter(pk=access.operator_id).first()
    access = Access.objects.select_related("operator", "person").get(pk=access.pk)
    if not _may_manage(revoked_by, access.operator):
        raise PermissionDenied(_("Only the company's main access manager revokes access."))
    if access.revoked_at is not None:
        raise ValidationError(_("This access is already revoked."))
    if (
        access.role == AccessRole.MANAGER
        and not Access.objects.filter(operator=access.operator, role=AccessRole.MANAGER, revoked_at=None)
        .exclude(pk=access.pk)
        .exists()
    ):
        raise ValidationError(_("A company keeps at least one main access manager."))
    access.revoked_at, access.revoked_by = timezone.now(), revoked_by
    access.save(update_fields=["revoked_at", "revoked_by"])
    audit(
        AuditEvent.Kind.REVOKE,
        actor=revoked_by,
        person=access.person,
        operator=access.operator,
        email=access.email,
        role=access.role,
    )
    return access


@transaction.atomic
def foreign_account_create(
    *, operator: Operator, username: str, email: str, created_by: Person | None, role: str = AccessRole.ENTERPRISE_USER
) -> tuple[Person, str]:
    """An account for a user of a company established abroad (FAQ 22: TOTP): no password yet; returns the
    person and the link where they set it, after which they enrol an authenticator app."""
    if Person.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": _("This username is taken.")})
    try:
        with transaction.atomic():  # the same account posted twice at once: the database keeps one username
            person = Person.objects.create(username=username, email=email.strip().lower(), created_for=operator)
    except IntegrityError:
        raise ValidationError({"username": _("This username is taken.")}) from None
    person.set_unusable_password()
    person.save()
    audit(AuditEvent.Kind.ACCOUNT_CREATED, actor=created_by, person=person, operator=operator, method="totp")
    access_grant(operator=operator, email=person.email, role=role, granted_by=created_by)
    return person, password_link(person)


def password_link(person: Person) -> str:
    uid = urlsafe_base64_encode(force_bytes(person.pk))
    token = default_token_generator.make_token(person)
    return settings.FAMHP_BASE_URL + reverse("accounts:set_password", args=[uid, token])


def send_password_link(person: Person, link: str, language: str = "en") -> None:
    with translation.override(email_language(language)):
        body = render_to_string("accounts/email/set_password.txt", {"person": person, "link": link})
        subject = _("FAMHP contributions: your account")
    EmailMessage(subject=subject, body=body, to=[person.email]).send()


def totp_device_new(person: Person) -> TOTPDevice:
    """A fresh, unconfirmed authenticator for enrolment (any earlier unconfirmed one is replaced)."""
    TOTPDevice.objects.filter(user=person, confirmed=False).delete()
    return TOTPDevice.objects.create(user=person, name="authenticator app", confirmed=False)


@transaction.atomic
def totp_confirm(*, device: TOTPDevice, token: str) -> list[str]:
    """Confirm an enrolment with a first code; returns the recovery codes, shown once."""
    if not device.verify_token(token):
        raise ValidationError({"token": _("This code is not valid. Check your phone's clock and try again.")})
    device.confirmed = True
    device.save()
    static, _created = StaticDevice.objects.get_or_create(user=device.user, name="recovery codes")
    static.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    static.token_set.bulk_create([StaticToken(device=static, token=code) for code in codes])
    static.confirmed = True
    static.save()
    audit(AuditEvent.Kind.TOTP_ENROLLED, actor=device.user, person=device.user)
    return codes


@transaction.atomic
def totp_reset(*, person: Person, reset_by: Person, operator: Operator | None = None) -> None:
    """Remove a person's authenticators and recovery codes: they enrol again at their next login. By a main
    access manager of a company the person acts for, or by the agency."""
    agency = _agency(reset_by) and (not person.is_staff or reset_by.has_perm("accounts.manage_staff"))
    if not agency and not (
        operator
        and is_manager(reset_by, operator)
        and Access.objects.filter(operator=operator, person=person, revoked_at=None).exists()
    ):
        raise PermissionDenied(_("Only the company's main access manager or the agency resets an authenticator."))
    TOTPDevice.objects.filter(user=person).delete()
    StaticDevice.objects.filter(user=person).delete()
    logout_everywhere(person=person, actor=reset_by)
    audit(AuditEvent.Kind.TOTP_RESET, actor=reset_by, person=person, operator=operator)


def logout_everywhere(*, person: Person, actor: Person) -> None:
    """End every session of ``person`` on every device (Person.get_session_auth_hash changes)."""
    Person.objects.filter(pk=person.pk).update(session_epoch=person.session_epoch + 1)
    person.session_epoch += 1
    audit(AuditEvent.Kind.LOGOUT_EVERYWHERE, actor=actor, person=person)


def send_access_notice(access: Access, kind: str, language: str = "en") -> bool:
    """Tell the person at the access's address that it was granted or revoked (issue 13: never silently). A
    message that cannot be sent is logged; the grant or revocation stands. Returns whether it was sent."""
    from famhp.mailing import send_each

    def build() -> tuple[EmailMessage, Access]:
        with translation.override(email_language(language)):
            body = render_to_string(f"accounts/email/access_{kind}.txt", {"access": access})
            subject = (
                _("FAMHP contributions: access granted for %(company)s")
                if kind == "granted"
                else _("FAMHP contributions: access revoked for %(company)s")
            ) % {"company": access.operator.name}
        return EmailMessage(subject=subject, body=body, to=[access.email]), access

    sent, _failures = send_each([(access.email, build)])
    return bool(sent)
