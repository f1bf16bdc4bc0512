"""Bank statements in, matched by structured communication; allocations, statuses, statements, reminders."""

from __future__ import annotations

import contextlib
import datetime
import os
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.template.loader import render_to_string
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from famhp.billing.models import Invoice, InvoiceKind
from famhp.billing.ogm import structured_communication
from famhp.billing.services import credit_note_issue
from famhp.payments.models import Allocation, BankLine, StatementFile
from famhp.payments.samples import Payment, camt053, coda
from famhp.payments.selectors import STATUS_LABELS, account_statement, invoice_status, refundable, unmatched_lines
from famhp.payments.services import (
    allocation_reverse,
    payment_allocate,
    refund_record,
    reminders_send,
    statement_import,
)
from famhp.registry.models import Operator
from tests.portal.factories import belgian, invoice_for

pytestmark = pytest.mark.django_db


def ogm_text(invoice: Invoice, delimiter: str = "+++") -> str:
    return invoice.formatted_communication.replace("+++", delimiter)


@pytest.fixture
def medilab() -> Operator:
    return belgian("Medilab NV", language="nl", email="boekhouding@medilab.example")


def test_coda_payments_are_matched_by_their_structured_communication(medilab: Operator) -> None:
    invoice = invoice_for(medilab, "1662.96")
    data = coda(
        [
            Payment(Decimal("1662.96"), structured=invoice.structured_communication),
            Payment(Decimal("-12.50"), payer="Bank fees"),
            Payment(Decimal("75.00"), free_text="gift"),
        ]
    )
    statement, new = statement_import(data=data, name="2026-01-15.cod")
    assert new and (statement.format, statement.lines_new, statement.lines_matched) == ("coda", 3, 1)
    assert invoice_status(invoice) == "paid"
    allocation = Allocation.objects.get()
    assert (allocation.automatic, allocation.third_party, allocation.payer_name) == (True, False, "Medilab NV")
    # the bank fees (a debit) and the gift (no communication) wait for staff, each with its reason
    assert [line.amount for line in unmatched_lines()] == [Decimal("-12.50"), Decimal("75.00")]


@pytest.mark.parametrize("version", range(2, 9))
def test_camt053_versions_2_to_8_structured_and_free_text(version: int, medilab: Operator) -> None:
    first, second, third = (invoice_for(medilab, "100.00", sequence=n) for n in (1, 2, 3))
    data = camt053(
        [
            Payment(Decimal("100.00"), structured=first.structured_communication),
            Payment(Decimal("60.00"), free_text=f"contribution {ogm_text(second)} thanks"),
            Payment(Decimal("100.00"), free_text=f"ref {ogm_text(third, '***')}"),
            Payment(Decimal("10.00"), free_text="+++000/0000/00000+++"),  # fails mod 97: to the queue
        ],
        version=version,
    )
    statement, _new = statement_import(data=data, name=f"camt-v{version}.xml")
    assert (statement.format, statement.lines_new, statement.lines_matched) == ("camt053", 4, 3)
    assert [invoice_status(i) for i in (first, second, third)] == ["paid", "partly_paid", "paid"]
    assert BankLine.objects.get(amount=Decimal("60.00")).counterparty_name == "Medilab NV"


def test_febelfin_codas_own_sample_imports(medilab: Operator) -> None:
    """A real bank's file with globalised movements: kept as their details, which add up to the statement."""
    sample = Path(str(__import__("coda").__file__)).parent / "CODA.txt"
    statement, new = statement_import(data=sample.read_bytes(), name="CODA.txt")
    assert new and statement.lines_matched == 0
    # record 1: old balance 0.00; record 8: new balance 9,405,296.99; so the movements kept add up to that
    assert sum(line.amount for line in BankLine.objects.all()) == Decimal("9405296.99")
    # movement 0004 is a total of 30.86 globalised over 23.00 + 2.50 + 5.36: the details are kept, not the total
    assert not BankLine.objects.filter(amount=Decimal("30.86")).exists()
    assert BankLine.objects.filter(amount__in=[Decimal("23.00"), Decimal("2.50"), Decimal("5.36")]).count() == 3


def test_the_same_file_twice_adds_nothing_and_a_movement_is_kept_once(medilab: Operator) -> None:
    invoice = invoice_for(medilab, "100.00")
    payments = [Payment(Decimal("100.00"), structured=invoice.structured_communication)]
    data = coda(payments)
    statement_import(data=data, name="a.cod")
    again, new = statement_import(data=data, name="a-copy.cod")
    assert not new and again.name == "a.cod"
    # the same movement inside a different file (another extract of the same statement): not added again
    statement_import(data=data + b"\n", name="a-with-blank-line.cod")
    assert BankLine.objects.count() == 1 and Allocation.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (coda([Payment(Decimal("1.00"))]).replace(b"\n21", b"\n21X", 1), "line 3"),
        (coda([Payment(Decimal("1.00"))]).replace(b"\n9", b"\n7", 1), "line 7"),
        (coda([Payment(Decimal("1.00"))])[:-300] + b"\n", "line"),
        (camt053([Payment(Decimal("1.00"))]).replace(b"</Stmt>", b"</Stm>"), "line"),
        (camt053([Payment(Decimal("1.00"))]).replace(b"1.00</Amt>", b"1,00</Amt>"), "entry 1"),
        (camt053([Payment(Decimal("1.00"))]).replace(b"camt.053.001.02", b"camt.054.001.02"), "camt.053"),
        (b"%PDF-1.4 not a statement", "neither"),
    ],
)
def test_a_malformed_file_imports_nothing_and_says_where(data: bytes, where: str) -> None:
    with pytest.raises(ValidationError) as raised:
        statement_import(data=data, name="broken")
    assert where in str(raised.value)
    assert not StatementFile.objects.exists() and not BankLine.objects.exists()


def test_partial_over_and_under_payments_and_third_parties(medilab: Operator) -> None:
    a, b, c = (invoice_for(medilab, "100.00", sequence=n) for n in (1, 2, 3))
    statement_import(
        data=coda(
            [
                Payment(Decimal("40.00"), structured=a.structured_communication),
                Payment(Decimal("130.00"), structured=b.structured_communication, payer="Supplier Distribution BV"),
                Payment(Decimal("100.00"), structured=c.structured_communication, payer="MEDILAB N.V."),
            ]
        ),
        name="s.cod",
    )
    assert [invoice_status(i) for i in (a, b, c)] == ["partly_paid", "overpaid", "paid"]
    third = {al.invoice_id: al.third_party for al in Allocation.objects.all()}
    assert (third[a.pk], third[b.pk], third[c.pk]) == (False, True, False)
    # D12: b is overpaid by 30.00 but a is open for 60.00: the whole account is owed, nothing is refundable.
    # invoices 3 × 100.00 = 300.00; payments 40.00 + 130.00 + 100.00 = 270.00; balance 300.00 − 270.00 = 30.00 owed
    assert refundable(medilab) == Decimal("0.00")
    with pytest.raises(ValidationError, match="no credit balance"):
        refund_record(operator=medilab, by=None)


def test_staff_spread_one_payment_over_several_invoices(medilab: Operator) -> None:
    a, b = invoice_for(medilab, "100.00", sequence=1), invoice_for(medilab, "50.00", sequence=2)
    statement_import(data=coda([Payment(Decimal("150.00"), free_text="our two invoices")]), name="s.cod")
    line = BankLine.objects.get()
    payment_allocate(line=line, invoice=a, amount=Decimal("100.00"), by=None)
    with pytest.raises(ValidationError):
        payment_allocate(line=line, invoice=b, amount=Decimal("50.01"), by=None)
    second = payment_allocate(line=line, invoice=b, amount=Decimal("50.00"), by=None)
    assert [invoice_status(a), invoice_status(b)] == ["paid", "paid"] and not unmatched_lines().exists()
    allocation_reverse(allocation=second, by=None)
    assert invoice_status(b) == "unpaid" and [x.pk for x in unmatched_lines()] == [line.pk]
    credit_note_issue(invoice=b, reason="cancelled")
    assert invoice_status(b) == "credited"


def test_bank_lines_and_allocations_are_immutable(medilab: Operator) -> None:
    invoice = invoice_for(medilab, "100.00")
    statement_import(data=coda([Payment(Decimal("100.00"), structured=invoice.structured_communication)]), name="s")
    with pytest.raises(DatabaseError), transaction.atomic():
        BankLine.objects.update(amount=Decimal("1.00"))
    with pytest.raises(DatabaseError), transaction.atomic():
        Allocation.objects.all().delete()
    assert BankLine.objects.get().amount == Decimal("100.00")


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    attempts=st.lists(
        st.tuples(st.integers(0, 2), st.decimals(min_value=Decimal("0.01"), max_value=Decimal("120"), places=2)),
        max_size=12,
    )
)
def test_allocations_never_exceed_a_payment(attempts: list[tuple[int, Decimal]], medilab: Operator) -> None:
    # Bank lines are never deleted: each example imports its own statement, on its own day.
    invoices = [
        invoice_for(medilab, "100.00", sequence=n)
        for n in range(Invoice.objects.count() + 1, Invoice.objects.count() + 4)
    ]
    day = datetime.date(2026, 1, 1) + datetime.timedelta(days=StatementFile.objects.count())
    statement, _ = statement_import(
        data=coda([Payment(Decimal("150.00"), free_text="spread", booked=day)], day=day), name=f"{day}.cod"
    )
    line = statement.lines.get()
    for target, amount in attempts:
        with contextlib.suppress(ValidationError):
            payment_allocate(line=line, invoice=invoices[target], amount=amount, by=None)
        total = sum((a.amount for a in line.allocations.all()), Decimal(0))
        assert Decimal(0) <= total <= line.amount


def _year_2025(*, confirmed: list[str]) -> None:
    from famhp.billing.models import YearSettings

    YearSettings.objects.create(
        year=2025,
        activity_tax_share=Decimal("0.25"),
        exemption_threshold=Decimal("50290.17"),
        late_interest_rate=Decimal("0.008"),
        late_interest_period="started_month",
        late_interest_base="contribution",
        confirmed=confirmed,
    )


def _partly_paid_late(medilab: Operator) -> Invoice:
    invoice = invoice_for(medilab, "1000.00", due=datetime.date(2025, 12, 31))
    statement_import(
        data=coda(
            [Payment(Decimal("400.00"), structured=invoice.structured_communication, booked=datetime.date(2026, 1, 20))]
        ),
        name="s.cod",
    )
    return invoice


def test_unconfirmed_interest_is_never_shown_and_blocks_reminders(medilab: Operator) -> None:
    """D10: the rate is set but the period and base are not confirmed: no interest, the parameters named."""
    _year_2025(confirmed=["late_interest_rate"])
    _partly_paid_late(medilab)
    for _twice in range(2):
        statement = account_statement(medilab, today=datetime.date(2026, 3, 10))
        assert statement.balance == Decimal("600.00") and statement.interest == Decimal("0")
        assert not statement.interest_lines
        assert statement.interest_blocked == {2025: ["late_interest_base", "late_interest_period"]}
        with pytest.raises(ValidationError, match="late_interest_base, late_interest_period"):
            reminders_send(today=datetime.date(2026, 3, 10))
        assert not mail.outbox
    page = render_to_string("payments/_statement_table.html", {"statement": statement, "labels": STATUS_LABELS})
    assert "the agency must still confirm these interest parameters" in page
    assert "2025: late_interest_base, late_interest_period" in page


def test_account_statement_with_interest_and_reminders(medilab: Operator) -> None:
    _year_2025(confirmed=["late_interest_rate", "late_interest_period", "late_interest_base"])
    invoice = _partly_paid_late(medilab)
    statement = account_statement(medilab, today=datetime.date(2026, 3, 10))
    # D10, due 31 December 2025, 0.8 % per started calendar month on the contribution:
    #   400.00 paid on 20 January 2026: January started = 1 month × 0.8 % × 400.00 = 3.20
    #   600.00 still due on 10 March 2026: January, February, March = 3 months × 0.8 % × 600.00 = 14.40
    #   interest 3.20 + 14.40 = 17.60
    assert statement.balance == Decimal("600.00") and statement.interest == Decimal("17.60")
    assert [(i.base, i.periods, i.amount) for i in statement.interest_lines] == [
        (Decimal("400.00"), 1, Decimal("3.20")),
        (Decimal("600.00"), 3, Decimal("14.40")),
    ]
    assert [(r.kind, r.debit, r.credit, r.balance) for r in statement.rows] == [
        ("activity_tax", Decimal("1000.00"), Decimal(0), Decimal("1000.00")),
        ("payment", Decimal(0), Decimal("400.00"), Decimal("600.00")),
    ]
    assert reminders_send(today=datetime.date(2026, 3, 10)) == 1
    (message,) = mail.outbox
    assert message.to == ["boekhouding@medilab.example"] and "17,60" in str(message.body)  # Dutch: decimal comma
    assert invoice.formatted_communication in str(message.body)
    assert reminders_send(today=datetime.date(2026, 3, 15)) == 0  # not again within 14 days


def test_a_returned_payment_bears_interest_as_if_never_paid(medilab: Operator) -> None:
    _year_2025(confirmed=["late_interest_rate", "late_interest_period", "late_interest_base"])
    invoice = invoice_for(medilab, "100.00", due=datetime.date(2025, 12, 31))
    on_time = Payment(
        Decimal("100.00"),
        structured=invoice.structured_communication,
        end_to_end="E2E-1",
        booked=datetime.date(2025, 12, 20),
    )
    statement_import(data=coda([on_time], day=datetime.date(2025, 12, 20)), name="paid.cod")
    returned = Payment(Decimal("-100.00"), end_to_end="E2E-1", reversal=True, booked=datetime.date(2026, 1, 10))
    statement_import(
        data=coda([returned], statement=2, old_balance=Decimal("1100.00"), day=datetime.date(2026, 1, 10)),
        name="returned.cod",
    )
    statement = account_statement(medilab, today=datetime.date(2026, 3, 10))
    # the 100.00 came back: still due, January, February, March started = 3 months × 0.8 % × 100.00 = 2.40
    assert statement.balance == Decimal("100.00") and statement.interest == Decimal("2.40")


def test_interest_base_is_the_contribution_never_the_fine(medilab: Operator) -> None:
    """D10: no interest on the fine (nor on earlier interest): the base is the contribution line only."""
    _year_2025(confirmed=["late_interest_rate", "late_interest_period", "late_interest_base"])
    invoice = Invoice.objects.create(
        year=2025,
        kind=InvoiceKind.TURNOVER_LEVY,
        number="TL2025-000001",
        sequence=1,
        structured_communication=structured_communication(year=2025, kind=InvoiceKind.TURNOVER_LEVY, sequence=1),
        operator=medilab,
        debtor={"name": medilab.name},
        language="nl",
        issued_on=datetime.date(2025, 12, 1),
        due_on=datetime.date(2025, 12, 31),
        total=Decimal("1600.00"),
        lines=[
            {"description": "turnover_levy", "amount": "1000.00", "rule": "D5", "explanation": []},
            {"description": "administrative_fine", "amount": "500.00", "rule": "D6", "explanation": []},
            {"description": "late_interest", "amount": "100.00", "rule": "D10", "explanation": []},
        ],
        parameters={},
        rules_version="test",
    )
    statement = account_statement(medilab, today=datetime.date(2026, 2, 1))
    # due 31 December 2025, nothing paid on 1 February 2026: January and February started = 2 months;
    # base 1,000.00 (the contribution; not the 500.00 fine nor the 100.00 interest): 1,000.00 × 0.8 % × 2 = 16.00
    assert [(i.invoice, i.base, i.periods, i.amount) for i in statement.interest_lines] == [
        (invoice, Decimal("1000.00"), 2, Decimal("16.00"))
    ]


@pytest.mark.skipif(
    connection.vendor != "postgresql" and not os.environ.get("DATABASE_URL"),
    reason="concurrency is shown on PostgreSQL",
)
@pytest.mark.django_db(transaction=True)
def test_two_imports_at_once_allocate_no_line_twice() -> None:
    operator = belgian("Concurrent NV")
    invoices = [invoice_for(operator, "10.00", sequence=n) for n in range(1, 41)]
    payments = [Payment(Decimal("10.00"), structured=i.structured_communication) for i in invoices]
    files = [coda(payments), coda(payments) + b"\n"]  # two files, the same movements
    barrier, errors = threading.Barrier(2), []

    def run(data: bytes, name: str) -> None:
        try:
            barrier.wait()
            statement_import(data=data, name=name)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(data, f"f{n}")) for n, data in enumerate(files)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert BankLine.objects.count() == 40
    assert Allocation.objects.count() == 40
    assert all(invoice_status(i) == "paid" for i in invoices)
