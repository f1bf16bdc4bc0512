"""Rates with 10 decimals in the agency's forms (D5), and the portal's warning before it corrects an invoiced
declaration (D8)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.admin.sites import site
from django.test import Client, RequestFactory
from django.urls import reverse

from famhp.billing.forms import ClosingDecisionForm
from famhp.billing.models import InvoiceKind, YearSettings
from famhp.declarations.services import invitation_token
from tests.portal.factories import belgian, campaign, invoice_for, with_activity

pytestmark = pytest.mark.django_db
WARNING = "This corrects an invoiced declaration: a credit note and a new invoice will follow."


def test_the_year_settings_form_keeps_a_rate_with_seven_decimals(admin_user: Any) -> None:
    settings = YearSettings.objects.create(
        year=2025, activity_tax_share=Decimal("0.5"), exemption_threshold=Decimal("50290.17")
    )
    request = RequestFactory().get("/")
    request.user = admin_user
    form_class = site._registry[YearSettings].get_form(request, settings)
    data = {
        "year": "2025",
        "activity_tax_share": "0.5",
        "exemption_threshold": "50290.17",
        "max_levy_rate": "0.0029438",  # 0.29438 %
        "late_interest_rate": "0.0080000001",  # 10 decimals
        "late_interest_period": "started_month",
        "late_interest_base": "contribution",
        "confirmed": "[]",
        "activity_tax_due_days": "30",
        "levy_due_days": "30",
    }
    form = form_class(data, instance=settings)
    assert form.is_valid(), form.errors
    form.save()
    settings.refresh_from_db()
    assert (settings.max_levy_rate, settings.late_interest_rate) == (Decimal("0.0029438"), Decimal("0.0080000001"))
    assert not form_class({**data, "max_levy_rate": "0.00294380001"}, instance=settings).is_valid()  # 11 decimals


def test_the_closing_form_takes_a_published_rate() -> None:
    data = {
        "decision": "lowered",
        "lowered_rate": "0.0029438",
        "decided_on": "2026-02-01",
        "reference": "R",
        "confirm": "on",
    }
    form = ClosingDecisionForm(data)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["lowered_rate"] == Decimal("0.0029438")
    assert not ClosingDecisionForm({**data, "confirm": ""}).is_valid()  # confirmed, or nothing recorded
    assert not ClosingDecisionForm({**data, "lowered_rate": ""}).is_valid()


def test_the_portal_warns_before_correcting_an_invoiced_declaration() -> None:
    operator = with_activity(belgian(), role="manufacturer", category="MDR IIa")
    c = campaign()
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.get(reverse("declarations:invitation", args=[invitation_token(campaign=c, operator=operator)]))
    figures = reverse("declarations:figures", args=[2025, operator.pk])
    confirm = reverse("declarations:confirm", args=[2025, operator.pk])
    client.post(figures, {"total_turnover": "100000.00", "levied_turnover": "100000.00"})
    assert WARNING not in client.get(confirm).content.decode()  # nothing invoiced yet
    invoice_for(operator, "1662.96", kind=InvoiceKind.ACTIVITY_TAX, year=2025)
    assert WARNING in client.get(confirm).content.decode()
