"""The demo's clock (issue 13): `make demo` opens a campaign a company can still file on time, its demo deadline
shown as such."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from famhp.declarations.models import Campaign
from famhp.declarations.services import declaration_open

pytestmark = pytest.mark.django_db


def test_the_demo_opens_a_campaign_with_its_deadline_still_ahead_shown_as_a_demo_date() -> None:
    from famhp.demo import YEAR, load_demo

    summary = load_demo(count=12)
    campaign = Campaign.objects.get(year=YEAR + 1)
    assert summary.demo_deadline == campaign.deadline
    assert campaign.deadline >= timezone.localdate() and declaration_open(campaign=campaign)
    link = next(url for label, url in summary.links if f"campaign {YEAR + 1}" in label)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    figures = client.get(urlsplit(link).path, follow=True).content.decode()
    assert "demo date" not in figures  # outside `make demo`, a deadline is just a deadline
    with override_settings(FAMHP_DEMO=True):
        figures = client.get(reverse("declarations:figures", args=[YEAR + 1, _operator(link)])).content.decode()
    assert "is a demo date" in figures and "has passed" not in figures


def _operator(link: str) -> int:
    from famhp.declarations.services import invitation_read

    token = link.rstrip("/").split("/")[-1]
    return invitation_read(token)[1].pk
