"""Mass actions: preview, confirm once per key, and nothing sent or issued twice — twice in a row, twice at once
(two threads with their own PostgreSQL connections) or after a crash."""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection, connections

from famhp.accounts.roles import FINANCE_OFFICER
from famhp.billing.models import Invoice, InvoiceKind, YearSettings
from famhp.billing.services import assessment_run, year_settings_from_builtin
from famhp.declarations.models import Invitation
from famhp.workplace.actions import action_preview, mass_action_confirm, mass_action_run
from famhp.workplace.models import ActionKind, ActionState, ItemDone, ItemState, MassAction
from tests.accounts.conftest import staff, staff_client
from tests.billing.test_invoicing import confirm_all
from tests.portal.factories import belgian, campaign, declare, with_activity


def operators(count: int) -> list[int]:
    return [
        with_activity(belgian(f"Operator {i:02d} NV", email=f"op{i}@x.example"), category="MDR I").pk
        for i in range(count)
    ]


def confirm(kind: str, year: int = 2025, key: uuid.UUID | None = None) -> MassAction:
    officer = staff(f"officer-{uuid.uuid4().hex[:6]}", FINANCE_OFFICER)
    action, _new = mass_action_confirm(
        kind=kind, year=year, key=key or uuid.uuid4(), by=officer, preview=action_preview(kind, year)
    )
    return action


@pytest.mark.django_db
def test_invitations_preview_then_confirm_twice_with_the_same_key_sends_each_once() -> None:
    campaign(2025)
    operators(3)
    client = staff_client(staff("officer", FINANCE_OFFICER))
    page = client.get("/workplace/2025/actions/invitations/").content.decode()
    assert "3 items will be handled" in page and "op0@x.example" in page
    key = str(uuid.uuid4())
    first = client.post("/workplace/2025/actions/invitations/", {"key": key, "confirm": "on"})
    second = client.post("/workplace/2025/actions/invitations/", {"key": key, "confirm": "on"})
    assert first["Location"] == second["Location"]  # the double click finds the same action
    assert len(mail.outbox) == 3 and Invitation.objects.count() == 3
    action = MassAction.objects.get()
    assert action.state == ActionState.DONE and action.result["sent"] == 3
    result = client.get(f"/workplace/actions/{action.pk}/result/").content.decode()
    assert "Done" in result
    # nothing left: a new preview says so and refuses to confirm
    assert "Nothing to do" in client.get("/workplace/2025/actions/invitations/").content.decode()


@pytest.mark.django_db
def test_a_second_action_or_a_rerun_sends_nothing_again() -> None:
    campaign(2025)
    operators(2)
    action = confirm(ActionKind.INVITATIONS)
    mass_action_run(action_id=action.pk)
    assert len(mail.outbox) == 2
    MassAction.objects.filter(pk=action.pk).update(state=ActionState.RUNNING)  # as if the worker started it again
    mass_action_run(action_id=action.pk)
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_a_reminder_round_is_confirmed_once_even_from_two_previews() -> None:
    c = campaign(2025)
    ids = operators(3)
    mass_action_run(action_id=confirm(ActionKind.INVITATIONS).pk)
    declare(c, Invitation.objects.get(operator_id=ids[0]).operator)
    mail.outbox.clear()
    tab_one, tab_two = action_preview(ActionKind.REMINDERS, 2025), action_preview(ActionKind.REMINDERS, 2025)
    assert tab_one.round == tab_two.round == 1 and tab_one.count == 2  # the declared operator is not reminded
    officer = staff("officer", FINANCE_OFFICER)
    first, new_one = mass_action_confirm(
        kind=ActionKind.REMINDERS, year=2025, key=uuid.uuid4(), by=officer, preview=tab_one
    )
    second, new_two = mass_action_confirm(
        kind=ActionKind.REMINDERS, year=2025, key=uuid.uuid4(), by=officer, preview=tab_two
    )
    assert (new_one, new_two) == (True, False) and first.pk == second.pk
    mass_action_run(action_id=first.pk)
    mass_action_run(action_id=second.pk)
    assert len(mail.outbox) == 2
    assert sorted(i.reminders_sent for i in Invitation.objects.all()) == [0, 1, 1]
    # the next round is a new, deliberate round
    assert action_preview(ActionKind.REMINDERS, 2025).round == 2


@pytest.mark.django_db
def test_after_a_crash_an_item_claimed_but_not_recorded_is_not_sent_again_and_is_reported() -> None:
    campaign(2025)
    ids = operators(3)
    action = confirm(ActionKind.INVITATIONS)
    # the worker claimed the first operator, then died before recording what happened to its e-mail
    ItemDone.objects.create(kind=ActionKind.INVITATIONS, year=2025, item=f"operator:{ids[0]}", action=action)
    MassAction.objects.filter(pk=action.pk).update(state=ActionState.RUNNING)
    done = mass_action_run(action_id=action.pk)
    assert len(mail.outbox) == 2 and {m.to[0] for m in mail.outbox} == {"op1@x.example", "op2@x.example"}
    assert done.result["uncertain"] == [f"operator:{ids[0]}"] and done.result["skipped"] == 1


@pytest.mark.django_db
def test_a_failed_message_is_reported_and_tried_again_by_a_later_action(monkeypatch: pytest.MonkeyPatch) -> None:
    campaign(2025)
    ids = operators(2)
    from django.core.mail.backends.locmem import EmailBackend

    original = EmailBackend.send_messages

    def refuse_op0(self: EmailBackend, messages: list) -> int:  # type: ignore[type-arg]
        if messages[0].to == ["op0@x.example"]:
            raise OSError("mailbox unavailable")
        return original(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", refuse_op0)
    first = mass_action_run(action_id=confirm(ActionKind.INVITATIONS).pk)
    assert (
        first.result["sent"] == 1
        and first.result["failed"] == 1
        and "mailbox unavailable" in first.result["failures"][0]
    )
    assert ItemDone.objects.get(item=f"operator:{ids[0]}").state == ItemState.FAILED
    monkeypatch.setattr(EmailBackend, "send_messages", original)
    second = mass_action_run(action_id=confirm(ActionKind.INVITATIONS).pk)
    assert second.result["sent"] == 1 and [m.to[0] for m in mail.outbox] == ["op1@x.example", "op0@x.example"]


@pytest.mark.django_db
def test_notices_preview_amounts_and_issue_once() -> None:
    c = campaign(2025)
    alpha = with_activity(belgian("Alpha NV"), role="manufacturer", category="MDR IIa")  # 4 entities
    bravo = with_activity(belgian("Bravo BV"), role="distributor", category="MDR I")  # 1 entity
    declare(c, alpha)
    declare(c, bravo)
    year_settings_from_builtin(2025)
    confirm_all(2025)
    assessment_run(year=2025)
    preview = action_preview(ActionKind.NOTICES, 2025)
    # D3 at the built-in cost per entity 415.74: Alpha 4 × 415.74 = 1,662.96; Bravo 1 × 415.74 = 415.74
    assert [(r.name, r.amount) for r in preview.recipients] == [
        ("Alpha NV", Decimal("1662.96")),
        ("Bravo BV", Decimal("415.74")),
    ]
    assert preview.amount == Decimal("2078.70")  # 1,662.96 + 415.74
    first_action, second_action = confirm(ActionKind.NOTICES), confirm(ActionKind.NOTICES)  # two tabs
    first = mass_action_run(action_id=first_action.pk)
    assert first.state == ActionState.DONE and first.result["sent"] == 2 and first.result["amount"] == "2078.70"
    second = mass_action_run(action_id=second_action.pk)
    assert second.state == ActionState.DONE and second.result["sent"] == 0  # billing looked again under its lock
    assert "Nothing to do" in (action_preview(ActionKind.NOTICES, 2025).refusal or "")
    assert Invoice.objects.filter(kind=InvoiceKind.ACTIVITY_TAX).count() == 2


@pytest.mark.django_db
def test_levy_invoices_wait_for_the_closing_decision() -> None:
    c = campaign(2025)
    declare(c, with_activity(belgian("Alpha NV")))
    year_settings_from_builtin(2025)
    confirm_all(2025)
    assessment_run(year=2025)
    refusal = action_preview(ActionKind.LEVY_INVOICES, 2025).refusal or ""
    assert "closing decision" in refusal
    assert YearSettings.objects.get(year=2025).closing_decision == ""


@pytest.mark.skipif(connection.vendor != "postgresql", reason="two writers at once: PostgreSQL only")
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_each_invitation_once() -> None:
    campaign(2025)
    operators(12)
    actions = [confirm(ActionKind.INVITATIONS), confirm(ActionKind.INVITATIONS)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(action_id: int) -> None:
        try:
            barrier.wait()
            mass_action_run(action_id=action_id)
        except BaseException as error:  # reported to the test below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(a.pk,)) for a in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    recipients = [m.to[0] for m in mail.outbox]
    assert len(recipients) == 12 and len(set(recipients)) == 12
    assert Invitation.objects.count() == 12
    results = [MassAction.objects.get(pk=a.pk).result for a in actions]
    assert sum(r["sent"] for r in results) == 12


@pytest.mark.django_db
def test_support_resends_one_personal_link_once_per_confirmation() -> None:
    from famhp.accounts.roles import AUDITOR, SUPPORT

    campaign(2025)
    (pk,) = operators(1)
    mass_action_run(action_id=confirm(ActionKind.INVITATIONS).pk)
    mail.outbox.clear()
    support = staff_client(staff("support", SUPPORT))
    url = f"/workplace/operators/{pk}/2025/resend/"
    assert "op0@x.example" in support.get(url).content.decode()
    key = str(uuid.uuid4())
    first = support.post(url, {"key": key, "confirm": "on"})
    second = support.post(url, {"key": key, "confirm": "on"})  # the double click
    assert first["Location"] == second["Location"] and len(mail.outbox) == 1
    assert "/workplace/2025/" in mail.outbox[0].body or "http://testserver/" in mail.outbox[0].body
    support.post(url, {"key": str(uuid.uuid4()), "confirm": "on"})  # a deliberate second resend
    assert len(mail.outbox) == 2 and Invitation.objects.get().reminders_sent == 2
    assert staff_client(staff("auditor", AUDITOR)).get(url).status_code == 403
    page = support.get(f"/workplace/operators/{pk}/").content.decode()
    assert page.count("Send one operator its personal link again") == 2 and "Send the invitations" in page


@pytest.mark.django_db
def test_an_invoice_is_credited_once_from_the_operator_page() -> None:
    from tests.portal.factories import invoice_for

    operator = with_activity(belgian("Alpha NV"))
    invoice = invoice_for(operator, "415.74", year=2025)
    officer = staff_client(staff("officer", FINANCE_OFFICER))
    page = officer.get(f"/workplace/operators/{operator.pk}/").content.decode()
    assert f"Credit {invoice.number}" in page
    officer.post(f"/workplace/invoices/{invoice.pk}/credit/", {"reason": "registered by mistake"})
    officer.post(f"/workplace/invoices/{invoice.pk}/credit/", {"reason": "registered by mistake"})
    notes = Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE, credits=invoice)
    assert notes.count() == 1 and notes.get().total == Decimal("415.74")  # the credit note repeats the lines
    assert f"Credit {invoice.number}" not in officer.get(f"/workplace/operators/{operator.pk}/").content.decode()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="two writers at once: PostgreSQL only")
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_issue_each_notice_once() -> None:
    c = campaign(2025)
    for i in range(6):
        declare(c, with_activity(belgian(f"Operator {i} NV"), category="MDR I"))
    year_settings_from_builtin(2025)
    confirm_all(2025)
    assessment_run(year=2025)
    actions = [confirm(ActionKind.NOTICES), confirm(ActionKind.NOTICES)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(action_id: int) -> None:
        try:
            barrier.wait()
            mass_action_run(action_id=action_id)
        except BaseException as error:  # reported to the test below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(a.pk,)) for a in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    notices = Invoice.objects.filter(kind=InvoiceKind.ACTIVITY_TAX)
    assert notices.count() == 6 and notices.values("operator").distinct().count() == 6
    assert sum(MassAction.objects.get(pk=a.pk).result["sent"] for a in actions) == 6
