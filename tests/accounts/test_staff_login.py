"""A second factor for every staff login (issue 10): the admin and every page with company data are out of
reach with a password alone."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from famhp.accounts.models import Person
from famhp.accounts.roles import FINANCE_OFFICER, agency_roles_setup
from tests.accounts.conftest import staff, staff_client, totp_code
from tests.portal.factories import belgian, campaign, with_activity

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"
PASSWORD_ONLY = "django.contrib.auth.backends.ModelBackend"


def officer() -> Person:
    member = Person.objects.create_user("officer", email="officer@fagg-afmps.example", password=PASSWORD, is_staff=True)
    member.groups.add(agency_roles_setup()[FINANCE_OFFICER])
    return member


def test_a_password_only_staff_session_is_sent_to_the_second_factor_everywhere() -> None:
    member = officer()
    TOTPDevice.objects.create(user=member, name="app", confirmed=True)
    operator = with_activity(belgian("Medilab NV"))
    c = campaign()
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(member, backend=PASSWORD_ONLY)
    for url in (
        reverse("admin:index"),
        reverse("admin:billing_invoice_changelist"),
        reverse("admin:registry_operator_change", args=[operator.pk]),
        reverse("declarations:versions", args=[c.year, operator.pk]),
        reverse("billing:invoices", args=[operator.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == reverse("accounts:code"), url
    page = client.post(reverse("admin:registry_operator_change", args=[operator.pk]), {"name": "Renamed"})
    assert page.status_code == 302 and page["Location"] == reverse("accounts:code")
    operator.refresh_from_db()
    assert operator.name == "Medilab NV"


def test_a_staff_member_without_an_authenticator_enrols_first() -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(officer(), backend=PASSWORD_ONLY)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and response["Location"] == reverse("accounts:enrol")


def test_the_admin_login_is_the_portal_login_with_its_code() -> None:
    member = officer()
    device = TOTPDevice.objects.create(user=member, name="app", confirmed=True)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    start = client.get(reverse("admin:billing_invoice_changelist"))
    assert start.status_code == 302 and start["Location"].startswith(reverse("admin:login"))
    login = client.get(start["Location"])
    assert login["Location"].startswith(reverse("accounts:password_login") + "?next=")
    step = client.post(login["Location"], {"username": "officer", "password": PASSWORD})
    assert step["Location"] == reverse("accounts:code")
    assert client.get(reverse("admin:index")).status_code == 302  # still not in: the code is missing
    done = client.post(reverse("accounts:code"), {"token": totp_code(device)})
    assert done.status_code == 302 and done["Location"] == reverse("admin:billing_invoice_changelist")
    assert client.get(reverse("admin:billing_invoice_changelist")).status_code == 200  # issue 10: it reaches billing


def test_the_login_never_sends_elsewhere() -> None:
    member = officer()
    device = TOTPDevice.objects.create(user=member, name="app", confirmed=True)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.post(
        reverse("accounts:password_login") + "?next=https://evil.example/",
        {"username": "officer", "password": PASSWORD},
    )
    done = client.post(reverse("accounts:code"), {"token": totp_code(device)})
    assert done["Location"] == reverse("admin:index")


def test_with_the_second_factor_staff_are_in() -> None:
    client = staff_client(staff("auditor", "Auditor"))
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(reverse("admin:login")).status_code == 302  # already in: on to the admin
