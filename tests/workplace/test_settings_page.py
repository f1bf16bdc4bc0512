"""The year's settings in the workplace (issue 12): every role reads them and their history; manage_year alone
changes them, through a confirmation step and billing's ``year_settings_change``, and prepares the next year
(``year_settings_prepare``); nothing is saved on an error, and a second post saves nothing twice."""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.test import Client
from django.utils import translation

from famhp.accounts.roles import ADMINISTRATOR, AUDITOR, FINANCE_OFFICER, SUPPORT
from famhp.billing.models import YearSettings
from famhp.billing.services import assessment_run, year_settings_change, year_settings_from_builtin
from famhp.billing.services.years import year_settings_prepare
from famhp.declarations.services import Figures
from tests.accounts.conftest import staff, staff_client
from tests.billing.test_invoicing import confirm_all
from tests.portal.factories import belgian, campaign, declare, invoice_for, with_activity

pytestmark = pytest.mark.django_db


@pytest.fixture
def year() -> int:
    c = campaign(2025)
    alpha = with_activity(belgian("Alpha NV"), role="manufacturer", category="MDR IIa")
    declare(c, alpha, Figures(Decimal("90000.00"), Decimal("90000.00"), False, False))
    year_settings_from_builtin(2025)
    confirm_all(2025)
    assessment_run(year=2025)
    return 2025


def settings() -> YearSettings:
    return YearSettings.objects.get(year=2025)


def edit_data(client: Client, **typed: Any) -> dict[str, Any]:
    """The edit form as the page fills it, with ``typed`` typed over it (what a browser would post)."""
    response = client.get("/workplace/2025/settings/edit/")
    assert response.status_code == 200
    form = response.context["form"]
    data = {name: form.initial.get(name, "") for name in form.fields if name != "reason"}
    return {**data, **typed}


def hidden_confirmation(page: Any) -> dict[str, Any]:
    """The confirmation step's hidden fields, as its form posts them back."""
    form = page.context["form"]
    data = {name: form.data.getlist(name) if name == "confirmed" else form.data.get(name) for name in form.fields}
    data.pop("reason")
    return data


@pytest.mark.parametrize(
    ("role", "edits"),
    [(FINANCE_OFFICER, True), (ADMINISTRATOR, True), (AUDITOR, False), (SUPPORT, False)],
)
def test_every_role_reads_the_settings_and_only_manage_year_changes_them(year: int, role: str, edits: bool) -> None:
    client = staff_client(staff(f"m-{role}", role))
    page = client.get("/workplace/2025/settings/")
    text = page.content.decode()
    assert page.status_code == 200 and "Settings of 2025" in text and "History of the settings" in text
    assert ("/workplace/2025/settings/edit/" in text) is edits
    assert ("/workplace/2025/settings/prepare/" in text) is edits
    expected = 200 if edits else 403
    assert client.get("/workplace/2025/settings/edit/").status_code == expected
    assert client.get("/workplace/2025/settings/prepare/").status_code == expected
    if not edits:
        before = settings().history.count()
        assert client.post("/workplace/2025/settings/edit/", {"budget": "1", "save": "1"}).status_code == 403
        assert client.post("/workplace/2025/settings/prepare/").status_code == 403
        assert settings().history.count() == before and not YearSettings.objects.filter(year=2026).exists()


def test_the_page_shows_every_setting_and_what_is_confirmed(year: int) -> None:
    text = staff_client(staff("auditor", AUDITOR)).get("/workplace/2025/settings/").content.decode()
    for label in (
        "budget (sector share)",
        "activity-tax share",
        "maximum levy rate",
        "lowered (effective) levy rate",
        "cost per entity",
        "interest rate (D10)",
        "interest period (D10)",
        "payment term of the turnover-levy invoice (days)",
        "entity table (D11)",
        "closing decision (D5)",
        "declaration deadline (campaign)",
    ):
        assert label in text, label
    assert "set only by the closing decision" in text and "confirmed" in text
    assert "fixed: invoices of the year exist" not in text  # no invoice yet


def test_the_what_if_and_the_dashboard_link_to_the_settings_page(year: int) -> None:
    client = staff_client(staff("officer", FINANCE_OFFICER))
    whatif = client.get("/workplace/2025/what-if/").content.decode()
    assert 'href="/workplace/2025/settings/"' in whatif and "/admin/billing/yearsettings/" not in whatif
    assert 'href="/workplace/2025/settings/"' in client.get("/workplace/2025/").content.decode()


def test_the_officer_changes_a_setting_typed_the_belgian_way_after_seeing_old_and_new(year: int) -> None:
    officer = staff_client(staff("officer", FINANCE_OFFICER), language="nl")
    before = settings()
    records = before.history.count()
    data = edit_data(officer, budget="1.234.567,89")
    review = officer.post("/workplace/2025/settings/edit/", data)
    text = review.content.decode()
    assert review.status_code == 200 and 'name="save"' in text
    assert [change.name for change in review.context["preview"].changes] == ["budget"]
    assert review.context["preview"].changes[0].after == Decimal("1234567.89")  # "1.234.567,89": dots group
    assert settings().budget == before.budget and settings().history.count() == records  # nothing saved yet

    posted = hidden_confirmation(review)
    missing_reason = officer.post("/workplace/2025/settings/edit/", {**posted, "save": "1", "reason": " "})
    assert missing_reason.context["form"].errors["reason"] and settings().budget == before.budget

    done = officer.post("/workplace/2025/settings/edit/", {**posted, "save": "1", "reason": "Budget law 2025"})
    assert done.status_code == 302 and done["Location"] == "/workplace/2025/settings/"
    assert settings().budget == Decimal("1234567.89")
    assert settings().history.count() == records + 1
    record = settings().history.first()
    assert record is not None and record.history_change_reason == "Budget law 2025"
    assert record.history_user is not None and record.history_user.username == "officer"

    again = officer.post("/workplace/2025/settings/edit/", {**posted, "save": "1", "reason": "Budget law 2025"})
    assert again.status_code == 200 and settings().history.count() == records + 1  # a double post saves once
    assert "Niets te bewaren" in str(again.context["form"].non_field_errors())  # "Nothing to save", in Dutch

    page = officer.get("/workplace/2025/settings/")
    entry = page.context["history"][0]
    assert entry.why == "Budget law 2025" and entry.who == "officer"
    assert [(label, new) for label, _kind, _old, new in entry.changes] == [
        ("begroting (aandeel van de sector)", Decimal("1234567.89"))
    ]


def test_a_wrong_amount_is_said_on_the_form_and_nothing_is_saved(year: int) -> None:
    officer = staff_client(staff("officer", FINANCE_OFFICER))
    records = settings().history.count()
    data = edit_data(
        officer,
        budget="12,3,4",
        levy_due_days="0",
        activity_tax_share="0,12345",  # the column keeps 4 decimals
        cost_per_entity="1.000.000.000.000,00",  # 13 digits before the comma: the column holds 12
        save="1",
        reason="typo",
    )
    response = officer.post("/workplace/2025/settings/edit/", data)
    form = response.context["form"]
    assert response.status_code == 200
    assert set(form.errors) == {"budget", "levy_due_days", "activity_tax_share", "cost_per_entity"}
    assert "is not a number as it is written here" in response.content.decode()
    tampered = officer.post("/workplace/2025/settings/edit/", {**edit_data(officer), "based_on": "[1]"})
    assert "This form was not sent as the page wrote it" in tampered.content.decode()
    assert settings().history.count() == records


def test_a_confirmed_parameter_of_an_invoiced_year_is_marked_fixed_and_refused(year: int) -> None:
    invoice_for(belgian("Charlie NV"), "415.74", year=2025)
    officer = staff_client(staff("officer", FINANCE_OFFICER))
    assert "fixed: invoices of the year exist" in officer.get("/workplace/2025/settings/").content.decode()
    share = settings().activity_tax_share
    data = edit_data(officer, activity_tax_share="0.3")
    review = officer.post("/workplace/2025/settings/edit/", data)
    assert review.context["preview"].refusals and "Invoices of 2025 exist" in review.content.decode()
    assert 'name="save"' not in review.content.decode()
    forced = officer.post("/workplace/2025/settings/edit/", {**hidden_confirmation(review), "save": "1", "reason": "x"})
    assert "Invoices of 2025 exist" in str(forced.context["form"].non_field_errors())
    assert settings().activity_tax_share == share


def test_a_change_made_since_the_form_was_opened_is_not_overwritten(year: int) -> None:
    officer = staff_client(staff("officer", FINANCE_OFFICER))
    data = edit_data(officer, levy_due_days="45")
    year_settings_change(
        year=2025, changes={"activity_tax_due_days": 60}, by=staff("colleague", FINANCE_OFFICER), reason="other"
    )
    review = officer.post("/workplace/2025/settings/edit/", data)
    assert "changed since this form was opened" in review.content.decode()
    assert 'name="save"' not in review.content.decode()
    refused = officer.post(
        "/workplace/2025/settings/edit/", {**hidden_confirmation(review), "save": "1", "reason": "x"}
    )
    assert "changed since this preview" in str(refused.context["form"].non_field_errors())
    assert settings().activity_tax_due_days == 60 and settings().levy_due_days == 30


def test_a_closed_year_refuses_every_change(year: int) -> None:
    YearSettings.objects.filter(year=2025).update(closed_on=datetime.date(2026, 6, 30))
    officer = staff_client(staff("officer", FINANCE_OFFICER))
    assert "/workplace/2025/settings/edit/" not in officer.get("/workplace/2025/settings/").content.decode()
    data = edit_data(officer, levy_due_days="45")
    review = officer.post("/workplace/2025/settings/edit/", data)
    assert review.context["preview"].refusals == ["2025 is closed: its settings no longer change."]
    forced = officer.post("/workplace/2025/settings/edit/", {**hidden_confirmation(review), "save": "1", "reason": "x"})
    assert "2025 is closed" in str(forced.context["form"].non_field_errors())
    assert settings().levy_due_days == 30


def test_the_officer_prepares_the_next_year_unconfirmed_once(year: int) -> None:
    officer = staff_client(staff("officer", FINANCE_OFFICER))
    review = officer.get("/workplace/2025/settings/prepare/").content.decode()
    assert "Prepare the settings of 2026?" in review and not YearSettings.objects.filter(year=2026).exists()
    done = officer.post("/workplace/2025/settings/prepare/")
    assert done.status_code == 302 and done["Location"] == "/workplace/2026/settings/"
    source, prepared = settings(), YearSettings.objects.get(year=2026)
    for name in ("budget", "activity_tax_share", "exemption_threshold", "max_levy_rate", "levy_due_days"):
        assert getattr(prepared, name) == getattr(source, name), name
    assert prepared.confirmed == [] and prepared.cost_per_entity is None and prepared.effective_levy_rate is None
    assert prepared.closing_decision == "" and prepared.closed_on is None
    record = prepared.history.get()
    assert record.history_change_reason == "Prepared from the settings of 2025"
    assert record.history_user is not None and record.history_user.username == "officer"

    again = officer.post("/workplace/2025/settings/prepare/", follow=True)
    assert "The settings of 2026 exist already." in again.content.decode()
    assert YearSettings.objects.filter(year=2026).count() == 1
    assert "not confirmed" in officer.get("/workplace/2026/settings/").content.decode()


def test_prepare_refuses_a_year_without_settings(year: int) -> None:
    with pytest.raises(ValidationError, match="No settings for 2030 yet"):
        year_settings_prepare(year=2030, by=None)
    assert not YearSettings.objects.filter(year=2031).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="two writers at once: PostgreSQL only")
@pytest.mark.django_db(transaction=True)
def test_two_clicks_at_once_prepare_the_next_year_once() -> None:
    year_settings_from_builtin(2025)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def click() -> None:
        translation.activate("en")  # a thread starts in the site's language (nl): read the refusal in English
        try:
            barrier.wait()
            year_settings_prepare(year=2025, by=None)
            outcomes.append("prepared")
        except ValidationError as refusal:
            outcomes.append(" ".join(refusal.messages))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # the second click waits for the year's lock, then finds 2026 prepared: one row, one refusal
    assert sorted(outcomes) == ["The settings of 2026 exist already.", "prepared"]
    assert YearSettings.objects.filter(year=2026).count() == 1


def test_a_year_without_settings_says_so_and_is_prepared_from_the_year_before(year: int) -> None:
    officer = staff_client(staff("officer", FINANCE_OFFICER))
    page = officer.get("/workplace/2026/settings/")
    assert page.status_code == 200 and "No settings for 2026 yet." in page.content.decode()
    assert officer.get("/workplace/2026/settings/edit/").status_code == 302  # nothing to edit: back to the page
    assert "/workplace/2025/settings/prepare/" in officer.get("/workplace/2025/settings/").content.decode()


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_the_settings_pages_answer_in_dutch_and_french(year: int, language: str) -> None:
    client = staff_client(staff(f"officer-{language}", FINANCE_OFFICER), language=language)
    for url in ("/workplace/2025/settings/", "/workplace/2025/settings/edit/", "/workplace/2025/settings/prepare/"):
        response = client.get(url)
        assert response.status_code == 200 and f'lang="{language}"' in response.content.decode(), url
    review = client.post("/workplace/2025/settings/edit/", edit_data(client, levy_due_days="45"))
    assert review.status_code == 200 and review.context["preview"].changes[0].name == "levy_due_days"


def test_the_confirmation_step_shows_the_interest_period_in_words(year: int) -> None:
    officer = staff_client(staff("officer", FINANCE_OFFICER))
    assert settings().late_interest_period == "started_month"
    review = officer.post("/workplace/2025/settings/edit/", edit_data(officer, late_interest_period="once"))
    text = review.content.decode()
    changes = review.context["preview"].changes
    assert review.status_code == 200 and [c.name for c in changes] == ["late_interest_period"]
    # the table of changes says "per started calendar month" → "once", as the page and the history do, not the
    # stored codes
    table = text[text.index("What changes in the year's settings") : text.index("</table>")]
    assert "per started calendar month" in table and "started_month" not in table
