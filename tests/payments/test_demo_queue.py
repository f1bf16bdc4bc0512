"""Issue 11, done when: the demo's allocation queue shows a foreign-currency payment and a reversal with their
reasons, and the returned payment's invoice is no longer paid."""

from __future__ import annotations

import pytest

from famhp.demo import load_demo
from famhp.payments.models import BankLine
from famhp.payments.selectors import invoice_status, queue_reason, unmatched_lines

pytestmark = pytest.mark.django_db


def test_the_demo_queue_shows_a_dollar_payment_and_a_reversal_with_their_reasons() -> None:
    load_demo(count=40)
    reasons = {line.pk: queue_reason(line) for line in unmatched_lines()}
    dollars = BankLine.objects.get(currency="USD")
    assert "In USD, not euro" in reasons[dollars.pk]
    reversal = BankLine.objects.get(reversal=True)
    assert reversal.reverses_line is not None and "AC04" in reasons[reversal.pk]
    (undone,) = [a.reverses for a in reversal.allocations.all()]
    assert undone is not None and undone.invoice is not None
    assert f"its allocation to {undone.invoice.number} was undone" in reasons[reversal.pk]
    assert invoice_status(undone.invoice) == "unpaid"
