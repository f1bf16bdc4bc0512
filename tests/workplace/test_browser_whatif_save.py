"""Saving a what-if in Chromium, by keyboard (issue 12): what-if → "Save these parameters" → the confirmation
step → saved; axe-core on both pages, nothing blocked by the Content-Security-Policy."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from typing import Any

import pytest

from famhp.accounts.roles import FINANCE_OFFICER
from famhp.billing.models import YearSettings
from famhp.billing.services import assessment_run, year_settings_from_builtin
from tests.accounts.conftest import staff, staff_client
from tests.billing.test_invoicing import confirm_all
from tests.browser import BROWSER, serious_violations, staff_page_in
from tests.portal.factories import belgian, campaign, declare, with_activity

pytestmark = BROWSER


@pytest.mark.django_db(transaction=True)
def test_the_finance_officer_saves_a_what_if_by_keyboard(browser: Any, live_server: Any) -> None:
    c = campaign(2025)
    alpha = with_activity(belgian("Alpha NV"), category="MDR IIa")
    declare(c, alpha, now=datetime.datetime(2025, 5, 2, 9, tzinfo=datetime.UTC))
    year_settings_from_builtin(2025)
    confirm_all(2025)
    assessment_run(year=2025)
    officer = staff_client(staff("officer", FINANCE_OFFICER))
    context, page, refused = staff_page_in(browser, live_server, officer)
    base = live_server.url
    violations: dict[str, list[str]] = {}

    page.goto(f"{base}/workplace/2025/what-if/?budget=&activity_tax_share=0.25&max_levy_rate=0.003&cost_per_entity=400")
    violations["what-if"] = serious_violations(page)
    page.get_by_role("button", name="Save these parameters for 2025").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/workplace/2025/what-if/save/")
    main = " ".join(page.get_by_role("main").inner_text().split())
    # 0.003073 → 0.003 (shown as percentages) and 415.74 → 400.00
    assert "maximum levy rate 0,3073 % 0,30 %" in main and "cost per entity 415,74 € 400,00 €" in main
    violations["confirmation"] = serious_violations(page)
    page.get_by_label("Reason (kept in the year's history)").fill("Budget talks")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # the box "also confirm these parameters", reached by Tab
    assert page.get_by_label(re.compile("^Also confirm these parameters")).is_checked()
    page.get_by_role("button", name="Save these parameters for 2025").press("Enter")
    page.wait_for_url(f"{base}/workplace/2025/runs/")
    assert "The settings of 2025 are saved" in page.get_by_role("main").inner_text()
    context.close()
    settings = YearSettings.objects.get(year=2025)
    assert (settings.max_levy_rate, settings.cost_per_entity) == (Decimal("0.003"), Decimal("400.00"))
    record = settings.history.first()
    assert record is not None and record.history_change_reason == "Budget talks"
    assert all(not found for found in violations.values()), violations
    assert refused == []
