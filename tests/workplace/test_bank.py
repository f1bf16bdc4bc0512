"""The workplace's bank pages (issue 12): a statement imported (at once, or by the background worker when large),
the queue with its reasons and suggestions, allocation by one click or by hand, a line handled without one,
refunds recorded, exported once and marked sent (D12) — each by whom docs/roles.md allows, each once.

The statement files are written from the standards' layouts by famhp.payments.samples (CODA records 0, 1, 2.x,
8, 9; camt.053 Bal/TxsSummry/Ntry), and by hand where one figure must be wrong."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from famhp.accounts.roles import ADMINISTRATOR, AUDITOR, FINANCE_OFFICER, SUPPORT
from famhp.billing.models import Invoice
from famhp.payments.models import Allocation, BankLine, LineReview, Refund, RefundExport, StatementFile
from famhp.payments.samples import Payment, camt053, coda
from famhp.payments.services import statement_import
from famhp.registry.models import Operator
from famhp.workplace import banking
from famhp.workplace.models import BankImport
from tests.accounts.conftest import staff, staff_client
from tests.portal.factories import belgian, invoice_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def medilab() -> Operator:
    return belgian("Medilab NV", language="nl", email="boekhouding@medilab.example")


@pytest.fixture
def officer() -> Client:
    return staff_client(staff("officer", FINANCE_OFFICER))


def upload(client: Client, data: bytes, name: str) -> Any:
    return client.post("/workplace/bank/import/", {"file": SimpleUploadedFile(name, data)}, follow=True)


def text(response: Any) -> str:
    return " ".join(response.content.decode().split())


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- import -----------------------------------------------------------------------------------------------------


def test_a_coda_file_is_imported_at_once_and_the_result_says_what_it_brought(
    officer: Client, medilab: Operator
) -> None:
    invoice = invoice_for(medilab, "100.00")
    data = coda(
        [
            Payment(Decimal("100.00"), structured=invoice.structured_communication),
            Payment(Decimal("40.00"), payer="Unknown BV", payer_account="BE68539007547034", free_text="gift"),
        ]
    )
    response = upload(officer, data, "january.cod")
    page = text(response)
    assert response.redirect_chain[-1][0].endswith("/result/")
    assert "Imported." in page
    assert "BE71096123456769" in page  # the account of the statement (samples.ACCOUNT)
    # 2 new lines; 1 allocated by its structured communication; 1 waits (no structured communication)
    summary = response.context["summary"]
    assert (summary.lines, summary.allocated, summary.queued) == (2, 1, 1)
    assert summary.reasons == [("No valid structured communication.", 1)]
    assert Allocation.objects.get().invoice == invoice

    again = upload(officer, data, "january-again.cod")
    assert "Nothing new: this file was imported already (january.cod" in text(again)
    assert BankLine.objects.count() == 2 and StatementFile.objects.count() == 1 and Allocation.objects.count() == 1
    assert BankImport.objects.count() == 2 and not BankImport.objects.exclude(data=b"").exists()  # files emptied


def test_a_large_camt_file_runs_as_a_background_task_with_a_progress_page(
    officer: Client, medilab: Operator, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoice = invoice_for(medilab, "250.00")
    data = camt053([Payment(Decimal("250.00"), structured=invoice.structured_communication)])
    monkeypatch.setattr(banking, "AT_ONCE_BYTES", 100)  # this small file counts as large
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}  # no worker yet
    response = upload(officer, data, "statement.xml")
    started = BankImport.objects.get()
    assert started.state == BankImport.State.QUEUED and started.task_id and started.size == len(data)
    assert response.redirect_chain[-1][0] == f"/workplace/bank/imports/{started.pk}/"
    assert "Waiting for the background worker" in text(response)
    assert officer.get(f"/workplace/bank/imports/{started.pk}/result/")["Location"].endswith(f"/{started.pk}/")
    assert not BankLine.objects.exists()

    banking.bank_import_run(import_id=started.pk)  # what the worker does
    banking.bank_import_run(import_id=started.pk)  # queued twice: the second run leaves it as it is
    done = officer.get(f"/workplace/bank/imports/{started.pk}/", follow=True)
    assert "Imported." in text(done)
    assert (done.context["summary"].lines, done.context["summary"].allocated) == (1, 1)
    assert StatementFile.objects.get().format == "camt053" and Allocation.objects.get().invoice == invoice


def test_a_large_file_goes_through_the_task_queue(officer: Client, medilab: Operator, monkeypatch: Any) -> None:
    monkeypatch.setattr(banking, "AT_ONCE_BYTES", 100)
    response = upload(officer, coda([Payment(Decimal("12.00"), free_text="x")]), "big.cod")
    started = BankImport.objects.get()
    assert started.task_id  # enqueued (the tests' immediate backend ran it)
    assert "Imported." in text(response) and BankLine.objects.count() == 1


def _coda_wrong_closing_balance() -> bytes:
    records = coda([Payment(Decimal("10.00")), Payment(Decimal("5.00"))]).decode("windows-1252").splitlines()
    # record 8, positions 43-57: the new balance. 1,000.00 + 10.00 + 5.00 = 1,015.00 is right; 1,016.00 is written
    eight = records[-2]
    records[-2] = eight[:42] + "000000001016000" + eight[57:]
    return ("\n".join(records) + "\n").encode("windows-1252")


def test_a_file_that_does_not_add_up_is_refused_in_words_and_nothing_is_stored(officer: Client) -> None:
    response = upload(officer, _coda_wrong_closing_balance(), "wrong.cod")
    page = text(response)
    assert "Refused: nothing was imported." in page
    refused = BankImport.objects.get()
    assert refused.state == BankImport.State.FAILED and bytes(refused.data) == b""
    # which statement, line and figure: record 8 is the 9th line (0, 1, 21/22/23 twice, 8)
    assert refused.message.startswith("wrong.cod was not imported: statement 001 of account BE71096123456769, line 9")
    assert "1,016.00" in refused.message and "1,015.00" in refused.message
    assert refused.message in page
    assert not StatementFile.objects.exists() and not BankLine.objects.exists()


def test_not_a_statement_at_all_is_refused(officer: Client) -> None:
    response = upload(officer, b"%PDF-1.4 not a statement", "invoice.pdf")
    assert "Refused: nothing was imported." in text(response)
    assert not StatementFile.objects.exists()


def test_the_refusal_is_in_the_language_of_whoever_uploaded_it() -> None:
    member = staff("officier", FINANCE_OFFICER)
    client = staff_client(member, language="fr")
    upload(client, _coda_wrong_closing_balance(), "faux.cod")
    assert "faux.cod" in BankImport.objects.get().message
    assert BankImport.objects.get().language == "fr"


def test_the_same_day_received_again_as_camt_waits_in_the_queue_as_possible_duplicates(
    officer: Client, medilab: Operator
) -> None:
    import datetime

    invoice = invoice_for(medilab, "100.00")
    day = [Payment(Decimal("100.00"), structured=invoice.structured_communication)]
    upload(officer, coda(day, statement=7, day=datetime.date(2026, 1, 15)), "day.cod")
    response = upload(officer, camt053(day, statement_id="2026-015", version=8), "day.xml")
    # the movement is kept as a fact but not allocated twice: 1 new line, 0 allocated, 1 waiting as a twin
    summary = response.context["summary"]
    assert (summary.lines, summary.allocated, summary.queued) == (1, 0, 1)
    assert summary.reasons[0][0].startswith("Possible duplicate of line") and "day.cod" in summary.reasons[0][0]
    assert Allocation.objects.get().invoice == invoice
    statement = response.context["upload"].statement
    assert f"?reason=duplicate&amp;file={statement.pk}" in text(response)  # the result links to its duplicates
    twins = officer.get("/workplace/bank/queue/?reason=duplicate")
    assert [r[0].statement_file.name for r in twins.context["rows"]] == ["day.xml"]
    assert officer.get("/workplace/bank/queue/?reason=credit").context["rows"] == []


# --- the queue --------------------------------------------------------------------------------------------------


@pytest.fixture
def waiting(medilab: Operator) -> dict[str, Any]:
    """An open invoice of 100.00, a payment of 100.00 that names it only in words, one in dollars, a debit."""
    invoice = invoice_for(medilab, "100.00")
    statement_import(
        data=coda(
            [
                Payment(Decimal("100.00"), payer="Medilab NV", free_text=f"invoice {invoice.number}"),
                Payment(Decimal("-7.50"), payer="Bank", payer_account="", free_text="fees"),
            ]
        ),
        name="eur.cod",
    )
    statement_import(data=coda([Payment(Decimal("55.00"))], currency="USD", statement=2), name="usd.cod")
    payment = BankLine.objects.get(amount=Decimal("100.00"))
    return {"invoice": invoice, "payment": payment, "debit": BankLine.objects.get(amount=Decimal("-7.50"))}


def test_the_queue_shows_each_line_with_its_reason_and_ranked_suggestions(
    officer: Client, waiting: dict[str, Any]
) -> None:
    response = officer.get("/workplace/bank/queue/")
    page = text(response)
    assert "3 lines wait" in page
    assert "BE62510007547061" in page and "Medilab NV" in page  # payer and IBAN
    assert "No valid structured communication." in page
    assert "In USD, not euro" in page and "A debit: money leaving the account." in page
    assert f"Allocate to {waiting['invoice'].number}" in page  # the suggestion from the invoice number in words
    (_line, _reason, proposals) = next(r for r in response.context["rows"] if r[0].pk == waiting["payment"].pk)
    assert proposals[0].invoice == waiting["invoice"] and proposals[0].amount == Decimal("100.00")

    dollars = officer.get("/workplace/bank/queue/?currency=USD")
    assert "1 line waits" in text(dollars) and [r[0].currency for r in dollars.context["rows"]] == ["USD"]
    debits = officer.get("/workplace/bank/queue/?reason=debit")
    assert [r[0].pk for r in debits.context["rows"]] == [waiting["debit"].pk]
    credits = officer.get("/workplace/bank/queue/?reason=credit")
    assert [r[0].pk for r in credits.context["rows"]] == [waiting["payment"].pk]


def accept(client: Client, line: BankLine, invoice: Invoice, amount: str = "100.00", seen: str = "0.00") -> Any:
    return client.post(
        f"/workplace/bank/lines/{line.pk}/allocate/",
        {"invoice": invoice.pk, "amount": amount, "seen": seen},
        follow=True,
    )


def test_a_suggestion_is_accepted_in_one_click_and_a_second_click_allocates_nothing(
    officer: Client, waiting: dict[str, Any]
) -> None:
    line, invoice = waiting["payment"], waiting["invoice"]
    first = accept(officer, line, invoice)
    assert f"100,00\u00a0€ of the payment of Medilab NV allocated to {invoice.number}." in messages_of(first)
    second = accept(officer, line, invoice)  # the same form posted again (double click, second tab)
    assert any("allocated in the meantime" in m for m in messages_of(second))
    assert list(Allocation.objects.filter(bank_line=line).values_list("amount", flat=True)) == [Decimal("100.00")]
    assert "2 lines wait" in text(second)  # the payment left the queue


def test_a_partial_suggestion_clicked_twice_does_not_pay_the_invoice_twice(officer: Client, medilab: Operator) -> None:
    invoice = invoice_for(medilab, "40.00")
    statement_import(data=coda([Payment(Decimal("100.00"), free_text=f"pays {invoice.number}")]), name="a.cod")
    line = BankLine.objects.get()
    # the suggestion is min(100.00 left on the line, 40.00 open on the invoice) = 40.00
    assert accept(officer, line, invoice, amount="40.00").status_code == 200
    accept(officer, line, invoice, amount="40.00")  # 100.00 − 40.00 = 60.00 would still cover it: refused by `seen`
    assert Allocation.objects.get().amount == Decimal("40.00")


def test_a_payment_is_allocated_by_hand_to_an_invoice_found_by_enterprise_number(
    officer: Client, waiting: dict[str, Any], medilab: Operator
) -> None:
    line = waiting["payment"]
    number = medilab.enterprise_number or ""
    found = officer.get(f"/workplace/bank/lines/{line.pk}/?q={number[:4]}.{number[4:7]}.{number[7:]}")
    page = text(found)
    assert waiting["invoice"].number in page and "Still to allocate" in page
    assert [c.invoice for c in found.context["candidates"] if c.invoice] == [waiting["invoice"]]
    by_communication = officer.get(f"/workplace/bank/lines/{line.pk}/?q={waiting['invoice'].formatted_communication}")
    assert [c.invoice for c in by_communication.context["candidates"]] == [waiting["invoice"]]
    response = officer.post(
        f"/workplace/bank/lines/{line.pk}/allocate/",
        {"invoice": waiting["invoice"].pk, "amount": "60,5", "seen": "0.00", "back": "line"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == f"/workplace/bank/lines/{line.pk}/"
    # 100.00 − 60.50 = 39.50 left on the line
    assert response.context["left"] == Decimal("39.50")
    rest = officer.post(
        f"/workplace/bank/lines/{line.pk}/allocate/",
        {"operator": medilab.pk, "amount": "39.50", "seen": "60.50", "back": "line"},
        follow=True,
    )
    assert "allocated to the account of Medilab NV" in " ".join(messages_of(rest))
    assert sorted(Allocation.objects.values_list("amount", flat=True)) == [Decimal("39.50"), Decimal("60.50")]


def test_a_wrong_amount_or_a_foreign_currency_line_allocates_nothing(officer: Client, waiting: dict[str, Any]) -> None:
    wrong = accept(officer, waiting["payment"], waiting["invoice"], amount="12.345")
    assert any("is not an amount" in m for m in messages_of(wrong))
    dollars = BankLine.objects.get(currency="USD")
    refused = accept(officer, dollars, waiting["invoice"], amount="55.00")
    assert any("USD" in m for m in messages_of(refused))
    assert not Allocation.objects.exists()


def test_a_line_is_handled_without_allocation_with_a_note_once(officer: Client, waiting: dict[str, Any]) -> None:
    debit = waiting["debit"]
    empty = officer.post(f"/workplace/bank/lines/{debit.pk}/handled/", {"note": ""}, follow=True)
    assert any("Say in a note why" in m for m in messages_of(empty)) and not LineReview.objects.exists()
    done = officer.post(f"/workplace/bank/lines/{debit.pk}/handled/", {"note": "bank fees of January"}, follow=True)
    assert "2 lines wait" in text(done)
    again = officer.post(f"/workplace/bank/lines/{debit.pk}/handled/", {"note": "twice"}, follow=True)
    assert any("already marked as handled" in m for m in messages_of(again))
    assert LineReview.objects.get().note == "bank fees of January"


@pytest.mark.django_db(transaction=True)
def test_two_tabs_accepting_at_once_allocate_once(medilab: Operator) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    invoice = invoice_for(medilab, "40.00")
    statement_import(data=coda([Payment(Decimal("100.00"), free_text=f"pays {invoice.number}")]), name="a.cod")
    line = BankLine.objects.get()
    clients = [staff_client(staff(f"tab-{n}", FINANCE_OFFICER)) for n in range(2)]
    barrier = threading.Barrier(2)
    codes: list[int] = []

    def click(client: Client) -> None:
        barrier.wait()
        try:
            codes.append(accept(client, line, invoice, amount="40.00").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=click, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [200, 200]
    assert list(Allocation.objects.values_list("amount", flat=True)) == [Decimal("40.00")]


# --- refunds (D12) ----------------------------------------------------------------------------------------------


@pytest.fixture
def in_credit() -> Operator:
    refundia = belgian("Refundia NV", email="finance@refundia.example")
    invoice = invoice_for(refundia, "100.00", year=2023)
    paid = Payment(Decimal("130.00"), payer="Refundia NV", structured=invoice.structured_communication)
    statement_import(data=coda([paid], statement=5), name="refundia.cod")
    return refundia  # 100.00 invoiced − 130.00 paid = 30.00 in credit


def test_a_refund_is_recorded_exported_once_and_marked_sent(officer: Client, in_credit: Operator) -> None:
    page = officer.get("/workplace/bank/refunds/")
    assert [(op, amount) for op, amount, _iban, _name in page.context["balances"]] == [(in_credit, Decimal("30.00"))]
    bad = officer.post("/workplace/bank/refunds/record/", {"operator": in_credit.pk, "iban": "BE00 1234"}, follow=True)
    assert any("is not a valid IBAN" in m for m in messages_of(bad)) and not Refund.objects.exists()
    ok = officer.post(
        "/workplace/bank/refunds/record/", {"operator": in_credit.pk, "iban": "be68 5390 0754 7034"}, follow=True
    )
    assert any("Refund of 30,00\u00a0€ to Refundia NV recorded (BE68539007547034)" in m for m in messages_of(ok))
    twice = officer.post("/workplace/bank/refunds/record/", {"operator": in_credit.pk, "iban": ""}, follow=True)
    assert any("has no credit balance to refund" in m for m in messages_of(twice))
    assert Refund.objects.get().amount == Decimal("30.00")
    assert "1 refund waits to be exported." in text(twice)

    exported = officer.post("/workplace/bank/refunds/export/", follow=True)
    export = RefundExport.objects.get()
    assert any(export.message_id in m for m in messages_of(exported))
    nothing = officer.post("/workplace/bank/refunds/export/", follow=True)
    assert any("nothing new was exported" in m for m in messages_of(nothing)) and RefundExport.objects.count() == 1
    file = officer.get(f"/workplace/bank/refunds/exports/{export.pk}/file/")
    assert file["Content-Disposition"] == f'attachment; filename="{export.message_id}.xml"'
    body = file.content.decode()
    assert "pain.001" in body and '<InstdAmt Ccy="EUR">30.00</InstdAmt>' in body and "BE68539007547034" in body

    sent = officer.post(f"/workplace/bank/refunds/exports/{export.pk}/sent/", follow=True)
    assert any("1 refunds of" in m for m in messages_of(sent))
    assert Refund.objects.get().state == Refund.State.SENT
    again = officer.post(f"/workplace/bank/refunds/exports/{export.pk}/sent/", follow=True)
    assert any("marked sent already" in m for m in messages_of(again))


# --- who may ------------------------------------------------------------------------------------------------------

READ_PAGES = ["/workplace/bank/queue/", "/workplace/bank/refunds/"]


@pytest.mark.parametrize("role", [FINANCE_OFFICER, AUDITOR, SUPPORT, ADMINISTRATOR])
def test_every_role_reads_only_manage_payments_acts(role: str, waiting: dict[str, Any], in_credit: Operator) -> None:
    client = staff_client(staff(f"r-{role}", role))
    acts = role in {FINANCE_OFFICER, ADMINISTRATOR}
    line, invoice = waiting["payment"], waiting["invoice"]
    statement_import(data=coda([Payment(Decimal("1.00"))], statement=9), name="one")
    upload_ = BankImport.objects.create(name="x", size=1, created_by=staff(f"u-{role}", None), state="done")
    reads = [*READ_PAGES, f"/workplace/bank/lines/{line.pk}/", f"/workplace/bank/imports/{upload_.pk}/result/"]
    for url in reads:
        response = client.get(url)
        assert response.status_code == 200, (role, url)
        offers_to_act = "Mark as handled" in text(response) or "Record the refund" in text(response)
        assert offers_to_act == (acts and "/imports/" not in url), (role, url)
    assert client.get("/workplace/bank/import/").status_code == (200 if acts else 403)
    before = (
        Allocation.objects.count(),
        LineReview.objects.count(),
        Refund.objects.count(),
        BankImport.objects.count(),
    )
    posts = {
        f"/workplace/bank/lines/{line.pk}/allocate/": {"invoice": invoice.pk, "amount": "1.00", "seen": "0.00"},
        f"/workplace/bank/lines/{waiting['debit'].pk}/handled/": {"note": "seen"},
        "/workplace/bank/refunds/record/": {"operator": in_credit.pk, "iban": ""},
        "/workplace/bank/refunds/export/": {},
        "/workplace/bank/import/": {"file": SimpleUploadedFile("b.cod", coda([Payment(Decimal("2.00"))], statement=8))},
    }
    for url, data in posts.items():
        status = client.post(url, data).status_code
        assert status == (302 if acts else 403), (role, url, status)
    after = (Allocation.objects.count(), LineReview.objects.count(), Refund.objects.count(), BankImport.objects.count())
    if acts:
        assert after == (before[0] + 1, before[1] + 1, before[2] + 1, before[3] + 1)
    else:
        assert after == before
    for url in (f"/workplace/bank/lines/{line.pk}/allocate/", "/workplace/bank/refunds/export/"):
        assert client.get(url).status_code == 405  # POST only


def test_the_dashboard_and_the_operator_page_link_to_the_workplace_bank_pages(
    officer: Client, in_credit: Operator
) -> None:
    from tests.portal.factories import campaign

    campaign(2025)
    dashboard = text(officer.get("/workplace/2025/"))
    for url in ("/workplace/bank/import/", "/workplace/bank/queue/", "/workplace/bank/refunds/"):
        assert f'href="{url}"' in dashboard, url
    assert "/admin/payments/" not in dashboard
    operator_page = text(officer.get(f"/workplace/operators/{in_credit.pk}/"))
    assert 'href="/workplace/bank/refunds/"' in operator_page and "/admin/payments/" not in operator_page
