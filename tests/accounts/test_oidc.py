"""The federal authentication service's OpenID Connect flow against a real provider on loopback."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests
from django.test import Client
from django.urls import reverse

from famhp.accounts.models import AuditEvent, OidcIdentity, Person
from famhp.accounts.services import access_grant
from tests.accounts.oidc_provider import oidc_provider
from tests.portal.factories import belgian, campaign, with_activity

pytestmark = pytest.mark.django_db

CLAIMS = {"email": "an.peeters@medilab.be", "given_name": "An", "family_name": "Peeters"}


def oidc_login(client: Client, sub: str) -> str:
    """What a browser does: famhp → provider's authorization page → choose the person → back to famhp."""
    start = client.get(reverse("oidc_authentication_init"))
    assert start.status_code == 302
    authorize = str(start["Location"])
    consent = requests.post(authorize, data={"sub": sub}, allow_redirects=False, timeout=10)
    assert consent.status_code == 302, consent.text[:500]
    callback = urlsplit(consent.headers["Location"])
    assert callback.path == reverse("oidc_authentication_callback")
    done = client.get(f"{callback.path}?{callback.query}")
    assert done.status_code == 302
    return str(done["Location"])


def test_an_identity_logs_in_and_acts_for_the_companies_that_granted_it() -> None:
    operator = with_activity(belgian("Medilab NV"))
    c = campaign()
    access_grant(operator=operator, email=CLAIMS["email"], granted_by=None, subject="85073003328")
    with oidc_provider(("85073003328", CLAIMS)) as issuer:
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        assert oidc_login(client, "85073003328") == reverse("accounts:companies")
    person = Person.objects.get(identities__subject="85073003328")
    assert (person.first_name, person.last_name, person.email) == ("An", "Peeters", CLAIMS["email"])
    assert OidcIdentity.objects.get(person=person).issuer == issuer
    assert AuditEvent.objects.filter(kind="login", person=person).exists()
    companies = client.get(reverse("accounts:companies")).content.decode()
    assert "Medilab NV" in companies
    assert client.get(reverse("declarations:figures", args=[c.year, operator.pk])).status_code == 200


def test_the_same_identity_is_the_same_person_next_time() -> None:
    with oidc_provider(("85073003328", CLAIMS)):
        oidc_login(Client(), "85073003328")
        oidc_login(Client(), "85073003328")
    assert Person.objects.count() == 1


def test_an_identity_without_a_grant_sees_no_company() -> None:
    operator = with_activity(belgian("Medilab NV"))
    c = campaign()
    with oidc_provider(("someone-else", {"email": "someone@else.be"})):
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        oidc_login(client, "someone-else")
    assert "Medilab NV" not in client.get(reverse("accounts:companies")).content.decode()
    assert client.get(reverse("declarations:figures", args=[c.year, operator.pk])).status_code == 403
