from __future__ import annotations

import time
from base64 import b32encode

import pyotp
from django_otp.plugins.otp_totp.models import TOTPDevice

from famhp.accounts.models import AccessRole, Person
from famhp.accounts.services import access_grant
from famhp.registry.models import Operator

OIDC = "famhp.accounts.oidc.PersonOIDCBackend"


def person(username: str, email: str) -> Person:
    return Person.objects.create_user(username, email=email, password="correct horse battery staple")


def manager_of(operator: Operator, who: Person) -> Person:
    access_grant(operator=operator, email=who.email, role=AccessRole.MANAGER, granted_by=None)
    return who


def totp_code(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows now (or ``steps_ahead`` 30-second steps later)."""
    return str(pyotp.TOTP(b32encode(device.bin_key).decode()).at(time.time() + 30 * steps_ahead))
