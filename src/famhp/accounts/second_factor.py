"""Where a person who gave the password goes for the second factor: shared by the portal's login pages, the
admin's login and the middleware, so it lives with the accounts, not with a front door."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp.plugins.otp_totp.models import TOTPDevice

from famhp.accounts.models import Person

PENDING = "famhp_pending_person"
#: Where to go once the second factor is given (a local address only).
NEXT = "famhp_login_next"


def safe_next(request: HttpRequest, target: str | None) -> str | None:
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return None


def second_factor_redirect(request: HttpRequest, person: Person, target: str | None = None) -> HttpResponse:
    """Send a person who gave the password (only) to the authenticator step: enrolment if it has none yet."""
    request.session[PENDING] = person.pk
    if (safe := safe_next(request, target)) is not None:
        request.session[NEXT] = safe
    confirmed = TOTPDevice.objects.filter(user=person, confirmed=True).exists()
    return redirect("accounts:code" if confirmed else "accounts:enrol")
