"""Writes of the API: personal access tokens made and revoked, every use of one written to the audit log."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from famhp.accounts.models import Person
from famhp.accounts.selectors import operators_for
from famhp.accounts.services import audit
from famhp.api.models import ApiToken
from famhp.registry.models import Operator

#: ``famhp_<prefix>_<secret>``: the prefix finds the row, the 32-byte secret proves the holder.
TOKEN_START = "famhp_"
PREFIX_BYTES = 6
SECRET_BYTES = 32

#: Audit kinds of the API (accounts' audit log; the kind is a free code, the detail says what was used).
TOKEN_CREATED = "api_token_created"
TOKEN_REVOKED = "api_token_revoked"
TOKEN_USED = "api_token_used"


def secret_hash(secret: str) -> str:
    """SHA-256 is enough: the secret is 32 random bytes, not a password a person chose."""
    return hashlib.sha256(secret.encode()).hexdigest()


def token_parse(raw: str) -> tuple[str, str] | None:
    """``famhp_<prefix>_<secret>`` → (prefix, secret), or None for anything else."""
    if not raw.startswith(TOKEN_START):
        return None
    prefix, _sep, secret = raw[len(TOKEN_START) :].partition("_")
    if not prefix or not secret or len(prefix) > 16 or len(secret) > 100:
        return None
    return prefix, secret


def token_matches(token: ApiToken, secret: str) -> bool:
    return hmac.compare_digest(token.secret_hash, secret_hash(secret))


@transaction.atomic
def token_create(
    *,
    person: Person,
    name: str,
    companies: Iterable[Operator],
    read_write: bool,
    expires_on: datetime.date,
    agency: bool = False,
    today: datetime.date | None = None,
) -> tuple[ApiToken, str]:
    """A new token and its text, which is shown once and never stored. Its companies must be among those the
    person acts for now; an agency token is read-only and needs a staff member."""
    today = today or timezone.localdate()
    chosen = list(companies)
    allowed = set(operators_for(person).values_list("pk", flat=True))
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = _("Give the token a name, to recognise it later.")
    if agency and not person.is_staff:
        raise PermissionDenied(_("Only agency staff make an agency token."))
    if not agency and not chosen:
        errors["companies"] = _("Choose at least one company.")
    if any(operator.pk not in allowed for operator in chosen):
        errors["companies"] = _("You can only choose companies you act for.")
    if expires_on <= today:
        errors["expires_on"] = _("The expiry date must be in the future.")
    elif expires_on > today + datetime.timedelta(days=settings.FAMHP_API_TOKEN_MAX_DAYS):
        errors["expires_on"] = _("A token lives at most %(days)s days.") % {"days": settings.FAMHP_API_TOKEN_MAX_DAYS}
    if errors:
        raise ValidationError(errors)
    prefix = secrets.token_hex(PREFIX_BYTES)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    expires_at = datetime.datetime.combine(
        expires_on, datetime.time(23, 59, 59), tzinfo=timezone.get_current_timezone()
    )
    token = ApiToken.objects.create(
        person=person,
        name=name.strip()[:100],
        prefix=prefix,
        secret_hash=secret_hash(secret),
        agency=agency,
        read_write=read_write and not agency,
        expires_at=expires_at,
    )
    token.companies.set(chosen)
    audit(
        TOKEN_CREATED,
        actor=person,
        person=person,
        token=prefix,
        companies=[o.pk for o in chosen],
        read_write=token.read_write,
        agency=agency,
        expires_at=expires_at.isoformat(),
    )
    return token, f"{TOKEN_START}{prefix}_{secret}"


@transaction.atomic
def token_revoke(*, token: ApiToken, person: Person) -> ApiToken:
    """The person revokes one of its own tokens; at once, for good."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.person_id != person.pk:
        raise PermissionDenied(_("This is not your token."))
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit(TOKEN_REVOKED, actor=person, person=person, token=token.prefix)
    return token


def token_used(*, token: ApiToken, method: str, path: str) -> None:
    """Every use in the audit log: who, which token, what was asked."""
    now = timezone.now()
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    audit(TOKEN_USED, actor=token.person, person=token.person, token=token.prefix, method=method, path=path[:300])
