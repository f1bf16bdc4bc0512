"""The finance officer's year in Chromium, from the workplace (issue 12): dashboard → invitations → reminders →
assessment → notices → closing decision → levy invoices → bank statement → queue → refund; axe-core on each
workplace page; screenshots of the dashboard and an operator page kept under test-artefacts/workplace/."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core import mail

from famhp.accounts.roles import FINANCE_OFFICER
from famhp.billing.models import Invoice, InvoiceKind
from famhp.billing.services import year_settings_from_builtin
from famhp.declarations.models import Campaign
from famhp.declarations.services import Figures
from famhp.payments.models import Refund
from famhp.payments.samples import Payment, camt053
from famhp.registry.models import Operator
from tests.accounts.conftest import staff, staff_client
from tests.billing.test_invoicing import confirm_all
from tests.browser import BROWSER, serious_violations
from tests.portal.factories import belgian, campaign, declare, with_activity

pytestmark = BROWSER
ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artefacts" / "workplace"


def confirm_action(page: Any, base: str, kind: str) -> str:
    """Open an action's preview, check it, confirm it; returns the result page's text."""
    page.goto(f"{base}/workplace/2025/actions/{kind}/")
    page.get_by_label("I have checked the list above: run this action.").check()
    page.get_by_role("button", name="Confirm and run").click()
    page.wait_for_url(re.compile(r".*/workplace/actions/\d+/(result/)?$"))
    return str(page.get_by_role("main").inner_text())


@pytest.mark.django_db(transaction=True)
def test_the_finance_officers_year_from_the_workplace(browser: Any, live_server: Any) -> None:
    c = campaign(2025)
    alpha = with_activity(belgian("Alpha NV", email="alpha@x.example", language="en"), category="MDR IIa")
    bravo = with_activity(belgian("Bravo BV", email="bravo@x.example"), role="distributor", category="MDR I")
    with_activity(belgian("Charlie NV", email="charlie@x.example"), role="importer", category="MDR I")
    settings = year_settings_from_builtin(2025)
    settings.administrative_fine = Decimal("250.00")  # an assumption of the test: no source gives the fine
    settings.save()
    confirm_all(2025)
    officer = staff_client(staff("officer", FINANCE_OFFICER))
    context = browser.new_context(locale="en-GB", viewport={"width": 1400, "height": 1000})
    context.add_cookies(
        [
            {
                "name": django_settings.SESSION_COOKIE_NAME,
                "value": officer.cookies["sessionid"].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    refused: list[str] = []  # what the Content-Security-Policy blocked (an inline script or style)
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    base = live_server.url
    violations: dict[str, list[str]] = {}

    page.goto(f"{base}/workplace/2025/")
    assert "2. campaign open" in page.get_by_role("main").inner_text()
    violations["dashboard (campaign)"] = serious_violations(page)

    page.goto(f"{base}/workplace/2025/actions/invitations/")
    assert "3 items will be handled" in page.get_by_role("main").inner_text()
    violations["preview"] = serious_violations(page)
    result = confirm_action(page, base, "invitations")
    assert "Done" in result and len(mail.outbox) == 3
    violations["result"] = serious_violations(page)

    # the companies declare: Alpha and Bravo (Charlie does not)
    now = datetime.datetime(2025, 5, 2, 9, tzinfo=datetime.UTC)
    declare(Campaign.objects.get(year=2025), alpha, now=now)
    declare(c, bravo, Figures(Decimal("30000.00"), Decimal("30000.00"), True, False), now=now)
    mail.outbox.clear()
    confirm_action(page, base, "reminders")
    assert [m.to for m in mail.outbox] == [["charlie@x.example"]]

    page.goto(f"{base}/workplace/2025/")
    page.get_by_role("button", name="Run the assessment").first.click()
    page.wait_for_url(re.compile(r".*/workplace/runs/\d+/$"))
    assert "This is the first run of the year." in page.get_by_role("main").inner_text()
    violations["run"] = serious_violations(page)

    result = confirm_action(page, base, "notices")
    # D3 at 415.74 per entity: Alpha 4 entities 1,662.96; Bravo 1 entity 415.74; Charlie 3 entities 1,247.22
    assert Invoice.objects.filter(kind=InvoiceKind.ACTIVITY_TAX).count() == 3

    page.goto(f"{base}/workplace/2025/closing/")
    page.get_by_label("not lowered (the maximum applies)").check()
    page.get_by_label("Date of the decision").fill("2026-02-15")
    page.get_by_label("Reference of the decision").fill("Decision 2026/12")
    page.get_by_label("I confirm this decision", exact=False).check()
    violations["closing"] = serious_violations(page)
    page.get_by_role("button", name="Record the closing decision").click()
    page.wait_for_url(f"{base}/workplace/2025/")
    page.get_by_role("button", name="Run the assessment").first.click()
    page.wait_for_url(re.compile(r".*/workplace/runs/\d+/$"))
    result = confirm_action(page, base, "levy_invoices")
    assert "Done" in result
    levy = Invoice.objects.filter(kind=InvoiceKind.TURNOVER_LEVY).count()
    assert levy >= 1  # Alpha's levy; Bravo is exempt (30,000 below the threshold), Charlie has only its fine (D9)

    # the bank: Bravo pays its notice and 50.00 more; Alpha pays its notice without the structured communication
    notice_bravo = Invoice.objects.get(kind=InvoiceKind.ACTIVITY_TAX, operator=bravo)
    notice_alpha = Invoice.objects.get(kind=InvoiceKind.ACTIVITY_TAX, operator=alpha)
    statement = camt053(
        [
            Payment(
                notice_bravo.total + Decimal("50.00"),
                payer="Bravo BV",
                structured=notice_bravo.structured_communication,
            ),
            Payment(notice_alpha.total, payer="Alpha NV", free_text=f"notice {notice_alpha.number}"),
        ]
    )
    file = ARTEFACTS.parent / "statement.xml"
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_bytes(statement)
    page.goto(f"{base}/workplace/2025/")
    page.get_by_role("link", name="Import a bank statement").click()
    page.wait_for_url(f"{base}/workplace/bank/import/")
    violations["bank import"] = serious_violations(page)
    page.get_by_label("Bank statement (CODA or camt.053)").set_input_files(str(file))
    page.get_by_role("button", name="Import", exact=True).click()
    page.wait_for_url(re.compile(r".*/workplace/bank/imports/\d+/result/$"))
    result = " ".join(page.get_by_role("main").inner_text().split())
    # 2 lines: Bravo's by its structured communication, Alpha's waits (no structured communication)
    assert "New bank lines 2" in result and "Allocated to their invoice on import 1" in result
    assert "Waiting in the queue now 1" in result and "No valid structured communication." in result
    violations["bank result"] = serious_violations(page)
    page.get_by_role("link", name="Allocate from the queue").click()
    page.wait_for_url(f"{base}/workplace/bank/queue/")
    queue = page.get_by_role("main").inner_text()
    assert "Alpha NV" in queue and "1 line waits" in queue
    violations["bank queue"] = serious_violations(page)
    page.get_by_role("link", name="Allocate by hand").click()
    page.get_by_label("Enterprise number, name, invoice number or structured communication").fill("Alpha")
    page.get_by_role("button", name="Search").click()
    assert notice_alpha.number in page.get_by_role("main").inner_text()
    violations["bank line (search)"] = serious_violations(page)
    page.get_by_role("link", name="Back to the queue").click()
    page.get_by_role("button", name=f"Allocate to {notice_alpha.number}").click()
    page.wait_for_url(f"{base}/workplace/bank/queue/")
    assert "Nothing waits" in page.get_by_role("main").inner_text()
    assert [a.amount for a in notice_alpha.allocations.all()] == [notice_alpha.total]

    page.get_by_role("navigation", name="Workplace").get_by_role("link", name="Refunds").click()
    page.wait_for_url(f"{base}/workplace/bank/refunds/")
    violations["refunds"] = serious_violations(page)
    page.get_by_role("button", name="Refund 50,00\u00a0€").click()
    page.wait_for_url(f"{base}/workplace/bank/refunds/")
    assert Refund.objects.get(operator=bravo).amount == Decimal("50.00")  # 465.74 paid − 415.74 due
    page.get_by_role("button", name="Export them for the bank (pain.001)").click()
    page.wait_for_url(f"{base}/workplace/bank/refunds/")
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("^Download")).click()
    assert download.value.suggested_filename.startswith("FAMHP-REFUND-")
    page.get_by_role("button", name="The bank executed it: mark sent").click()
    page.wait_for_url(f"{base}/workplace/bank/refunds/")
    assert Refund.objects.get(operator=bravo).state == Refund.State.SENT
    violations["refunds (sent)"] = serious_violations(page)

    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{base}/workplace/2025/")
    violations["dashboard (year)"] = serious_violations(page)
    page.screenshot(path=str(ARTEFACTS / "dashboard.png"), full_page=True)
    page.goto(f"{base}/workplace/operators/{Operator.objects.get(name='Bravo BV').pk}/")
    body = page.get_by_role("main").inner_text()
    assert "Refunds" in body and "50,00\u00a0€" in body
    violations["operator"] = serious_violations(page)
    page.screenshot(path=str(ARTEFACTS / "operator.png"), full_page=True)
    page.goto(f"{base}/workplace/lists/invoices/?year=2025")
    violations["invoices"] = serious_violations(page)
    page.goto(f"{base}/workplace/2025/what-if/?budget=&activity_tax_share=0.25&max_levy_rate=0.003&cost_per_entity=400")
    violations["what-if"] = serious_violations(page)
    page.screenshot(path=str(ARTEFACTS / "what-if.png"), full_page=True)
    page.goto(f"{base}/workplace/2025/runs/")
    page.get_by_role("link", name=re.compile(r"^#\d+")).first.click()
    violations["run (levy)"] = serious_violations(page)
    page.screenshot(path=str(ARTEFACTS / "run.png"), full_page=True)
    context.close()
    assert all(not found for found in violations.values()), violations
    assert refused == []
