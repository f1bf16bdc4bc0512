"""D10: the interest parameters are per year and read only once the agency confirmed all three by name."""

from __future__ import annotations

from decimal import Decimal

import pytest

from famhp.billing.models import YearSettings
from famhp.billing.selectors import InterestTerms, InterestUnconfirmed, interest_terms

pytestmark = pytest.mark.django_db


def settings(**extra: object) -> YearSettings:
    return YearSettings.objects.create(
        year=2025, activity_tax_share=Decimal("0.5"), exemption_threshold=Decimal("50290.17"), **extra
    )


def test_a_year_without_settings_has_no_terms() -> None:
    assert interest_terms(2031) is None


def test_unconfirmed_terms_are_refused_naming_each_missing_parameter() -> None:
    settings(late_interest_rate=Decimal("0.008"), confirmed=["late_interest_rate"])
    with pytest.raises(InterestUnconfirmed) as raised:
        interest_terms(2025)
    assert raised.value.names == ["late_interest_base", "late_interest_period"]
    assert "late_interest_base, late_interest_period" in raised.value.messages[0]


def test_confirmed_terms_keep_ten_decimals() -> None:
    settings(
        late_interest_rate=Decimal("0.0029438123"),
        late_interest_period="once",
        confirmed=["late_interest_rate", "late_interest_period", "late_interest_base"],
    )
    assert interest_terms(2025) == InterestTerms(Decimal("0.0029438123"), "once", "contribution")


def test_confirmed_without_a_rate_means_no_interest() -> None:
    settings(confirmed=["late_interest_rate", "late_interest_period", "late_interest_base"])
    assert interest_terms(2025) is None
