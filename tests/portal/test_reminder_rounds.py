"""A round of reminders (the admin's action, ``manage.py campaign remind``) skips whoever was reminded in the last
24 hours, one round at a time: a second click or a second command — in a row or at once — reminds each operator
once. The workplace's per-operator actions and a resend on request are not limited (their own records)."""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from famhp.accounts.roles import FINANCE_OFFICER
from famhp.declarations.models import Campaign, Invitation
from famhp.declarations.services import REMINDER_ROUND_INTERVAL, campaign_send_invitations, campaign_send_reminders
from tests.accounts.conftest import staff, staff_client
from tests.concurrency import POSTGRESQL, at_once
from tests.portal.factories import belgian, campaign, declare, with_activity

pytestmark = pytest.mark.django_db


def invited_three(year: int = 2025) -> Campaign:
    c = campaign(year)
    operators = [with_activity(belgian(name)) for name in ("Alpha NV", "Bravo NV", "Charlie NV")]
    assert campaign_send_invitations(campaign=c) == 3
    declare(c, operators[0])  # Alpha declared: Bravo and Charlie are to remind
    mail.outbox.clear()
    return c


def test_the_admin_action_clicked_twice_reminds_once() -> None:
    c = invited_three()
    client = staff_client(staff("officer", FINANCE_OFFICER))
    url = reverse("admin:declarations_campaign_changelist")
    for _click in range(2):
        response = client.post(url, {"action": "send_reminders", "_selected_action": [c.pk]}, follow=True)
        assert response.status_code == 200
    assert len(mail.outbox) == 2  # Bravo and Charlie, once each
    assert sorted(Invitation.objects.values_list("reminders_sent", flat=True)) == [0, 1, 1]
    texts = [str(m) for m in response.context["messages"]]
    assert any("2025: 0 reminders sent (not again to those reminded in the last 24 hours)." in t for t in texts)


def test_the_command_twice_reminds_once_and_again_after_a_day() -> None:
    invited_three()
    out = StringIO()
    call_command("campaign", "remind", "--year", "2025", stdout=out, stderr=StringIO())
    call_command("campaign", "remind", "--year", "2025", stdout=out, stderr=StringIO())
    assert out.getvalue().count("2 reminders sent") == 1 and out.getvalue().count("0 reminders sent") == 1
    assert len(mail.outbox) == 2
    # a day later, the next round reminds them again
    Invitation.objects.update(last_reminder_at=timezone.now() - REMINDER_ROUND_INTERVAL - datetime.timedelta(1))
    call_command("campaign", "remind", "--year", "2025", stdout=out, stderr=StringIO())
    assert len(mail.outbox) == 4
    assert sorted(Invitation.objects.values_list("reminders_sent", flat=True)) == [0, 2, 2]


def test_a_round_without_the_interval_reminds_each_call() -> None:
    # the workplace sends one by one under its own record, and a resend on request goes each time it is asked
    c = invited_three()
    assert campaign_send_reminders(campaign=c) == 2 and campaign_send_reminders(campaign=c) == 2


@POSTGRESQL
@pytest.mark.django_db(transaction=True)
def test_two_rounds_at_once_remind_each_operator_once() -> None:
    c = invited_three()
    results, errors = at_once(
        lambda: campaign_send_reminders(campaign=c, batch=1, round_interval=REMINDER_ROUND_INTERVAL),
        lambda: campaign_send_reminders(campaign=c, batch=1, round_interval=REMINDER_ROUND_INTERVAL),
    )
    assert not errors, errors
    assert sorted(results) == [0, 2] and len(mail.outbox) == 2
