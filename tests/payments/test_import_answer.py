"""The bulk import's answer on a generated 2,000-line file, in both formats (issue 15 point 2): lines kept,
lines matched, allocated sums and the queue, compared with figures worked out by hand from the way the file
is made, never from the importer. The import writes its rows in bulk; this shows it still answers as the rules
of issue 11 say (only valid communications matched, debits never, a reversal undoing its payment)."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db.models import Sum

from famhp.billing.models import Invoice, InvoiceKind
from famhp.billing.ogm import structured_communication
from famhp.payments.models import Allocation, BankLine
from famhp.payments.samples import Payment, camt053, coda
from famhp.payments.selectors import unmatched_lines
from famhp.payments.services import statement_import
from famhp.registry.models import Operator

pytestmark = pytest.mark.django_db

LINES = 2000
FULL, PARTIAL, DEBIT = Decimal("415.74"), Decimal("200.00"), Decimal("-12.50")


def _invoices() -> list[Invoice]:
    operators = Operator.objects.bulk_create(
        [
            # a valid enterprise number: 8 digits, then 97 minus their remainder by 97
            Operator(
                enterprise_number=f"{base:08d}{97 - base % 97:02d}", name=f"Bulk {base} NV", contact_email="b@x.be"
            )
            for base in range(10_000_001, 10_000_001 + LINES)
        ]
    )
    return Invoice.objects.bulk_create(
        Invoice(
            year=2025,
            kind=InvoiceKind.ACTIVITY_TAX,
            number=f"AT2025-{n:06d}",
            sequence=n,
            structured_communication=structured_communication(year=2025, kind="activity_tax", sequence=n),
            operator=operator,
            debtor={"name": operator.name},
            language="nl",
            issued_on=datetime.date(2025, 12, 1),
            due_on=datetime.date(2025, 12, 31),
            total=FULL,
            lines=[],
            parameters={},
            rules_version="test",
        )
        for n, operator in enumerate(operators, start=1)
    )


def _payments(invoices: list[Invoice]) -> list[Payment]:
    """Line n (0 to 1,999) pays invoice n, by n modulo 20: 0 without any reference, 1 with the communication in
    its free text, 2 a debit, 3 with wrong check digits (00 is never a check), 4 a partial payment, the other
    15 the full amount with the structured communication; last, the return of line 5's payment."""
    out = []
    for n, invoice in enumerate(invoices):
        ogm = invoice.structured_communication
        e2e = f"E2E-BULK-{n}"  # the payer's reference, which a return carries back
        if n % 20 == 0:
            out.append(Payment(FULL, free_text="no reference", end_to_end=e2e))
        elif n % 20 == 1:
            out.append(Payment(FULL, free_text=f"contribution {invoice.formatted_communication}", end_to_end=e2e))
        elif n % 20 == 2:
            out.append(Payment(DEBIT, free_text="bank costs", end_to_end=e2e))
        elif n % 20 == 3:
            out.append(Payment(FULL, structured=ogm[:10] + "00", end_to_end=e2e))
        elif n % 20 == 4:
            out.append(Payment(PARTIAL, structured=ogm, end_to_end=e2e))
        else:
            out.append(Payment(FULL, structured=ogm, end_to_end=e2e))
    out.append(_return(invoices[5], 5))
    return out


def _sum(model: type[Allocation] | type[BankLine]) -> Decimal:
    """The sum of the amounts, to the cent: SQLite adds its NUMERIC column as floating point."""
    total = model.objects.aggregate(s=Sum("amount"))["s"]
    return Decimal(total).quantize(Decimal("0.01"))


def _return(invoice: Invoice, n: int) -> Payment:
    """The bank returns line n's payment: the same amount, communication and end-to-end reference."""
    return Payment(
        -FULL,
        structured=invoice.structured_communication,
        end_to_end=f"E2E-BULK-{n}",
        reversal=True,
        return_reason="AC04",
    )


@pytest.mark.parametrize(
    ("write", "again"),
    [
        (coda, lambda payments: coda(payments, statement=2)),
        (lambda payments: camt053(payments, statement_id="BULK-1"), lambda p: camt053(p, statement_id="BULK-2")),
    ],
    ids=["coda", "camt053"],
)
def test_a_2000_line_file_is_answered_as_worked_out_by_hand(
    write: Callable[[list[Payment]], bytes], again: Callable[[list[Payment]], bytes]
) -> None:
    invoices = _invoices()
    data = write(_payments(invoices))
    statement, new = statement_import(data=data, name="bulk")
    assert new
    # 2,000 lines and the return: 2,001 kept.
    assert statement.lines_new == BankLine.objects.count() == LINES + 1
    # Each residue modulo 20 occurs 100 times in 0..1,999. Matched: residue 1 (100), residue 4 (100) and the
    # 15 full residues 5..19 (1,500) = 1,700, less line 5 whose return came in the same file: 1,699.
    assert statement.lines_matched == Allocation.objects.count() == 1699
    # Allocated: 100 × 200.00 partial + (100 + 1,500 − 1) × 415.74 full = 20,000.00 + 664,768.26 = 684,768.26
    # (1,599 × 415.74 = 664,768.26).
    assert _sum(Allocation) == Decimal("684768.26")
    assert not Allocation.objects.filter(amount__lt=0).exists()  # the returned payment was never allocated
    # Kept on the account: credits 1,800 × 415.74 + 100 × 200.00 = 748,332.00 + 20,000.00 = 768,332.00; debits
    # 100 × 12.50 = 1,250.00 and the return 415.74: 768,332.00 − 1,665.74 = 766,666.26.
    assert _sum(BankLine) == Decimal("766666.26")
    # The queue: 100 without reference, 100 with wrong check digits, 100 debits and the return (its payment,
    # line 5, is settled by it): 301.
    assert unmatched_lines().count() == 301
    # The same file again adds nothing.
    assert statement_import(data=data, name="again") == (statement, False)
    assert BankLine.objects.count() == LINES + 1

    # A later file returns line 6's payment, allocated above: a reversing allocation of −415.74.
    returned, _new = statement_import(data=again([_return(invoices[6], 6)]), name="returned")
    assert (returned.lines_new, returned.lines_matched) == (1, 0)
    (reversing,) = Allocation.objects.filter(amount__lt=0)
    assert reversing.amount == -FULL and reversing.reverses is not None
    assert reversing.reverses.invoice == reversing.invoice == invoices[6]
    # 684,768.26 − 415.74 = 684,352.52
    assert _sum(Allocation) == Decimal("684352.52")
    # The queue: 301 and the new return (line 6 now settled by it): 302.
    assert unmatched_lines().count() == 302
