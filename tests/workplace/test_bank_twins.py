"""The bank pages after the review of possible duplicates (ADR 12 addendum): a line that may be the same movement
received again is never allocated by one click (workplace queue, admin queue), only on its page with the tick box
"this is a second payment", checked by the server; a file's possible duplicates are handled at once after a page
listing them; a stalled background import is started again; what is open on a re-issued invoice counts what its
credited predecessor was paid (D8).

The statement files are written from the standards' layouts by famhp.payments.samples (CODA records 0, 1, 2.x, 8,
9; camt.053 Bal/TxsSummry/Ntry): the same day once as CODA, once as camt.053."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from famhp.accounts.roles import AUDITOR, FINANCE_OFFICER
from famhp.billing.models import Invoice
from famhp.payments.models import Allocation, BankLine, LineReview, StatementFile
from famhp.payments.samples import Payment, camt053, coda
from famhp.payments.selectors import invoice_status, suggestions
from famhp.payments.services import statement_import
from famhp.registry.models import Operator
from famhp.workplace.banking import allocation_search
from famhp.workplace.models import BankImport
from tests.accounts.conftest import staff, staff_client
from tests.payments.test_review_fixes import corrected, paid_on_time
from tests.payments.test_review_fixes import medilab as medilab_with_year  # noqa: F401 - the year's settings
from tests.portal.factories import belgian, invoice_for

pytestmark = pytest.mark.django_db

LABEL = "This is a second payment, not the same one again"


def text(response: Any) -> str:
    return " ".join(response.content.decode().split())


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def officer() -> Client:
    return staff_client(staff("officer", FINANCE_OFFICER))


@pytest.fixture
def day() -> dict[str, Any]:
    """Invoice I (100.00) paid by a CODA line on import; the same day again as camt.053: its line of 100.00 is a
    possible duplicate, with the suggestion "structured communication of I" it would have had; and J (100.00),
    open, for a real second payment."""
    operator = belgian("Medilab NV", language="en")
    i = invoice_for(operator, "100.00", sequence=1)
    j = invoice_for(operator, "100.00", sequence=2)
    payments = [
        Payment(Decimal("100.00"), structured=i.structured_communication),
        Payment(Decimal("5.00"), free_text="no reference"),
    ]
    first, _new = statement_import(data=coda(payments, statement=7), name="day.coda")
    other, _new = statement_import(data=camt053(payments, statement_id="2026-015"), name="day.xml")
    twin = BankLine.objects.get(statement_file=other, amount=Decimal("100.00"))
    assert twin.twin_of is not None and invoice_status(i) == "paid"
    return {"i": i, "j": j, "twin": twin, "first": first, "other": other}


def allocate(client: Client, line: BankLine, invoice: Invoice, **extra: str) -> Any:
    return client.post(
        f"/workplace/bank/lines/{line.pk}/allocate/",
        {"invoice": invoice.pk, "amount": "100.00", "seen": "0.00", "back": "line", **extra},
        follow=True,
    )


# --- no one click on a possible duplicate (review point 2) ---------------------------------------------------------


def test_the_queue_offers_no_one_click_suggestion_for_a_possible_duplicate(
    officer: Client, day: dict[str, Any]
) -> None:
    twin = day["twin"]
    assert suggestions(twin) == []
    response = officer.get("/workplace/bank/queue/?reason=duplicate")
    page = text(response)
    assert f'action="/workplace/bank/lines/{twin.pk}/allocate/"' not in page
    assert "None: open the line to decide whether it is a second payment." in page
    assert f"/workplace/bank/queue/?reason=duplicate&amp;file={day['other'].pk}" in page


def test_a_possible_duplicate_is_allocated_only_with_the_tick_box(officer: Client, day: dict[str, Any]) -> None:
    twin, i, j = day["twin"], day["i"], day["j"]
    page = text(officer.get(f"/workplace/bank/lines/{twin.pk}/?q={j.number}"))
    assert LABEL in page and 'name="second_payment" required' in page
    assert f"Line {twin.twin_of_id} of day.coda" in page  # the line it may repeat, and what it paid
    # what the one-click form of the queue would post (no tick): refused, nothing allocated
    refused = allocate(officer, twin, i)
    assert any("Nothing was allocated" in m and LABEL in m for m in messages_of(refused))
    assert not Allocation.objects.filter(bank_line=twin).exists()
    assert invoice_status(i) == "paid"  # 100.00 of the CODA line, not 200.00
    # ticked: a real second payment, to J
    done = allocate(officer, twin, j, second_payment="on")
    assert any(f"allocated to {j.number}" in m for m in messages_of(done))
    assert invoice_status(j) == "paid" and invoice_status(i) == "paid"


def test_the_admin_queue_neither_offers_nor_accepts_one_click_on_a_possible_duplicate(day: dict[str, Any]) -> None:
    twin, i, j = day["twin"], day["i"], day["j"]
    client = staff_client(staff("finance", FINANCE_OFFICER))
    queue = client.get("/admin/payments/statementfile/queue/")
    assert f"/admin/payments/statementfile/accept/{twin.pk}/" not in queue.content.decode()
    forged = client.post(
        f"/admin/payments/statementfile/accept/{twin.pk}/",
        {"invoice": i.pk, "amount": "100.00", "seen": "0.00"},
        follow=True,
    )
    assert any("Nothing was allocated" in str(m) for m in forged.context["messages"])
    page = client.get(f"/admin/payments/statementfile/allocate/{twin.pk}/")
    assert LABEL in page.content.decode()
    form = {"invoice": j.number, "amount": "100.00", "seen": "0.00"}
    unticked = client.post(f"/admin/payments/statementfile/allocate/{twin.pk}/", form, follow=True)
    assert any("Nothing was allocated" in str(m) for m in unticked.context["messages"])
    assert not Allocation.objects.filter(bank_line=twin).exists()
    client.post(f"/admin/payments/statementfile/allocate/{twin.pk}/", {**form, "second_payment": "on"})
    assert invoice_status(j) == "paid" and invoice_status(i) == "paid"


# --- a file's possible duplicates handled at once (review point 4) -------------------------------------------------


def test_a_files_duplicates_are_handled_at_once_after_a_page_listing_them(officer: Client, day: dict[str, Any]) -> None:
    other = day["other"]
    narrowed = text(officer.get(f"/workplace/bank/queue/?reason=duplicate&file={other.pk}"))
    assert "2 lines wait" in narrowed and "Handle all possible duplicates of this file as duplicates…" in narrowed
    url = f"/workplace/bank/files/{other.pk}/duplicates/"
    listed = officer.get(url)
    page = text(listed)
    # both lines of day.xml (100.00 and 5.00) repeat lines of day.coda
    assert "2 lines of day.xml are the same movements" in page and "Handle all 2 lines as duplicates" in page
    assert LineReview.objects.count() == 0  # the page changes nothing
    auditor = staff_client(staff("auditor", AUDITOR))
    assert auditor.post(url, {"note": "x"}).status_code == 403
    unsaid = officer.post(url, {"note": ""}, follow=True)
    assert any("nothing was changed" in m for m in messages_of(unsaid)) and LineReview.objects.count() == 0
    done = officer.post(url, {"note": "day.xml is day.coda again"}, follow=True)
    assert "2 possible duplicates of day.xml handled as duplicates: they leave the queue." in messages_of(done)
    assert LineReview.objects.filter(bank_line__statement_file=other).count() == 2
    again = officer.post(url, {"note": "again"}, follow=True)
    assert "No possible duplicate of day.xml was left to handle." in messages_of(again)
    # only the 5.00 of day.coda (no reference) still waits
    assert [r[0].amount for r in officer.get("/workplace/bank/queue/").context["rows"]] == [Decimal("5.00")]


# --- a stalled import started again (review point 5) --------------------------------------------------------------


def stalled_import(minutes: int) -> BankImport:
    operator = belgian("Stalled NV")
    invoice = invoice_for(operator, "100.00")
    data = coda([Payment(Decimal("100.00"), structured=invoice.structured_communication)])
    upload = BankImport.objects.create(
        name="day.coda", size=len(data), data=data, created_by=staff("uploader", FINANCE_OFFICER), language="en"
    )
    # claimed by a worker that died: RUNNING since the upload
    BankImport.objects.filter(pk=upload.pk).update(
        state=BankImport.State.RUNNING, created_at=timezone.now() - datetime.timedelta(minutes=minutes)
    )
    return upload


def test_an_import_running_for_too_long_is_started_again_once(officer: Client) -> None:
    upload = stalled_import(minutes=20)
    progress = text(officer.get(f"/workplace/bank/imports/{upload.pk}/"))
    assert "Start the import again" in progress
    response = officer.post(f"/workplace/bank/imports/{upload.pk}/again/", follow=True)
    upload.refresh_from_db()
    assert upload.state == BankImport.State.DONE and upload.new and upload.data == b""
    assert upload.statement is not None and upload.statement.lines_matched == 1
    assert "The import was started again." in messages_of(response)
    # a second click finds nothing stalled: nothing imported again
    again = officer.post(f"/workplace/bank/imports/{upload.pk}/again/", follow=True)
    assert any("not stalled" in m for m in messages_of(again))
    assert StatementFile.objects.count() == 1 and Allocation.objects.count() == 1


def test_an_import_running_for_a_short_while_is_left_alone(officer: Client) -> None:
    upload = stalled_import(minutes=2)
    assert "Start the import again" not in text(officer.get(f"/workplace/bank/imports/{upload.pk}/"))
    officer.post(f"/workplace/bank/imports/{upload.pk}/again/")
    upload.refresh_from_db()
    assert upload.state == BankImport.State.RUNNING and not StatementFile.objects.exists()


# --- what is open on a re-issued invoice (review point 6) ---------------------------------------------------------


def test_the_open_amount_of_a_reissued_invoice_counts_its_predecessors_payments(
    medilab_with_year: Operator,  # noqa: F811 - the fixture imported above
) -> None:
    first = paid_on_time(medilab_with_year)  # 1000.00 paid on 20 December 2025
    new = corrected(first, "1200.00", sequence=2)
    # 1200.00 − 1000.00 carried from the credited invoice = 200.00 open (before the fix: 1200.00)
    (found,) = [c for c in allocation_search(new.number) if c.invoice == new]
    assert found.open == Decimal("200.00")
    statement_import(
        data=coda([Payment(Decimal("1200.00"), free_text=f"pays {new.number}")], statement=3), name="more.cod"
    )
    line = BankLine.objects.get(amount=Decimal("1200.00"))
    # min(1200.00 left on the line, 200.00 open) = 200.00
    assert [(s.invoice, s.amount) for s in suggestions(line)] == [(new, Decimal("200.00"))]
