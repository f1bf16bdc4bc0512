"""The portal through Django's test client: link → figures → estimate → submit → versions; access refused."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from famhp.declarations.models import DeclarationVersion
from famhp.declarations.services import invitation_token
from tests.portal.factories import belgian, campaign, pdf, with_activity

pytestmark = pytest.mark.django_db


def english() -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def declare(client: Client, year: int, operator_id: int, total: str, levied: str, *, below: bool = False) -> None:
    figures = reverse("declarations:figures", args=[year, operator_id])
    ticked = {"below_threshold": "on"} if below else {}
    response = client.post(figures, {"total_turnover": total, "levied_turnover": levied, **ticked})
    assert response.status_code == 302, response.content.decode()[:2000]
    confirm = reverse("declarations:confirm", args=[year, operator_id])
    response = client.post(
        confirm,
        {
            "certifier_name": "An Peeters",
            "certifier_capacity": "company_auditor",
            "certifier_membership_number": "A1234",
            "certificate": pdf(),
            "confirm": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]


def test_the_invitation_link_leads_through_the_declaration() -> None:
    operator = with_activity(belgian(), role="manufacturer", category="MDR IIa")
    c = campaign()
    client = english()
    response = client.get(reverse("declarations:invitation", args=[invitation_token(campaign=c, operator=operator)]))
    assert response.status_code == 302
    assert response["Location"] == reverse("declarations:figures", args=[2025, operator.pk])
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert str(operator.enterprise_number) in page.content.decode()

    response = client.post(response["Location"], {"total_turnover": "100000.00", "levied_turnover": "100000.00"})
    assert response.status_code == 302
    estimate = client.get(response["Location"]).content.decode()
    # 4 × 415.74 = 1,662.96; 100,000.00 × 0.3073 % = 307.30; total 1,970.26 (built-in 2025 parameters), written
    # the Belgian way in English too (CLDR en_BE): 1.970,26 €.
    assert "1.970,26\xa0€" in estimate and "1.662,96\xa0€" in estimate and "307,30\xa0€" in estimate
    # a company reads the law and the FAQ, never RULES.md's codes (issue 13)
    assert "law of 20 July 2006 art. 14/2; FAQ 5, 20)" in estimate
    assert "(D1" not in estimate and "D5;" not in estimate and "RULES §" not in estimate

    declare(client, 2025, operator.pk, "100000.00", "100000.00")
    declare(client, 2025, operator.pk, "120000.00", "95000.00")
    versions = client.get(reverse("declarations:versions", args=[2025, operator.pk])).content.decode()
    assert versions.count('href="/declarations/versions/') == 2
    latest = DeclarationVersion.objects.get(number=2)
    download = client.get(reverse("declarations:certificate", args=[latest.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith(b"%PDF-")  # type: ignore[attr-defined]


def test_errors_are_shown_next_to_their_fields() -> None:
    operator = with_activity(belgian())
    c = campaign()
    client = english()
    client.get(reverse("declarations:invitation", args=[invitation_token(campaign=c, operator=operator)]))
    page = client.post(
        reverse("declarations:figures", args=[2025, operator.pk]),
        {"total_turnover": "1000", "levied_turnover": "2000", "below_threshold": "on"},
    )
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="id_levied_turnover_error"' in html and 'aria-invalid="true"' in html
    assert 'aria-describedby="id_levied_turnover_error' in html or "id_levied_turnover_error" in html


def test_a_company_never_sees_another_company() -> None:
    a, b = with_activity(belgian("A NV")), with_activity(belgian("B NV", email="b@example.be"))
    c = campaign()
    client_b = english()
    client_b.get(reverse("declarations:invitation", args=[invitation_token(campaign=c, operator=b)]))
    declare(client_b, 2025, b.pk, "1000.00", "1000.00", below=True)
    b_version = DeclarationVersion.objects.get()

    client_a = english()
    client_a.get(reverse("declarations:invitation", args=[invitation_token(campaign=c, operator=a)]))
    for url in (
        reverse("declarations:figures", args=[2025, b.pk]),
        reverse("declarations:confirm", args=[2025, b.pk]),
        reverse("declarations:versions", args=[2025, b.pk]),
        reverse("declarations:certificate", args=[b_version.pk]),
        reverse("declarations:figures", args=[2025, 999999]),
    ):
        response = client_a.get(url)
        assert response.status_code == 403, url
        assert "support.portal@fagg-afmps.be" in response.content.decode()
    response = client_a.post(
        reverse("declarations:figures", args=[2025, b.pk]), {"total_turnover": "1", "levied_turnover": "1"}
    )
    assert response.status_code == 403
    assert DeclarationVersion.objects.count() == 1


def test_a_forged_or_expired_link_is_refused_with_the_support_contacts() -> None:
    operator = with_activity(belgian())
    c = campaign()
    token = invitation_token(campaign=c, operator=operator)
    response = english().get(reverse("declarations:invitation", args=[token[:-3] + "abc"]))
    assert response.status_code == 403 and "+32 2 528 48 56" in response.content.decode()
    c.late_filing_until = timezone.localdate() - datetime.timedelta(days=1)
    c.deadline = c.late_filing_until
    c.save()
    assert english().get(reverse("declarations:invitation", args=[token])).status_code == 403


def test_agency_auditors_see_every_declaration_but_cannot_declare() -> None:
    from django.contrib.auth import get_user_model

    from famhp.accounts.roles import AUDITOR, agency_roles_setup

    operator = with_activity(belgian())
    campaign()
    staff = get_user_model().objects.create_user("auditor", password="x" * 12, is_staff=True)
    client = english()
    client.force_login(staff)
    assert client.get(reverse("declarations:versions", args=[2025, operator.pk])).status_code == 403
    staff.groups.add(agency_roles_setup()[AUDITOR])
    assert client.get(reverse("declarations:versions", args=[2025, operator.pk])).status_code == 200
    assert client.get(reverse("declarations:confirm", args=[2025, operator.pk])).status_code == 403
