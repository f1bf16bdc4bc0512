"""D12 at export: a refund goes out only while the account still holds the credit it was recorded for. One whose
account owes since it was recorded (a new invoice) is held — not in the bank's file — and shown so; staff cancel
a recorded refund (not one exported), once, and it no longer counts in the account."""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.test import Client
from django.utils import translation

from famhp.accounts.roles import FINANCE_OFFICER
from famhp.payments.models import Refund, RefundExport
from famhp.payments.samples import Payment, coda
from famhp.payments.selectors import account_balance
from famhp.payments.services import refund_cancel, refund_record, refunds_export, statement_import
from famhp.registry.models import Operator
from tests.accounts.conftest import staff, staff_client
from tests.portal.factories import belgian, invoice_for

pytestmark = pytest.mark.django_db


def in_credit(name: str, paid: str, *, statement: int) -> Operator:
    operator = belgian(name)
    invoice = invoice_for(operator, "100.00", year=2023, sequence=statement)
    payment = Payment(Decimal(paid), payer=name, structured=invoice.structured_communication)
    statement_import(data=coda([payment], statement=statement), name=f"{statement}.cod")
    return operator


@pytest.fixture
def officer() -> Client:
    return staff_client(staff("officer", FINANCE_OFFICER))


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_a_refund_whose_account_owes_since_is_held_and_the_others_go(officer: Client) -> None:
    held_one = in_credit("Heldia NV", "130.00", statement=1)  # 100.00 − 130.00: 30.00 in credit
    other = in_credit("Otheria NV", "150.00", statement=2)  # 100.00 − 150.00: 50.00 in credit
    for operator in (held_one, other):
        refund_record(operator=operator, by=None, iban="BE68539007547034")
    # a new invoice of 80.00 after the refund of 30.00 was recorded: 100 − 130 + 30 + 80 = 80.00 owed
    invoice_for(held_one, "80.00", year=2024, sequence=3)
    assert account_balance(held_one) == Decimal("80.00")

    response = officer.post("/workplace/bank/refunds/export/", follow=True)
    assert any("1 refund is held: its account owes since it was recorded (D12)." in m for m in messages_of(response))
    export = RefundExport.objects.get()
    body = bytes(export.data).decode()
    assert '<InstdAmt Ccy="EUR">50.00</InstdAmt>' in body and "30.00" not in body  # Otheria's only
    held = Refund.objects.get(operator=held_one)
    assert held.state == Refund.State.RECORDED and held.export is None
    page = " ".join(officer.get("/workplace/bank/refunds/").content.decode().split())
    assert "Held:" in page and "the account owes 80,00" in page
    assert refunds_export(by=None) is None  # still held: nothing new in a second file
    assert RefundExport.objects.count() == 1


def test_staff_cancel_a_held_refund_once_and_it_leaves_the_account(officer: Client) -> None:
    operator = in_credit("Heldia NV", "130.00", statement=1)
    refund = refund_record(operator=operator, by=None, iban="BE68539007547034")
    invoice_for(operator, "80.00", year=2024, sequence=3)
    unticked = officer.post(f"/workplace/bank/refunds/{refund.pk}/cancel/", {}, follow=True)
    assert any("Tick the box to cancel the refund" in m for m in messages_of(unticked))
    assert Refund.objects.filter(pk=refund.pk).exists()

    done = officer.post(f"/workplace/bank/refunds/{refund.pk}/cancel/", {"confirm": "yes"}, follow=True)
    assert any("The refund of 30,00\u00a0€ to Heldia NV is cancelled" in m for m in messages_of(done))
    assert not Refund.objects.exists()
    # 100.00 − 130.00 + 80.00 = 50.00 owed: the 30.00 credit now pays towards the new invoice
    assert account_balance(operator) == Decimal("50.00")
    with pytest.raises(ValidationError, match="exported or cancelled already"):
        refund_cancel(refund=refund, by=None)


def test_an_exported_refund_is_not_cancelled(officer: Client) -> None:
    operator = in_credit("Heldia NV", "130.00", statement=1)
    refund = refund_record(operator=operator, by=None, iban="BE68539007547034", today=datetime.date(2026, 1, 5))
    assert refunds_export(by=None) is not None
    response = officer.post(f"/workplace/bank/refunds/{refund.pk}/cancel/", {"confirm": "yes"}, follow=True)
    assert any("exported or cancelled already" in m for m in messages_of(response))
    assert Refund.objects.get().state == Refund.State.EXPORTED


@pytest.mark.skipif(connection.vendor != "postgresql", reason="two writers at once: PostgreSQL only")
@pytest.mark.django_db(transaction=True)
def test_a_cancel_and_an_export_at_once_do_one_of_the_two() -> None:
    operator = in_credit("Heldia NV", "130.00", statement=1)
    refund = refund_record(operator=operator, by=None, iban="BE68539007547034")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def cancel() -> None:
        translation.activate("en")  # a thread starts in the site's language (nl)
        try:
            barrier.wait()
            refund_cancel(refund=refund, by=None)
            outcomes.append("cancelled")
        except ValidationError as refusal:
            outcomes.append(" ".join(refusal.messages))
        finally:
            connections.close_all()

    def export() -> None:
        try:
            barrier.wait()
            outcomes.append("exported" if refunds_export(by=None) is not None else "nothing to export")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=cancel), threading.Thread(target=export)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # the refund row is locked by whichever comes first: cancelled and not exported, or exported and not cancelled
    assert sorted(outcomes) in (
        ["cancelled", "nothing to export"],
        ["This refund was exported or cancelled already: nothing changed.", "exported"],
    )
    exported = RefundExport.objects.count()
    assert (exported, Refund.objects.count()) in ((0, 0), (1, 1))
