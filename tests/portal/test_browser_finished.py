"""The finished portal in a real Chromium (issue 13), in Dutch and French, at desktop and phone widths (375 and
320 px): Belgian amounts typed, the error summary, FAQ 6, the receipt, my companies, invoices with their status,
the statement with how to pay, the users page with its confirmation; on every page axe-core finds no serious
violation and nothing scrolls sideways. Screenshots are kept under test-artefacts/portal/."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from famhp.billing.models import InvoiceKind
from famhp.declarations.models import DeclarationVersion
from famhp.payments.samples import Payment, camt053
from famhp.payments.services import statement_import
from tests.accounts.conftest import manager_of, person
from tests.browser import BROWSER, serious_violations
from tests.portal.factories import PDF, belgian, campaign, invoice_for, with_activity

pytestmark = BROWSER
ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artefacts" / "portal"


def no_sideways_scrolling(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def look(page: Any, name: str, checked: dict[str, list[str]]) -> None:
    """axe-core's verdict and the sideways-scrolling check on this page, and its screenshot."""
    problems = serious_violations(page)
    if not no_sideways_scrolling(page):
        problems.append(f"scrolls sideways: {page.evaluate('document.documentElement.scrollWidth')} px")
    checked[name] = problems
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)


def logged_in(browser: Any, live_server: Any, who: Any, language: str, width: int) -> Any:
    """A browser context logged in as ``who`` through the federal login (its session made by Django's test
    client, its cookie handed to Chromium), speaking ``language`` at ``width`` pixels."""
    client = Client()
    client.force_login(who, backend="famhp.accounts.oidc.PersonOIDCBackend")
    context = browser.new_context(
        locale=f"{language}-BE", viewport={"width": width, "height": 800}, is_mobile=width < 600
    )
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            },
            {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url},
        ]
    )
    return context


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["nl", "fr"])
@pytest.mark.parametrize("width", [1280, 375, 320])
def test_the_finished_portal(browser: Any, live_server: Any, tmp_path: Path, language: str, width: int) -> None:
    operator = with_activity(belgian("Medilab NV", language=language), role="manufacturer", category="MDR IIa")
    campaign()
    boss = manager_of(operator, person("boss", "an.peeters@medilab.example"))
    person_id = boss.pk
    unpaid = invoice_for(operator, "1662.96", year=2025, kind=InvoiceKind.ACTIVITY_TAX)
    paid = invoice_for(operator, "307.30", year=2025, kind=InvoiceKind.TURNOVER_LEVY, sequence=2)
    statement_import(data=camt053([Payment(Decimal("307.30"), structured=paid.structured_communication)]), name="s")
    certificate = tmp_path / "certificate.pdf"
    certificate.write_bytes(PDF)
    context = logged_in(browser, live_server, boss, language, width)
    page = context.new_page()
    prefix = f"{language}-{width}"
    checked: dict[str, list[str]] = {}

    page.goto(live_server.url + reverse("accounts:companies"))
    assert "Medilab NV" in page.locator("main").inner_text()
    look(page, f"{prefix}-companies", checked)

    # Figures typed the Belgian way; below the threshold without the box, the box is asked for (FAQ 6).
    page.goto(live_server.url + reverse("declarations:figures", args=[2025, operator.pk]))
    page.locator("#id_total_turnover").fill("30.000,00")
    page.locator("#id_levied_turnover").fill("30 000,00")
    page.locator("main button.primary").click()
    summary = page.locator(".error-summary")
    assert summary.is_visible() and "FAQ 6" in summary.inner_text()
    assert "50.290,17" in summary.inner_text() or "50\u202f290,17" in summary.inner_text()
    look(page, f"{prefix}-figures-errors", checked)
    summary.get_by_role("link").first.click()
    assert page.evaluate("location.hash") == "#id_below_threshold"

    page.locator("#id_total_turnover").fill("1.234.567,89")
    page.locator("#id_levied_turnover").fill("1 000 000")
    page.locator("main button.primary").click()
    page.wait_for_url(re.compile(r".*/confirm/(#.*)?$"))  # a redirect keeps the summary link's fragment
    estimate = page.locator("table.estimate").inner_text()
    # 4 × 415.74 = 1,662.96 (D3); 1,000,000.00 × 0.3073 % = 3,073.00 (D5); total 4,735.96
    assert "4.735,96" in estimate or "4\u202f735,96" in estimate
    assert "D5" not in page.locator("ol.explanation").inner_text()
    look(page, f"{prefix}-estimate", checked)

    page.locator("#id_certifier_name").fill("An Peeters")
    page.locator("#id_certifier_capacity").select_option("company_auditor")
    page.locator("#id_certificate").set_input_files(str(certificate))
    page.locator("#id_confirm").check()
    page.locator("main button.primary").click()
    page.wait_for_url(re.compile(r".*/versions/\?submitted=1(#.*)?$"))
    receipt = page.locator(".receipt").inner_text()
    assert ("4.735,96" in receipt or "4\u202f735,96" in receipt) and "An Peeters" in receipt
    look(page, f"{prefix}-receipt", checked)
    assert DeclarationVersion.objects.get().total_turnover == Decimal("1234567.89")

    page.goto(live_server.url + reverse("billing:invoices", args=[operator.pk]))
    assert unpaid.number in page.locator("main").inner_text()
    look(page, f"{prefix}-invoices", checked)

    page.goto(live_server.url + reverse("payments:statement", args=[operator.pk]))
    assert page.locator("img.epc").count() == 1 and unpaid.formatted_communication in page.content()
    look(page, f"{prefix}-statement", checked)

    page.goto(live_server.url + reverse("accounts:company_users", args=[operator.pk]))
    look(page, f"{prefix}-users", checked)
    page.locator("#id_grant-email").fill("sofie@medilab.example")
    page.locator("#id_grant-email").press("Enter")
    assert page.locator("input[name=confirmed]").count() == 1
    look(page, f"{prefix}-users-confirm", checked)
    page.locator("button.primary").click()
    assert page.locator(".messages").is_visible()
    look(page, f"{prefix}-users-granted", checked)
    context.close()
    assert person_id
    assert checked == {name: [] for name in checked}, checked
