"""Belgian companies' users log in through the federal authentication service (eID, itsme) over OpenID
Connect (FAQ 22). The identity (subject, name, e-mail) maps to a person, never to a company by itself.

The ID token is checked in full (issue 10): signature and algorithm, issuer, audience (our client id), expiry
and issue time, and the nonce of this browser's login. Every failure, the provider's own included, ends on a
page that says what happened, never on a server error.
"""

from __future__ import annotations

import logging
from typing import Any

import jwt
import requests
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView

from famhp.accounts.compiled import unique_row
from famhp.accounts.models import AuditEvent, Person
from famhp.accounts.services import audit, person_from_oidc

logger = logging.getLogger(__name__)
#: Clock difference tolerated between the provider and us, in seconds.
LEEWAY = 60


class OidcRefused(SuspiciousOperation):
    """The provider's answer is not accepted; ``reason`` names why (for the log and the page)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PersonOIDCBackend(OIDCAuthenticationBackend):  # type: ignore[misc]
    def get_user(self, user_id: Any) -> Person | None:
        """The person of a session, as mozilla-django-oidc reads it (``get(pk=…)`` or None), at every request of a
        logged-in company user: its SQL compiled once (issue 15). Django's ``get_user`` still verifies the
        session's hash against it."""
        return unique_row(Person, pk=user_id)

    def _verify_jws(self, payload: str, key: Any) -> dict[str, Any]:
        try:
            algorithm = jwt.get_unverified_header(payload).get("alg")
            if algorithm != self.OIDC_RP_SIGN_ALGO:
                raise OidcRefused("algorithm")
            claims: dict[str, Any] = jwt.decode(
                payload,
                key,
                algorithms=[algorithm],
                audience=settings.OIDC_RP_CLIENT_ID,
                issuer=settings.FAMHP_OIDC_ISSUER,
                leeway=LEEWAY,
                options={"require": ["iss", "aud", "exp", "iat", "sub"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise OidcRefused("expired") from error
        except jwt.InvalidAudienceError as error:
            raise OidcRefused("audience") from error
        except jwt.InvalidIssuerError as error:
            raise OidcRefused("issuer") from error
        except jwt.PyJWTError as error:
            raise OidcRefused(f"token: {type(error).__name__}") from error
        return claims

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        if not token:
            raise OidcRefused("no ID token")
        try:
            return super().verify_token(token, **kwargs)  # type: ignore[no-any-return]
        except OidcRefused:
            raise
        except SuspiciousOperation as error:  # the library's nonce, key and algorithm checks
            raise OidcRefused("nonce" if "Nonce" in str(error) else str(error)) from error

    def get_token(self, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            return super().get_token(payload)  # type: ignore[no-any-return]
        except requests.HTTPError as error:
            raise OidcRefused("code rejected") from error

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


MESSAGES = {
    "provider": _("The federal authentication service did not log you in. You may have cancelled; try again."),
    "unreachable": _("The federal authentication service cannot be reached at the moment. Try again later."),
    "code rejected": _("The federal authentication service refused to complete this login. Start again."),
    "expired": _("The answer of the federal authentication service came too late. Log in again."),
}
UNVERIFIED = _("The answer of the federal authentication service could not be verified. Log in again.")


class CallbackView(OIDCAuthenticationCallbackView):  # type: ignore[misc]
    """The provider's return: a clear page for every failure (OIDC_CALLBACK_CLASS)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        self.reason = "provider" if request.GET.get("error") else "no login"
        try:
            return super().get(request)  # type: ignore[no-any-return]
        except OidcRefused as error:
            return self.failed(request, error.reason)
        except SuspiciousOperation as error:  # an unknown or replayed state
            return self.failed(request, f"state: {error}")
        except requests.RequestException as error:
            return self.failed(request, "unreachable", detail=type(error).__name__, status=502)

    def login_failure(self) -> HttpResponse:
        detail = str(self.request.GET.get("error", ""))[:100]
        return self.failed(self.request, self.reason, detail=detail)

    def failed(self, request: HttpRequest, reason: str, *, detail: str = "", status: int = 400) -> HttpResponse:
        logger.warning("federal login refused: %s %s", reason, detail)
        audit(AuditEvent.Kind.LOGIN_FAILED, method="oidc", reason=reason[:200], detail=detail)
        message = MESSAGES.get(reason, UNVERIFIED)
        return render(request, "accounts/oidc_failed.html", {"message": message}, status=status)
