"""A company in a real Chromium: invitation link → declaration → estimate → correction; axe-core on each page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from famhp.declarations.models import DeclarationVersion
from famhp.declarations.services import invitation_token
from tests.browser import BROWSER, serious_violations
from tests.portal.factories import PDF, belgian, campaign, with_activity

pytestmark = BROWSER


@pytest.mark.django_db(transaction=True)
def test_a_company_declares_sees_its_estimate_and_corrects(browser: Any, live_server: Any, tmp_path: Path) -> None:
    operator = with_activity(belgian("Medilab NV", language="en"), role="manufacturer", category="MDR IIa")
    c = campaign()
    certificate = tmp_path / "certificate.pdf"
    certificate.write_bytes(PDF)
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    checked: dict[str, list[str]] = {}

    page.goto(
        live_server.url + reverse("declarations:invitation", args=[invitation_token(campaign=c, operator=operator)])
    )
    assert page.locator("h1").inner_text() == "Turnover declaration 2025"
    checked["figures"] = serious_violations(page)

    # Keyboard only on the first step: labels lead to the fields, Enter submits.
    page.get_by_label("Total annual turnover of medical devices in Belgium (euro)").fill("100000.00")
    page.keyboard.press("Tab")
    page.keyboard.type("100000.00")
    page.keyboard.press("Enter")
    page.wait_for_url("**/confirm/")
    estimate = page.locator("table.estimate").inner_text()
    # 4 entities × 415.74 = 1,662.96; 100,000.00 × 0.3073 % = 307.30; 1,970.26 — written the Belgian way.
    assert "1.662,96" in estimate and "307,30" in estimate and "1.970,26" in estimate
    assert page.locator("ol.explanation li").count() >= 5
    checked["estimate"] = serious_violations(page)

    page.get_by_label("Name of the company auditor or accountant").fill("An Peeters")
    page.get_by_label("Capacity").select_option("company_auditor")
    page.get_by_label("Signed certificate (PDF, at most 5 MB)").set_input_files(str(certificate))
    page.get_by_label("I confirm that these figures are correct and certified.").check()
    page.get_by_role("button", name="Submit my declaration").click()
    page.wait_for_url("**/versions/?submitted=1")
    assert "version 1" in page.locator("[role=status]").inner_text()
    checked["versions"] = serious_violations(page)

    # A correction: back to the figures, prefilled with version 1, then a second version.
    page.get_by_role("link", name="Correct my declaration").click()
    assert page.get_by_label("Total annual turnover of medical devices in Belgium (euro)").input_value() == (
        "100.000,00"
    )
    page.get_by_label("Total annual turnover of medical devices in Belgium (euro)").fill("120000.00")
    page.get_by_label(
        "Annual turnover from the sale and supply of medical devices to retailers and end users in Belgium (euro)"
    ).fill("90000.00")
    page.get_by_role("button", name="Next: see my estimate").click()
    page.wait_for_url("**/confirm/")
    # 90,000.00 × 0.3073 % = 276.57; 1,662.96 + 276.57 = 1,939.53.
    assert "1.939,53" in page.locator("table.estimate").inner_text()
    page.get_by_label("Signed certificate (PDF, at most 5 MB)").set_input_files(str(certificate))
    page.get_by_label("I confirm that these figures are correct and certified.").check()
    page.get_by_role("button", name="Submit my declaration").click()
    page.wait_for_url("**/versions/?submitted=2")
    assert page.locator("table.stack tbody tr").count() == 2
    assert [v.number for v in DeclarationVersion.objects.order_by("number")] == [1, 2]

    # An error tied to its field, announced to screen readers.
    page.get_by_role("link", name="Correct my declaration").click()
    page.get_by_label("Total annual turnover of medical devices in Belgium (euro)").fill("1000")
    page.get_by_label(
        "Annual turnover from the sale and supply of medical devices to retailers and end users in Belgium (euro)"
    ).fill("2000")
    page.get_by_role("button", name="Next: see my estimate").click()
    field = page.get_by_label(
        "Annual turnover from the sale and supply of medical devices to retailers and end users in Belgium (euro)"
    )
    assert field.get_attribute("aria-invalid") == "true"
    assert "id_levied_turnover_error" in (field.get_attribute("aria-describedby") or "")
    checked["figures with errors"] = serious_violations(page)

    page.goto(live_server.url + "/")
    checked["home"] = serious_violations(page)
    context.close()
    assert checked == {name: [] for name in checked}, checked


@pytest.mark.django_db(transaction=True)
def test_access_denied_page_is_accessible_in_dutch(browser: Any, live_server: Any) -> None:
    context = browser.new_context(locale="nl-BE")
    page = context.new_page()
    response = page.goto(live_server.url + "/invitation/not-a-valid-token/")
    assert response is not None and response.status == 403
    assert page.locator("html").get_attribute("lang") == "nl"
    assert "support.portal@fagg-afmps.be" in page.content()
    assert serious_violations(page) == []
    context.close()
