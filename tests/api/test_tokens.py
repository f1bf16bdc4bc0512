"""Personal access tokens: shown once, stored hashed, scoped, read-only or read-write, expiring, revoked with the
grant behind them, every use audited, rate limited with a clear 429."""

from __future__ import annotations

import datetime
import hashlib

import pytest
from django.core.exceptions import ValidationError
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from famhp.accounts.models import Access, AuditEvent
from famhp.api.models import ApiToken
from famhp.api.services import TOKEN_USED, token_create, token_revoke
from famhp.declarations.models import DeclarationVersion
from tests.api.conftest import IN_A_YEAR, World
from tests.portal.factories import pdf

pytestmark = pytest.mark.django_db


def test_the_token_is_stored_hashed_and_found_by_its_prefix(world: World) -> None:
    _start, prefix, secret = world.token.split("_", 2)
    row = ApiToken.objects.get(prefix=prefix)
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(list(ApiToken.objects.values()))  # the secret itself is nowhere
    assert len(secret) >= 43  # 32 random bytes, base64


def test_a_token_reaches_only_companies_the_person_acts_for(world: World) -> None:
    with pytest.raises(ValidationError) as refused:
        token_create(person=world.alice, name="x", companies=[world.b], read_write=False, expires_on=IN_A_YEAR)
    assert "companies" in refused.value.message_dict
    with pytest.raises(ValidationError) as too_long:
        token_create(
            person=world.alice,
            name="x",
            companies=[world.a],
            read_write=False,
            expires_on=timezone.localdate() + datetime.timedelta(days=366),
        )
    assert "expires_on" in too_long.value.message_dict


def test_every_use_is_in_the_audit_log(world: World) -> None:
    client = world.api()
    assert client.get("/api/v1/companies/").json() == [
        {"id": world.a.pk, "name": "Alpha Medical NV", "identifier": world.a.identifier, "role": "manager"}
    ]
    client.get(f"/api/v1/companies/{world.a.pk}/invoices/")
    uses = AuditEvent.objects.filter(kind=TOKEN_USED).order_by("pk")
    assert [(e.person, e.detail["token"], e.detail["path"]) for e in uses] == [
        (world.alice, world.token_row.prefix, "/api/v1/companies/"),
        (world.alice, world.token_row.prefix, f"/api/v1/companies/{world.a.pk}/invoices/"),
    ]
    world.token_row.refresh_from_db()
    assert world.token_row.last_used_at is not None


def _refused(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status, response.content  # type: ignore[attr-defined]
    assert response["Content-Type"] == "application/problem+json"  # type: ignore[index]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["status"] == status and body["type"] and body["title"] and "instance" in body
    return body


def test_wrong_revoked_and_expired_tokens_are_refused_with_401(world: World) -> None:
    url = "/api/v1/companies/"
    wrong_secret = world.token[:-4] + "AAAA"
    for bad in ("nonsense", "famhp_deadbeef_x", wrong_secret):
        response = Client(HTTP_AUTHORIZATION=f"Bearer {bad}").get(url)
        _refused(response, 401)
        assert response["WWW-Authenticate"].startswith("Bearer")
    _row, expired = token_create(
        person=world.alice, name="old", companies=[world.a], read_write=False, expires_on=IN_A_YEAR
    )
    ApiToken.objects.filter(pk=_row.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert "expired" in str(_refused(world.api(expired).get(url), 401)["detail"])
    token_revoke(token=world.token_row, person=world.alice)
    assert "revoked" in str(_refused(world.api().get(url), 401)["detail"])


def test_a_revoked_grant_takes_the_companys_data_from_the_token(world: World) -> None:
    Access.objects.filter(person=world.alice, operator=world.a).update(revoked_at=timezone.now())
    client = world.api()
    assert client.get("/api/v1/companies/").json() == []
    _refused(client.get(f"/api/v1/companies/{world.a.pk}/invoices/"), 404)
    _refused(client.get(f"/api/v1/invoices/{world.a_invoice.pk}/"), 404)
    _refused(client.get(f"/api/v1/companies/{world.a.pk}/declarations/2025/"), 404)


def test_a_read_only_token_submits_nothing(world: World) -> None:
    _row, reader = token_create(
        person=world.alice, name="ro", companies=[world.a], read_write=False, expires_on=IN_A_YEAR
    )
    before = DeclarationVersion.objects.count()
    response = world.api(reader).post(
        f"/api/v1/companies/{world.a.pk}/declarations/2025/",
        {
            "total_turnover": "100000.00",
            "levied_turnover": "100000.00",
            "certifier_name": "An Peeters",
            "certifier_capacity": "external_accountant",
            "certificate": pdf(),
        },
    )
    _refused(response, 403)
    assert DeclarationVersion.objects.count() == before
    assert world.api(reader).get(f"/api/v1/companies/{world.a.pk}/declarations/2025/").json()["may_submit"] is False


@override_settings(FAMHP_API_RATE="3/min")
def test_past_the_rate_limit_a_clear_429_in_the_callers_language(world: World) -> None:
    client = world.api(language="fr")
    for _ in range(3):
        assert client.get("/api/v1/companies/").status_code == 200
    response = client.get("/api/v1/companies/")
    body = _refused(response, 429)
    assert body["type"] == "urn:famhp:problem:too-many-requests"
    assert int(response["Retry-After"]) > 0
    # another token of the same person has its own count
    _row, other = token_create(
        person=world.alice, name="2", companies=[world.a], read_write=False, expires_on=IN_A_YEAR
    )
    assert world.api(other).get("/api/v1/companies/").status_code == 200


def test_problems_speak_the_callers_language(world: World) -> None:
    url = f"/api/v1/companies/{world.a.pk}/declarations/2025/estimate/"
    messages = {}
    for language in ("nl", "fr", "en"):
        body = _refused(world.api(language=language).post(url, {}, content_type="application/json"), 400)
        errors = body["errors"]
        assert isinstance(errors, list)
        assert {e["field"] for e in errors} == {"total_turnover", "levied_turnover"}
        messages[language] = errors[0]["message"]
    assert messages == {
        "nl": "Dit veld is vereist.",
        "fr": "Ce champ est obligatoire.",
        "en": "This field is required.",
    }


def test_a_browser_session_reads_the_api_but_writes_only_with_its_csrf_token(world: World) -> None:
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    from tests.accounts.conftest import OIDC

    client.force_login(world.alice, backend=OIDC)
    assert client.get("/api/v1/companies/").status_code == 200
    response = client.post(
        f"/api/v1/companies/{world.a.pk}/declarations/2025/estimate/",
        {"total_turnover": "1.00", "levied_turnover": "1.00"},
        content_type="application/json",
    )
    assert str(_refused(response, 403)["detail"]).startswith("CSRF")


def test_tokens_are_made_and_revoked_in_the_portal(world: World) -> None:
    anonymous = Client()
    assert anonymous.get(reverse("api:tokens")).status_code == 302
    client = world.session()
    response = client.post(
        reverse("api:tokens"),
        {"name": "Accountant", "companies": [world.a.pk], "read_write": "on", "expires_on": IN_A_YEAR.isoformat()},
    )
    assert response.status_code == 302  # then shown once on the page it leads to: a reload makes no second token
    response = client.get(response["Location"])
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    row = ApiToken.objects.get(name="Accountant")
    start = page.index(f"famhp_{row.prefix}_")
    shown = page[start : page.index("<", start)]
    assert world.api(shown).get("/api/v1/companies/").status_code == 200
    assert shown not in client.get(reverse("api:tokens")).content.decode()  # shown once only
    assert client.post(reverse("api:token_revoke", args=[row.pk])).status_code == 302
    assert world.api(shown).get("/api/v1/companies/").status_code == 401
    # someone else's token cannot be revoked
    assert world.session(world.bob).post(reverse("api:token_revoke", args=[world.token_row.pk])).status_code == 403
    world.token_row.refresh_from_db()
    assert world.token_row.revoked_at is None


def test_the_portal_refuses_a_token_for_a_company_of_someone_else(world: World) -> None:
    response = world.session().post(
        reverse("api:tokens"), {"name": "x", "companies": [world.b.pk], "expires_on": IN_A_YEAR.isoformat()}
    )
    assert response.status_code == 200
    assert not ApiToken.objects.filter(name="x").exists()


def test_an_invitation_link_opened_with_the_token_never_widens_it(world: World) -> None:
    from famhp.declarations.services import invitation_token

    client = world.api()
    link = reverse("declarations:invitation", args=[invitation_token(campaign=world.campaign, operator=world.b)])
    assert client.get(link).status_code == 302  # the browser session now holds B's invitation
    _refused(client.get(f"/api/v1/companies/{world.b.pk}/declarations/2025/"), 404)
    response = client.post(
        f"/api/v1/companies/{world.b.pk}/declarations/2025/estimate/",
        {"total_turnover": "1.00", "levied_turnover": "1.00"},
        content_type="application/json",
    )
    _refused(response, 404)


def test_agency_staff_make_agency_tokens_in_the_portal_and_companies_cannot(world: World) -> None:
    from famhp.accounts.roles import AUDITOR
    from tests.accounts.conftest import staff, staff_client

    auditor = staff("audrey", AUDITOR)
    response = staff_client(auditor).post(
        reverse("api:tokens"),
        {"name": "audit", "agency": "on", "read_write": "on", "expires_on": IN_A_YEAR.isoformat()},
    )
    assert response.status_code == 302
    token = ApiToken.objects.get(name="audit")
    assert (token.agency, token.read_write, token.person) == (True, False, auditor)
    world.session().post(
        reverse("api:tokens"),
        {"name": "sneaky", "companies": [world.a.pk], "agency": "on", "expires_on": IN_A_YEAR.isoformat()},
    )
    assert ApiToken.objects.get(name="sneaky").agency is False  # the box is not offered, and ignored
