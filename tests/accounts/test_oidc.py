"""The federal authentication service's OpenID Connect flow against a real provider on loopback."""

from __future__ import annotations

import time
from typing import Any
from unittest import mock
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client, override_settings
from django.urls import reverse

from famhp.accounts.models import AuditEvent, OidcIdentity, Person
from famhp.accounts.oidc import PersonOIDCBackend
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


# --- Every failure is a clear page (issue 10) ---


def callback_from_provider(client: Client, data: dict[str, str], authorize_edit: Any = None) -> Any:
    """Start a login, answer the provider's authorization page with ``data``, follow back to famhp."""
    authorize = str(client.get(reverse("oidc_authentication_init"))["Location"])
    if authorize_edit is not None:
        authorize = authorize_edit(authorize)
    consent = requests.post(authorize, data=data, allow_redirects=False, timeout=10)
    assert consent.status_code == 302, consent.text[:500]
    callback = urlsplit(consent.headers["Location"])
    return client.get(f"{callback.path}?{callback.query}")


def refused(response: Any, text: str) -> None:
    assert response.status_code in {400, 502}
    page = response.content.decode()
    assert text in page and "support.portal@fagg-afmps.be" in page
    assert "_auth_user_id" not in response.wsgi_request.session  # nobody logged in


def test_the_provider_refusing_is_a_clear_page() -> None:
    with oidc_provider(("85073003328", CLAIMS)):
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        response = callback_from_provider(client, {"action": "deny"})
    refused(response, "did not log you in")
    assert AuditEvent.objects.filter(kind="login_failed", detail__reason="provider").exists()


def test_a_rejected_code_is_a_clear_page() -> None:
    with oidc_provider(("85073003328", CLAIMS)):
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        start = urlsplit(str(client.get(reverse("oidc_authentication_init"))["Location"]))
        state = parse_qs(start.query)["state"][0]
        response = client.get(reverse("oidc_authentication_callback"), {"code": "made-up", "state": state})
    refused(response, "refused to complete this login")


def test_a_token_for_another_login_nonce_is_a_clear_page() -> None:
    def other_nonce(url: str) -> str:
        parts = urlsplit(url)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        query["nonce"] = "a-nonce-of-another-browser"
        return parts._replace(query=urlencode(query)).geturl()

    with oidc_provider(("85073003328", CLAIMS)):
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        response = callback_from_provider(client, {"sub": "85073003328"}, authorize_edit=other_nonce)
    refused(response, "could not be verified")
    assert not Person.objects.exists()


def test_an_unknown_state_is_a_clear_page() -> None:
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get(
        reverse("oidc_authentication_callback"), {"code": "x", "state": "forged"}
    )
    refused(response, "Login not completed")


def test_a_provider_out_of_reach_is_a_clear_page() -> None:
    with oidc_provider(("85073003328", CLAIMS)) as issuer:
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        start = urlsplit(str(client.get(reverse("oidc_authentication_init"))["Location"]))
        state = parse_qs(start.query)["state"][0]
    # The provider is gone (its thread stopped), its address unanswered.
    with override_settings(OIDC_OP_TOKEN_ENDPOINT=f"{issuer}/oauth2/token", FAMHP_OIDC_ISSUER=issuer):
        response = client.get(reverse("oidc_authentication_callback"), {"code": "x", "state": state})
    refused(response, "cannot be reached")


# Tokens we forge with our own key (the provider's key for the test): one claim wrong at a time.
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC = KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
ISSUER = "https://idp.example"


def forged_login(**changes: Any) -> Any:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    with override_settings(FAMHP_OIDC_ISSUER=ISSUER, OIDC_RP_IDP_SIGN_KEY=PUBLIC):
        start = urlsplit(str(client.get(reverse("oidc_authentication_init"))["Location"]))
        query = parse_qs(start.query)
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": "famhp",
            "sub": "85073003328",
            "iat": now,
            "exp": now + 300,
            "nonce": query["nonce"][0],
            **changes,
        }
        token = jwt.encode({k: v for k, v in claims.items() if v is not None}, KEY, algorithm="RS256")
        with (
            mock.patch.object(PersonOIDCBackend, "get_token", return_value={"id_token": token, "access_token": "a"}),
            mock.patch.object(PersonOIDCBackend, "get_userinfo", return_value={"sub": "85073003328", **CLAIMS}),
        ):
            return client.get(reverse("oidc_authentication_callback"), {"code": "x", "state": query["state"][0]})


def test_a_well_formed_token_logs_in() -> None:  # the control: the forging itself is sound
    response = forged_login()
    assert response.status_code == 302 and response["Location"] == reverse("accounts:companies")
    assert Person.objects.filter(identities__subject="85073003328", identities__issuer=ISSUER).exists()


@pytest.mark.parametrize(
    ("changes", "text"),
    [
        ({"aud": "another-client"}, "could not be verified"),
        ({"iss": "https://evil.example"}, "could not be verified"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "came too late"),
        ({"exp": None}, "could not be verified"),
        ({"nonce": "replayed"}, "could not be verified"),
    ],
)
def test_a_forged_token_is_refused_with_a_clear_page(changes: dict[str, Any], text: str) -> None:
    refused(forged_login(**changes), text)
    assert not Person.objects.exists()
