"""The API's rate limit: per token, else per logged-in person, else per address (a 429 problem past it)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from famhp.api.authentication import token_of


class CallerRateThrottle(SimpleRateThrottle):
    scope = "api"

    def get_rate(self) -> str:
        # read at each request, not at import: FAMHP_API_RATE is set per deployment (and per test)
        return str(settings.FAMHP_API_RATE)

    def get_cache_key(self, request: Any, view: Any) -> str:
        token = token_of(request)
        if token is not None:
            ident = f"token-{token.pk}"
        elif request.user.is_authenticated:
            ident = f"person-{request.user.pk}"
        else:
            ident = f"address-{self.get_ident(request)}"
        return f"famhp-api-throttle-{ident}"
