"""Reads about people and access."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpRequest

from famhp.accounts.compiled import row_exists
from famhp.accounts.models import Access, AccessRole, Person
from famhp.registry.models import Operator

OIDC_BACKEND = "famhp.accounts.oidc.PersonOIDCBackend"


def strongly_authenticated(request: HttpRequest) -> bool:
    """Logged in through the federal authentication service, or with password and authenticator code."""
    user = request.user
    if not user.is_authenticated:
        return False
    if request.session.get("_auth_user_backend") == OIDC_BACKEND:
        return True
    return bool(getattr(user, "is_verified", lambda: False)())


def operators_for(person: Person) -> QuerySet[Operator]:
    """The companies that granted ``person`` the contributions access (and not revoked it)."""
    return Operator.objects.filter(accesses__person=person, accesses__revoked_at=None).distinct().order_by("name")


def has_access(person: Person, operator: Operator) -> bool:
    if person.pk is None or operator.pk is None:
        return Access.objects.filter(person=person, operator=operator, revoked_at=None).exists()
    # asked at every request of a company page: its SQL compiled once (issue 15)
    return row_exists(Access, person_id=person.pk, operator_id=operator.pk, revoked_at=None)


def accesses_of(operator: Operator) -> QuerySet[Access]:
    return (
        Access.objects.filter(operator=operator)
        .select_related("person", "granted_by", "revoked_by")
        .order_by("revoked_at", "role", "email")
    )


def roles_of(person: Person) -> dict[int, str]:
    """operator id → the person's role there (the main access manager's role when it holds both)."""
    roles: dict[int, str] = {}
    for operator_id, role in Access.objects.filter(person=person, revoked_at=None).values_list("operator_id", "role"):
        if roles.get(operator_id) != AccessRole.MANAGER:
            roles[operator_id] = role
    return roles


def people_with_authenticator(person_ids: list[int]) -> set[int]:
    """Of these people, those with a confirmed authenticator app: only they have one to reset (issue 13)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return set(TOTPDevice.objects.filter(user_id__in=person_ids, confirmed=True).values_list("user_id", flat=True))
