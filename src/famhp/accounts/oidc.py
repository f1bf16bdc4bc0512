"""Belgian companies' users log in through the federal authentication service (eID, itsme) over OpenID
Connect (FAQ 22). The identity (subject, name, e-mail) maps to a person, never to a company by itself."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from famhp.accounts.models import Person
from famhp.accounts.services import person_from_oidc


class PersonOIDCBackend(OIDCAuthenticationBackend):  # type: ignore[misc]
    def filter_users_by_claims(self, claims: dict[str, Any]) -> QuerySet[Person]:
        subject = claims.get("sub")
        if not subject:
            return Person.objects.none()
        return Person.objects.filter(identities__issuer=settings.FAMHP_OIDC_ISSUER, identities__subject=subject)

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        return bool(claims.get("sub"))

    def create_user(self, claims: dict[str, Any]) -> Person:
        return person_from_oidc(issuer=settings.FAMHP_OIDC_ISSUER, claims=claims)

    def update_user(self, user: Person, claims: dict[str, Any]) -> Person:
        return person_from_oidc(issuer=settings.FAMHP_OIDC_ISSUER, claims=claims)
