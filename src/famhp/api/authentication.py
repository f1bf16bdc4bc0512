"""``Authorization: Bearer famhp_<prefix>_<secret>``: a personal access token, checked and logged at every use."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from famhp.accounts.models import Person
from famhp.api.models import ApiToken
from famhp.api.selectors import token_by_prefix
from famhp.api.services import token_matches, token_parse, token_used


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """A token that is unknown, wrong, revoked or expired is refused (401) whatever else the request carries: a
    program learns at once that its token no longer works, rather than falling back on a browser's cookie."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Person, ApiToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        scheme, _sep, raw = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        parsed = token_parse(raw.strip())
        token = token_by_prefix(parsed[0]) if parsed else None
        if parsed is None or token is None or not token_matches(token, parsed[1]):
            raise exceptions.AuthenticationFailed(_("This token is not valid."))
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("This token was revoked."))
        if token.expires_at <= timezone.now():
            raise exceptions.AuthenticationFailed(_("This token has expired."))
        person = token.person
        if not person.is_active:
            raise exceptions.AuthenticationFailed(_("This token is not valid."))
        # The token was made in a strong login (federal authentication, or password and authenticator code): its
        # holder stands for that login, as django-otp's verified flag says, within the token's scope only.
        person.is_verified = lambda: True  # type: ignore[attr-defined]
        token_used(token=token, method=request.method or "", path=request.get_full_path())
        return person, token

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'


class SessionAuthentication(authentication.SessionAuthentication):
    """A logged-in browser's session, its CSRF token checked as DRF does; a failed check is refused in the
    caller's language (DRF says "CSRF Failed: …" in English only)."""

    def enforce_csrf(self, request: Request) -> None:
        try:
            super().enforce_csrf(request)
        except exceptions.PermissionDenied as refused:
            raise exceptions.PermissionDenied(
                _(
                    "CSRF check failed: a logged-in browser writes to the API only with its CSRF token (the "
                    "X-CSRFToken header); a program uses a personal access token."
                )
            ) from refused


def token_of(request: Request) -> ApiToken | None:
    auth: Any = getattr(request, "auth", None)
    return auth if isinstance(auth, ApiToken) else None
