"""A real OpenID Connect provider on loopback (oidc-provider-mock), with famhp's settings pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.test import override_settings
from oidc_provider_mock import User, run_server_in_thread

from tests.portal.smtp import free_port


@contextmanager
def oidc_provider(*users: tuple[str, dict[str, Any]]) -> Iterator[str]:
    """Run the provider with predefined ``(sub, claims)`` users; yields its issuer address."""
    port = free_port()
    with run_server_in_thread(port=port, user_claims=[User(sub=sub, claims=claims) for sub, claims in users]):
        issuer = f"http://localhost:{port}"
        with override_settings(
            FAMHP_OIDC_ISSUER=issuer,
            OIDC_OP_AUTHORIZATION_ENDPOINT=f"{issuer}/oauth2/authorize",
            OIDC_OP_TOKEN_ENDPOINT=f"{issuer}/oauth2/token",
            OIDC_OP_USER_ENDPOINT=f"{issuer}/userinfo",
            OIDC_OP_JWKS_ENDPOINT=f"{issuer}/jwks",
        ):
            yield issuer
