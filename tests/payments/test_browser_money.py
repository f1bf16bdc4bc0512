"""Invoices and the account statement in Chromium, for a company user logged in through eID/itsme; axe-core."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from famhp.accounts.models import AccessRole
from famhp.accounts.services import access_grant
from famhp.billing.models import YearSettings
from famhp.payments.samples import Payment, camt053
from famhp.payments.services import statement_import
from tests.accounts.oidc_provider import oidc_provider
from tests.accounts.test_browser_login import oidc_login
from tests.browser import BROWSER, serious_violations
from tests.portal.factories import belgian, invoice_for

pytestmark = BROWSER
USER = ("boss-1", {"email": "boss@medilab.example", "given_name": "Lotte", "family_name": "Claes"})


@pytest.mark.django_db(transaction=True)
def test_a_company_sees_its_invoices_and_account_statement(
    browser: Any, live_server: Any, facts_purged_after: None
) -> None:
    operator = belgian("Medilab NV", language="en")
    access_grant(operator=operator, email=USER[1]["email"], role=AccessRole.MANAGER, granted_by=None, subject=USER[0])
    YearSettings.objects.create(
        year=2025,
        activity_tax_share=Decimal("0.25"),
        exemption_threshold=Decimal("50290.17"),
        late_interest_rate=Decimal("0.008"),
    )
    invoice = invoice_for(operator, "1000.00", due=datetime.date(2025, 12, 31))
    statement_import(
        data=camt053(
            [Payment(Decimal("400.00"), structured=invoice.structured_communication, booked=datetime.date(2026, 1, 20))]
        ),
        name="s.xml",
    )
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    with oidc_provider(USER) as issuer:
        oidc_login(page, live_server, issuer, "boss-1")
    page.get_by_role("link", name="Invoices of Medilab NV").click()
    page.wait_for_url(live_server.url + reverse("billing:invoices", args=[operator.pk]))
    table = page.get_by_role("table").inner_text()
    assert (
        invoice.number in table and invoice.formatted_communication in table and "1.000,00" in table
    )  # Belgian (en_BE)
    violations = {"invoices": serious_violations(page)}
    with page.expect_download() as download:
        page.get_by_role("link", name=f"PDF of {invoice.number}").click()
    assert download.value.suggested_filename == f"{invoice.number}.pdf"

    page.goto(live_server.url + reverse("payments:statement", args=[operator.pk]))
    body = page.get_by_role("main").inner_text()
    assert "partly paid" in body and "600,00" in body  # 1,000.00 owed − 400.00 paid, written the Belgian way
    violations["statement"] = serious_violations(page)
    context.close()
    assert violations == {"invoices": [], "statement": []}, violations
