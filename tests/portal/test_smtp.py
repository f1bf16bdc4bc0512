"""The campaign through a real SMTP server: the invitation arrives, and its link opens the declaration."""

from __future__ import annotations

import re

import pytest
from django.test import Client, override_settings

from famhp.declarations.services import campaign_send_invitations, campaign_send_reminders
from tests.portal.factories import belgian, campaign, foreign, with_activity
from tests.portal.smtp import SmtpServer

pytestmark = pytest.mark.django_db


def test_invitations_travel_through_smtp_and_their_link_works() -> None:
    nl = with_activity(belgian("Medilab NV", language="nl", email="boekhouding@medilab.example"))
    with_activity(foreign("Orthotec GmbH", language="de"))
    c = campaign()
    with (
        SmtpServer() as smtp,
        override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1", EMAIL_PORT=smtp.port
        ),
    ):
        assert campaign_send_invitations(campaign=c) == 2
        messages = smtp.inbox.wait_for(2)
        assert len(messages) == 2
        received = next(m for m in messages if m["To"] == "boekhouding@medilab.example")
        assert received["Content-Language"] == "nl"
        body = received.get_content()
        match = re.search(r"http://testserver(/invitation/\S+/)", body)
        assert match, body

        client = Client()
        response = client.get(match.group(1))
        assert response.status_code == 302
        page = client.get(response["Location"])
        assert page.status_code == 200
        assert str(nl.enterprise_number) in page.content.decode()

        assert campaign_send_reminders(campaign=c) == 2
        assert len(smtp.inbox.wait_for(4)) == 4
