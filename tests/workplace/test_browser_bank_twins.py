"""A possible duplicate in Chromium (ADR 12 addendum, review): the queue narrowed to one file's duplicates, the
line page that allocates only with the tick box "this is a second payment", the page that handles a file's
duplicates at once; axe-core on each. The same day is imported as CODA and as camt.053 (famhp.payments.samples,
written from the standards' layouts)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings as django_settings

from famhp.accounts.roles import FINANCE_OFFICER
from famhp.payments.models import Allocation, BankLine, LineReview
from famhp.payments.samples import Payment, camt053, coda
from famhp.payments.selectors import invoice_status
from famhp.payments.services import statement_import
from tests.accounts.conftest import staff, staff_client
from tests.browser import BROWSER, serious_violations
from tests.portal.factories import belgian, invoice_for

pytestmark = BROWSER


@pytest.mark.django_db(transaction=True)
def test_a_possible_duplicate_is_decided_by_a_person(browser: Any, live_server: Any) -> None:
    operator = belgian("Medilab NV", language="en")
    i = invoice_for(operator, "100.00", sequence=1)
    j = invoice_for(operator, "100.00", sequence=2)
    day = [
        Payment(Decimal("100.00"), structured=i.structured_communication),
        Payment(Decimal("5.00"), free_text="no reference"),
    ]
    statement_import(data=coda(day, statement=7), name="day.coda")
    other, _new = statement_import(data=camt053(day, statement_id="2026-015"), name="day.xml")
    twin = BankLine.objects.get(statement_file=other, amount=Decimal("100.00"))
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
    base = live_server.url
    violations: dict[str, list[str]] = {}

    page.goto(f"{base}/workplace/bank/queue/?reason=duplicate&file={other.pk}")
    assert "None: open the line to decide whether it is a second payment." in page.inner_text("main")
    violations["queue of one file"] = serious_violations(page)

    page.goto(f"{base}/workplace/bank/lines/{twin.pk}/?q={j.number}")
    violations["twin line"] = serious_violations(page)
    page.get_by_role("button", name="Allocate").first.click()  # the browser asks for the tick box first
    assert not Allocation.objects.filter(bank_line=twin).exists()
    page.get_by_label("This is a second payment, not the same one again").first.check()
    page.get_by_role("button", name="Allocate").first.click()
    page.wait_for_load_state()
    assert f"allocated to {j.number}" in page.inner_text("main")
    assert invoice_status(j) == "paid" and invoice_status(i) == "paid"

    page.goto(f"{base}/workplace/bank/files/{other.pk}/duplicates/")
    assert "1 line of day.xml is the same movement" in " ".join(page.inner_text("main").split())
    violations["duplicates of a file"] = serious_violations(page)
    page.get_by_role("button", name="Handle 1 line as a duplicate").click()
    page.wait_for_url(f"{base}/workplace/bank/queue/")
    assert LineReview.objects.filter(bank_line__statement_file=other).count() == 1
    assert violations == {name: [] for name in violations}
