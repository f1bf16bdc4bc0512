from __future__ import annotations

import time
from base64 import b32encode

import pyotp
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from famhp.accounts.models import AccessRole, Person
from famhp.accounts.services import access_claim, access_grant
from famhp.registry.models import Operator

OIDC = "famhp.accounts.oidc.PersonOIDCBackend"


def person(username: str, email: str) -> Person:
    return Person.objects.create_user(username, email=email, password="correct horse battery staple")


def manager_of(operator: Operator, who: Person) -> Person:
    """``who`` becomes the operator's main access manager (the agency's set-up, bound to that person)."""
    access_claim(
        access=access_grant(operator=operator, email=who.email, role=AccessRole.MANAGER, granted_by=None), person=who
    )
    return who


def totp_code(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows now (or ``steps_ahead`` 30-second steps later)."""
    return str(pyotp.TOTP(b32encode(device.bin_key).decode()).at(time.time() + 30 * steps_ahead))


def staff(username: str, role: str | None) -> Person:
    """A staff member in one of the agency's roles (docs/roles.md), with an authenticator app."""
    from famhp.accounts.roles import agency_roles_setup

    member = Person.objects.create_user(username, email=f"{username}@fagg-afmps.example", is_staff=True)
    if role is not None:
        member.groups.add(agency_roles_setup()[role])
    TOTPDevice.objects.create(user=member, name="authenticator app", confirmed=True)
    return member


def staff_client(member: Person, language: str = "en") -> Client:
    """Logged in as ``member`` with password and authenticator code (the session django-otp verified)."""
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(member, backend="django.contrib.auth.backends.ModelBackend")
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=member).persistent_id
    session.save()
    return client
