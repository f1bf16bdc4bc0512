"""Staff reach no page with company data on a password alone (issue 10): a staff session without the second
factor is sent to the authenticator step, wherever it goes, the admin and the portal alike."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from famhp.accounts.selectors import strongly_authenticated

#: The steps of logging in and out, and pages without company data.
OPEN_VIEWS = {
    "home",
    "set_language",
    "accounts:login",
    "accounts:password_login",
    "accounts:code",
    "accounts:enrol",
    "accounts:logout",
    "accounts:logout_everywhere",
    "accounts:set_password",
    "oidc_authentication_init",
    "oidc_authentication_callback",
    "oidc_logout",
    "admin:login",
    "admin:logout",
}


class StaffSecondFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        user = request.user
        if not (user.is_authenticated and user.is_staff) or strongly_authenticated(request):
            return None
        match = request.resolver_match
        if match is not None and match.view_name in OPEN_VIEWS:
            return None
        from famhp.accounts.views import second_factor_redirect

        return second_factor_redirect(request, user, request.get_full_path())
