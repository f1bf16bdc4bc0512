"""The refund's remittance text (pain.001 ``RmtInf/Ustrd``) is printed by the company's bank on its statement:
it speaks the company's language, as its invoices do (nl, fr, en; anything else English)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import translation
from django.utils.translation import gettext
from lxml import etree

from famhp.payments.models import Refund
from famhp.payments.sepa import refunds_pain001
from tests.portal.factories import belgian

pytestmark = pytest.mark.django_db
PAIN = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}


def _in_catalogue(language: str, identifier: str) -> str:
    with translation.override(language):
        return gettext("Refund of credit balance %(identifier)s") % {"identifier": identifier}


def test_each_refund_says_what_it_is_in_its_company_language() -> None:
    companies = [belgian(f"Company {code} NV", language=code) for code in ("nl", "fr", "en", "de")]
    refunds = [
        Refund.objects.create(
            operator=company,
            amount=Decimal("12.34"),
            iban="BE68539007547034",
            name=company.name,
            recorded_on=datetime.date(2026, 3, 2),
        )
        for company in companies
    ]
    with translation.override("en"):  # the staff member's language plays no part
        document = etree.fromstring(refunds_pain001(refunds, message_id="M1", execution=datetime.date(2026, 3, 3)))
    texts = [t.text for t in document.findall(".//p:CdtTrfTxInf/p:RmtInf/p:Ustrd", PAIN)]
    assert texts == [
        _in_catalogue("nl", companies[0].identifier),
        _in_catalogue("fr", companies[1].identifier),
        _in_catalogue("en", companies[2].identifier),
        _in_catalogue("en", companies[3].identifier),  # German-speaking: the documents' English
    ]
    assert texts[2] == f"Refund of credit balance {companies[2].identifier}"
