"""The campaign's dates in Chromium, by keyboard: the settings page's link → the form (native date inputs) →
saved with a reason → back on the settings page with the new date; axe-core on the form, with and without an
error, nothing blocked by the Content-Security-Policy."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from famhp.accounts.roles import FINANCE_OFFICER
from famhp.billing.services import year_settings_from_builtin
from famhp.declarations.models import Campaign
from tests.accounts.conftest import staff, staff_client
from tests.browser import BROWSER, serious_violations, staff_page_in
from tests.portal.factories import campaign

pytestmark = BROWSER


@pytest.mark.django_db(transaction=True)
def test_the_finance_officer_extends_the_late_filing_date_by_keyboard(browser: Any, live_server: Any) -> None:
    campaign(2025)
    year_settings_from_builtin(2025)
    officer = staff_client(staff("officer", FINANCE_OFFICER))
    context, page, refused = staff_page_in(browser, live_server, officer)
    base = live_server.url
    violations: dict[str, list[str]] = {}

    page.goto(f"{base}/workplace/2025/settings/")
    page.get_by_role("link", name="Change the campaign's dates").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/workplace/2025/settings/campaign/")
    violations["form"] = serious_violations(page)

    late = page.get_by_label("Late filings and corrections accepted until")
    late.fill("2025-06-01")  # before the deadline: refused on the form
    page.get_by_label("Reason of the change (kept in the campaign's history)").fill("Extension decided 3 Nov")
    page.get_by_role("button", name="Save the dates").press("Enter")
    page.wait_for_load_state()
    assert "The late-filing date cannot be before the deadline." in page.get_by_role("main").inner_text()
    violations["error"] = serious_violations(page)

    page.get_by_label("Late filings and corrections accepted until").fill("2026-01-31")
    page.get_by_label("Reason of the change (kept in the campaign's history)").fill("Extension decided 3 Nov")
    page.get_by_role("button", name="Save the dates").press("Enter")
    page.wait_for_url(f"{base}/workplace/2025/settings/")
    main = page.get_by_role("main").inner_text()
    assert "The campaign's dates of 2025 are saved." in main and "31/01/2026" in main
    context.close()
    assert Campaign.objects.get(year=2025).late_filing_until == datetime.date(2026, 1, 31)
    assert all(not found for found in violations.values()), violations
    assert refused == []
