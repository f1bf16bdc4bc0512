"""A payment allocated as the page showed it: every page that allocates posts ``seen``, what the line had
allocated when the page was drawn; ``payment_allocate`` locks the line and allocates nothing when it differs
(a second click, a second tab, a colleague in between). Before: posted twice, allocated twice."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from famhp.accounts.roles import FINANCE_OFFICER
from famhp.payments.models import Allocation, BankLine
from famhp.payments.samples import Payment, coda
from famhp.payments.services import payment_allocate, statement_import
from tests.accounts.conftest import staff, staff_client
from tests.concurrency import POSTGRESQL
from tests.payments.test_refunds_and_account import at_once
from tests.portal.factories import belgian, invoice_for

MESSAGE = "This payment was allocated in the meantime"
SEEN = re.compile(r'name="seen" value="([^"]*)"')


def unmatched_payment(amount: str) -> BankLine:
    statement_import(data=coda([Payment(Decimal(amount), free_text="no reference")]), name="x.cod")
    return BankLine.objects.get()


def seen_on(page: bytes) -> set[Decimal]:
    """The figures the page wrote as what its line had allocated when drawn."""
    return {Decimal(value) for value in SEEN.findall(page.decode())}


def allocated() -> list[Decimal]:
    return sorted(a.amount for a in Allocation.objects.all())


@pytest.mark.django_db
def test_the_queues_accept_posted_twice_allocates_once() -> None:
    invoice = invoice_for(belgian("Medilab NV"), "40.00", year=2025)  # the payer of the sample payments
    line = unmatched_payment("100.00")
    client = staff_client(staff("finance", FINANCE_OFFICER))
    # the page writes what the line had allocated when drawn: nothing yet
    assert seen_on(client.get(reverse("admin:payments_queue")).content) == {Decimal("0.00")}
    form = {"invoice": str(invoice.pk), "amount": "40.00", "seen": "0.00"}
    first = client.post(reverse("admin:payments_accept", args=[line.pk]), form, follow=True)
    second = client.post(reverse("admin:payments_accept", args=[line.pk]), form, follow=True)
    assert "Allocated." in first.content.decode()
    assert MESSAGE in second.content.decode()
    # 40.00 once, not 40.00 + 40.00 = 80.00 (the payment of 100.00 would have covered both)
    assert allocated() == [Decimal("40.00")]


@pytest.mark.django_db
def test_the_allocate_page_posted_twice_allocates_once() -> None:
    invoice = invoice_for(belgian("Twice NV"), "40.00", year=2025)
    line = unmatched_payment("100.00")
    client = staff_client(staff("finance", FINANCE_OFFICER))
    page = reverse("admin:payments_allocate", args=[line.pk])
    assert seen_on(client.get(page).content) == {Decimal("0.00")}
    form = {"invoice": invoice.number, "amount": "25,00", "seen": "0.00"}
    assert client.post(page, form).status_code == 302  # allocated: back to the queue
    again = client.post(page, form)
    assert again.status_code == 200 and MESSAGE in again.content.decode()
    assert allocated() == [Decimal("25.00")]
    # drawn again, the page shows 25.00 allocated: a second part is allocated as meant (25.00 + 15.00 = 40.00)
    assert seen_on(client.get(page).content) == {Decimal("25.00")}
    client.post(page, {"invoice": invoice.number, "amount": "15.00", "seen": "25.00"})
    assert allocated() == [Decimal("15.00"), Decimal("25.00")]


@pytest.mark.django_db
def test_a_form_without_seen_allocates_nothing() -> None:
    invoice = invoice_for(belgian("Twice NV"), "40.00", year=2025)
    line = unmatched_payment("100.00")
    client = staff_client(staff("finance", FINANCE_OFFICER))
    for seen in ("", "abc", "1e3"):
        answer = client.post(
            reverse("admin:payments_accept", args=[line.pk]),
            {"invoice": str(invoice.pk), "amount": "40.00", "seen": seen},
            follow=True,
        )
        assert "The page was incomplete" in answer.content.decode()
    assert not Allocation.objects.exists()


@pytest.mark.django_db
def test_the_service_refuses_another_figure_and_allows_none() -> None:
    operator = belgian("Twice NV")
    invoice = invoice_for(operator, "40.00", year=2025)
    line = unmatched_payment("100.00")
    payment_allocate(line=line, invoice=invoice, amount=Decimal("10.00"), by=None, seen=Decimal("0.00"))
    with pytest.raises(ValidationError, match=MESSAGE):
        payment_allocate(line=line, invoice=invoice, amount=Decimal("10.00"), by=None, seen=Decimal("0.00"))
    # 10.00 allocated: seen 10 (as 10, 10.0 or 10.00) allocates; no seen (the import, scripts) only keeps the total
    payment_allocate(line=line, invoice=invoice, amount=Decimal("10.00"), by=None, seen=Decimal("10"))
    payment_allocate(line=line, operator=operator, amount=Decimal("80.00"), by=None)
    # 10.00 + 10.00 + 80.00 = 100.00: the whole payment, nothing more
    assert allocated() == [Decimal("10.00"), Decimal("10.00"), Decimal("80.00")]


@POSTGRESQL
@pytest.mark.django_db(transaction=True)
def test_two_clicks_at_once_allocate_once() -> None:
    invoice = invoice_for(belgian("Click NV"), "40.00")
    line = unmatched_payment("100.00")

    def click() -> object:
        with translation.override("en"):  # a thread starts in the default language
            return payment_allocate(line=line, invoice=invoice, amount=Decimal("40.00"), by=None, seen=Decimal("0"))

    results, errors = at_once(click)
    assert len(results) == 1 and len(errors) == 1
    assert isinstance(errors[0], ValidationError) and MESSAGE in errors[0].messages[0]
    assert allocated() == [Decimal("40.00")]  # not 80.00: 100.00 would have covered both
