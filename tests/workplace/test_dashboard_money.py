"""The year's money on the workplace dashboard balances to the cent: invoiced − credited − paid = outstanding −
paid beyond what is due (an overpayment, a payment on an invoice credited and not re-issued, what a correction's
lower amount leaves: D8, D12); the accounts' credit balances, payments to an account and refunds are shown for
all years, not mixed into one year's figures."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from famhp.accounts.roles import AUDITOR
from famhp.billing.models import Invoice
from famhp.billing.services import credit_note_issue
from famhp.payments.samples import Payment, coda
from famhp.payments.selectors import account_balance, account_balances
from famhp.payments.services import refund_record, statement_import
from famhp.registry.models import Operator
from famhp.workplace.selectors import money_figures
from tests.accounts.conftest import staff, staff_client
from tests.payments.test_review_fixes import corrected
from tests.portal.factories import belgian, invoice_for

pytestmark = pytest.mark.django_db
PAID_ON = datetime.date(2025, 12, 20)
TODAY = datetime.date(2026, 4, 10)


def pay(invoice: Invoice, amount: str, name: str) -> None:
    payment = Payment(Decimal(amount), structured=invoice.structured_communication, booked=PAID_ON)
    statement_import(data=coda([payment], day=PAID_ON), name=name)


@pytest.fixture
def year() -> dict[str, Operator]:
    over, cancelled, lowered, unpaid = (belgian(f"{n} NV") for n in ("Over", "Cancelled", "Lowered", "Unpaid"))
    a = invoice_for(over, "1000.00", year=2025, sequence=1)
    pay(a, "1200.00", "a.cod")  # 200.00 more than asked
    b = invoice_for(cancelled, "500.00", year=2025, sequence=2)
    pay(b, "500.00", "b.cod")
    credit_note_issue(invoice=b, reason="not liable after all", issued_on=datetime.date(2026, 2, 1))
    c = invoice_for(lowered, "1000.00", year=2025, sequence=3)
    pay(c, "1000.00", "c.cod")
    corrected(c, "700.00", sequence=4)  # credited, re-issued at 700.00: 700.00 carried, 300.00 left
    invoice_for(unpaid, "800.00", year=2025, sequence=5)
    return {"over": over, "cancelled": cancelled, "lowered": lowered, "unpaid": unpaid}


def test_the_year_balances_to_the_cent_and_the_accounts_are_apart(year: dict[str, Operator]) -> None:
    figures = money_figures(2025, today=TODAY)
    # invoiced 1000 + 500 + 1000 + 700 + 800 = 4000.00; credited 500 + 1000 = 1500.00;
    # paid 1200 + 500 + 1000 = 2700.00; outstanding: the 800.00 nobody paid;
    # beyond what is due: 200 (overpaid) + 500 (paid on a cancelled invoice) + 300 (1000 paid, 700 due) = 1000.00
    assert figures.invoiced == Decimal("4000.00") and figures.credited == Decimal("1500.00")
    assert figures.paid == Decimal("2700.00") and figures.outstanding == Decimal("800.00")
    assert figures.credit == Decimal("1000.00")
    assert figures.invoiced - figures.credited - figures.paid == figures.outstanding - figures.credit  # −200.00
    # the accounts: the three credits above, nothing refunded yet
    assert (figures.accounts_credit, figures.refunded) == (Decimal("1000.00"), Decimal(0))

    officer = staff("officer", "Finance officer")
    refund_record(operator=year["cancelled"], by=officer, iban="BE68539007547034")
    after = money_figures(2025, today=TODAY)
    # 500.00 refunded: the accounts hold 1000 − 500 = 500.00 of credit; the year's figures do not move
    assert (after.accounts_credit, after.refunded) == (Decimal("500.00"), Decimal("500.00"))
    assert (after.paid, after.outstanding, after.credit) == (figures.paid, figures.outstanding, figures.credit)
    # the grouped balances are each operator's account balance: −200, 0 (−500 + 500 refunded), −300, 800
    balances = account_balances()
    assert (
        {name: balances[o.pk] for name, o in year.items()}
        == {name: account_balance(o) for name, o in year.items()}
        == {
            "over": Decimal("-200.00"),
            "cancelled": Decimal("0.00"),
            "lowered": Decimal("-300.00"),
            "unpaid": Decimal("800.00"),
        }
    )


def test_the_dashboard_shows_the_year_and_the_accounts_apart(year: dict[str, Operator]) -> None:
    text = staff_client(staff("auditor", AUDITOR)).get("/workplace/2025/").content.decode()
    assert "Paid beyond what is due (credit)" in text and "The accounts, all years (D12)" in text
    assert "Credit balances now" in text and "1.000,00" in text
