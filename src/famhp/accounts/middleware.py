"""Hardening of every answer (issue 10).

- Staff reach no page with company data on a password alone: a staff session without the second factor is sent
  to the authenticator step, wherever it goes, the admin and the portal alike.
- A strict Content-Security-Policy, and no caching of the application's pages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

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
        from famhp.accounts.second_factor import second_factor_redirect

        return second_factor_redirect(request, user, request.get_full_path())


#: No inline script or style, nothing from elsewhere, no framing, forms post only to us (issue 10). The admin
#: works under it (Django's admin has no inline script); images may be data: URLs (the admin's icons).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)


class SecurityHeadersMiddleware:
    """The Content-Security-Policy on every answer, and ``Cache-Control: no-store`` on every page the application
    itself answers (the portal's and the admin's pages, downloads): no company's data stays in a browser's or a
    proxy's cache. Static files are answered by WhiteNoise before this and keep their long cache."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        add_never_cache_headers(response)
        return response
