"""Invitations and reminders go out batch by batch through one loop: each message on its own, the batch's
progress reported, each delivered item recorded once (an invitation row, one more reminder), only the operators
asked for when the workplace sends one by one."""

from __future__ import annotations

import pytest
from django.core import mail

from famhp.declarations.models import Invitation
from famhp.declarations.services import campaign_send_invitations, campaign_send_reminders
from tests.portal.factories import belgian, campaign, declare, with_activity

pytestmark = pytest.mark.django_db


def test_batches_report_progress_and_record_each_delivered_item_once() -> None:
    operators = [with_activity(belgian(f"Company {n} NV", email=f"c{n}@example.be")) for n in range(5)]
    c = campaign()
    seen: list[tuple[int, int]] = []
    assert campaign_send_invitations(campaign=c, batch=2, progress=lambda done, total: seen.append((done, total))) == 5
    assert seen == [(2, 5), (4, 5), (5, 5)]  # five operators in batches of two: 2, 2, then 1
    assert Invitation.objects.filter(campaign=c).count() == 5 and len(mail.outbox) == 5

    declare(c, operators[0])
    seen.clear()
    assert campaign_send_reminders(campaign=c, batch=3, progress=lambda done, total: seen.append((done, total))) == 4
    assert campaign_send_reminders(campaign=c, batch=3) == 4
    assert seen == [(3, 4), (4, 4)]  # four who have not declared, in batches of three
    reminders = dict(Invitation.objects.filter(campaign=c).values_list("operator_id", "reminders_sent"))
    assert reminders == {operators[0].pk: 0, **{o.pk: 2 for o in operators[1:]}}  # two rounds, one count each
    assert all(i.last_reminder_at for i in Invitation.objects.filter(campaign=c, reminders_sent=2))


def test_only_the_operators_asked_for_are_sent_to() -> None:
    first, second = (with_activity(belgian(f"Company {n} NV", email=f"c{n}@example.be")) for n in range(2))
    c = campaign()
    assert campaign_send_invitations(campaign=c, operator_ids=[second.pk], batch=1) == 1
    assert [m.to for m in mail.outbox] == [["c1@example.be"]]
    assert campaign_send_invitations(campaign=c, operator_ids=[second.pk], batch=1) == 0  # invited already
    assert campaign_send_reminders(campaign=c, operator_ids=[first.pk], batch=1) == 0  # not invited: no reminder
    assert campaign_send_reminders(campaign=c, operator_ids=[second.pk], batch=1) == 1
    assert Invitation.objects.get(operator=second).reminders_sent == 1
