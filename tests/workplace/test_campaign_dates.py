"""The campaign's dates in the workplace: the deadline and the late-filing date (RULES §6: "corrections and late
filings accepted until a date the agency sets"), changed by ``manage_campaign`` through declarations'
``campaign_dates_change``: refused with a message and nothing changed when the dates are inconsistent, the year
closed, invoices fixed the deadline, a filed declaration would change from on time to late (or back), someone
changed them meanwhile, or nothing changes; who, when and why kept in the campaign's history."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from famhp.accounts.roles import ADMINISTRATOR, AUDITOR, FINANCE_OFFICER, SUPPORT
from famhp.billing.models import YearSettings
from famhp.declarations.models import Campaign
from famhp.declarations.services import CampaignDates, campaign_dates_change
from tests.accounts.conftest import staff, staff_client
from tests.concurrency import POSTGRESQL, at_once
from tests.portal.factories import belgian, campaign, declare, invoice_for, with_activity

pytestmark = pytest.mark.django_db

URL = "/workplace/2025/settings/campaign/"


@pytest.fixture
def opened() -> Campaign:
    return campaign(2025)


def dates(client: Client, **typed: Any) -> dict[str, Any]:
    """The form as the page fills it (the dates it shows, hidden and visible), with ``typed`` over it."""
    page = client.get(URL)
    assert page.status_code == 200
    form = page.context["form"]
    data = {name: form.initial.get(name) or "" for name in form.fields}
    return {name: value.isoformat() if isinstance(value, datetime.date) else value for name, value in data.items()} | {
        "reason": "Agency decision 2025/17",
        **typed,
    }


def history_count(year: int = 2025) -> int:
    return int(Campaign.history.filter(year=year).count())


@pytest.mark.parametrize(
    ("role", "allowed"), [(FINANCE_OFFICER, True), (SUPPORT, True), (ADMINISTRATOR, True), (AUDITOR, False)]
)
def test_manage_campaign_changes_the_dates_and_the_auditor_only_reads_them(
    opened: Campaign, role: str, allowed: bool
) -> None:
    client = staff_client(staff(f"m-{role}", role))
    settings_page = client.get("/workplace/2025/settings/").content.decode()
    assert (URL in settings_page) is allowed  # the link to change them
    assert client.get(URL).status_code == (200 if allowed else 403)
    before = history_count()
    response = client.post(URL, {"deadline": "2025-07-15", "late_filing_until": "2025-12-31", "reason": "x"})
    assert response.status_code == (302 if allowed else 403)
    opened.refresh_from_db()
    assert (opened.deadline == datetime.date(2025, 7, 15)) is allowed
    assert history_count() == before + (1 if allowed else 0)


def test_the_officer_extends_the_late_filing_date_once_and_the_history_says_who_and_why(opened: Campaign) -> None:
    officer = staff("officer", FINANCE_OFFICER)
    client = staff_client(officer)
    data = dates(client, late_filing_until="2026-01-31")
    done = client.post(URL, data)
    assert done.status_code == 302 and done["Location"] == "/workplace/2025/settings/"
    opened.refresh_from_db()
    assert opened.late_filing_until == datetime.date(2026, 1, 31) and opened.deadline == datetime.date(2025, 6, 30)
    record = Campaign.history.filter(year=2025).first()
    assert record is not None and record.history_user == officer
    assert record.history_change_reason == "Agency decision 2025/17"

    again = client.post(URL, data)  # the same form posted a second time (a double click, the back button)
    assert again.status_code == 200 and history_count() == 2  # created + the one change
    assert "Nothing to save: the campaign of 2025 already has these dates." in again.content.decode()

    page = client.get(URL).content.decode()
    assert "Agency decision 2025/17" in page and "31/01/2026" in page  # the history, dates written the Belgian way


def test_a_late_filing_date_before_the_deadline_is_refused_on_the_form(opened: Campaign) -> None:
    client = staff_client(staff("officer", FINANCE_OFFICER))
    before = (opened.deadline, opened.late_filing_until)
    response = client.post(URL, dates(client, late_filing_until="2025-06-29"))
    assert response.status_code == 200
    assert "The late-filing date cannot be before the deadline." in response.content.decode()
    opened.refresh_from_db()
    assert (opened.deadline, opened.late_filing_until) == before and history_count() == 1


def test_a_reason_is_required(opened: Campaign) -> None:
    client = staff_client(staff("officer", FINANCE_OFFICER))
    response = client.post(URL, dates(client, late_filing_until="2026-01-31", reason=" "))
    assert response.status_code == 200 and response.context["form"].errors["reason"]
    assert history_count() == 1


def test_invoices_of_the_year_fix_the_deadline_but_not_the_late_filing_date(opened: Campaign) -> None:
    invoice_for(with_activity(belgian("Alpha NV"), role="manufacturer", category="MDR IIa"), "250.00", year=2025)
    client = staff_client(staff("officer", FINANCE_OFFICER))
    refused = client.post(URL, dates(client, deadline="2025-07-31"))
    assert refused.status_code == 200
    assert "the deadline fixed their fines and interest" in refused.content.decode()
    opened.refresh_from_db()
    assert opened.deadline == datetime.date(2025, 6, 30) and history_count() == 1
    assert client.post(URL, dates(client, late_filing_until="2026-03-31")).status_code == 302
    opened.refresh_from_db()
    assert opened.late_filing_until == datetime.date(2026, 3, 31)


def test_the_deadline_does_not_move_over_a_declaration_already_filed(opened: Campaign) -> None:
    alpha = with_activity(belgian("Alpha NV"), role="manufacturer", category="MDR IIa")
    filed = datetime.datetime(2025, 7, 10, 12, 0, tzinfo=ZoneInfo("Europe/Brussels"))
    version = declare(opened, alpha, now=filed)
    assert version.late  # 10 July is after 30 June
    client = staff_client(staff("officer", FINANCE_OFFICER))
    refused = client.post(URL, dates(client, deadline="2025-07-15"))  # 10 July would become on time
    assert refused.status_code == 200
    assert "1 declarations were filed between" in refused.content.decode()
    opened.refresh_from_db()
    assert opened.deadline == datetime.date(2025, 6, 30)
    # a deadline that stays before the filing keeps it late: allowed
    assert client.post(URL, dates(client, deadline="2025-07-09")).status_code == 302
    opened.refresh_from_db()
    assert opened.deadline == datetime.date(2025, 7, 9)


def test_a_change_made_since_the_page_was_opened_is_not_overwritten(opened: Campaign) -> None:
    client = staff_client(staff("officer", FINANCE_OFFICER))
    stale = dates(client, late_filing_until="2026-02-28")
    campaign_dates_change(
        year=2025, dates=CampaignDates(opened.deadline, datetime.date(2026, 1, 15)), by=None, reason="meanwhile"
    )
    refused = client.post(URL, stale)
    assert "changed since this page was opened" in refused.content.decode()
    opened.refresh_from_db()
    assert opened.late_filing_until == datetime.date(2026, 1, 15)


def test_a_closed_year_refuses_every_change(opened: Campaign) -> None:
    from famhp.billing.services import year_settings_from_builtin

    year_settings_from_builtin(2025)
    YearSettings.objects.filter(year=2025).update(closed_on=datetime.date(2026, 6, 30))
    client = staff_client(staff("officer", FINANCE_OFFICER))
    refused = client.post(URL, dates(client, late_filing_until="2026-12-31"))
    assert "2025 is closed: its campaign no longer changes." in refused.content.decode()
    assert history_count() == 1


def test_a_year_without_campaign_is_opened_with_the_dates_given() -> None:
    client = staff_client(staff("officer", FINANCE_OFFICER))
    page = client.get(URL)
    assert "2025 has no campaign yet" in page.content.decode()
    assert page.context["form"].initial["deadline"] == datetime.date(2025, 6, 30)  # RULES §6: 30 June
    done = client.post(URL, {"deadline": "2025-06-30", "late_filing_until": "2025-10-31", "reason": "Opening"})
    assert done.status_code == 302
    opened = Campaign.objects.get(year=2025)
    assert (opened.deadline, opened.late_filing_until) == (datetime.date(2025, 6, 30), datetime.date(2025, 10, 31))


@pytest.mark.parametrize(
    ("language", "heading", "refusal"),
    [
        ("nl", "De data van de campagne", "Niets te bewaren"),
        ("fr", "Les dates de la campagne", "Rien à enregistrer"),
    ],
)
def test_the_page_and_its_refusal_are_in_dutch_and_french(
    opened: Campaign, language: str, heading: str, refusal: str
) -> None:
    client = staff_client(staff("officer", FINANCE_OFFICER), language=language)
    page = client.get(URL).content.decode()
    assert heading in page
    same = dates(client)
    assert refusal in client.post(URL, same).content.decode()


def _refusal_or(done: str, change: Callable[[], Any]) -> Callable[[], str]:
    """``change`` as one click: ``done`` when it saved, the refusal's words when it was refused."""

    def click() -> str:
        try:
            change()
        except ValidationError as refusal:
            return " ".join(refusal.messages)
        return done

    return click


@POSTGRESQL
@pytest.mark.django_db(transaction=True)
def test_two_changes_at_once_save_one() -> None:
    opened = campaign(2025)
    seen = CampaignDates(opened.deadline, opened.late_filing_until)

    def change(until: datetime.date) -> Callable[[], str]:
        return _refusal_or(
            "saved",
            lambda: campaign_dates_change(
                year=2025, dates=CampaignDates(opened.deadline, until), by=None, reason="at once", seen=seen
            ),
        )

    clicks = [change(datetime.date(2026, 1, 10)), change(datetime.date(2026, 1, 20))]
    outcomes, errors = at_once(*clicks)
    assert not errors, errors
    # the second waits for the campaign's lock, then finds other dates than the ones its page showed
    assert sorted(outcomes)[1] == "saved" and "changed since this page was opened" in sorted(outcomes)[0]
    assert Campaign.history.filter(year=2025).count() == 2


@POSTGRESQL
@pytest.mark.django_db(transaction=True)
def test_two_openings_at_once_open_the_campaign_once() -> None:
    def opening() -> Campaign:
        return campaign_dates_change(
            year=2025,
            dates=CampaignDates(datetime.date(2025, 6, 30), datetime.date(2025, 10, 31)),
            by=None,
            reason="open",
        )

    outcomes, errors = at_once(_refusal_or("opened", opening), _refusal_or("opened", opening))
    assert not errors, errors
    # the second either waits on the year's unique index and is refused, or comes after and finds it done
    assert sorted(outcomes)[1] == "opened"
    assert "opened meanwhile" in sorted(outcomes)[0] or "Nothing to save" in sorted(outcomes)[0]
    assert Campaign.objects.filter(year=2025).count() == 1


def test_opening_a_campaign_a_colleague_opened_meanwhile_saves_nothing() -> None:
    client = staff_client(staff("officer", FINANCE_OFFICER))
    stale = dates(client, late_filing_until="2025-09-30", reason="Opening")  # the page showed no campaign
    assert stale["seen_none"] is True
    campaign_dates_change(
        year=2025,
        dates=CampaignDates(datetime.date(2025, 6, 30), datetime.date(2025, 10, 31)),
        by=None,
        reason="colleague opened",
    )
    refused = client.post(URL, stale)
    assert refused.status_code == 200 and "was opened meanwhile" in refused.content.decode()
    assert Campaign.objects.get(year=2025).late_filing_until == datetime.date(2025, 10, 31)


def test_a_filing_is_judged_by_the_dates_in_force_not_by_those_its_page_read(opened: Campaign) -> None:
    alpha = with_activity(belgian("Alpha NV"), role="manufacturer", category="MDR IIa")
    stale = Campaign.objects.get(year=2025)  # the portal read the campaign: deadline 30 June
    campaign_dates_change(
        year=2025,
        dates=CampaignDates(datetime.date(2025, 7, 15), opened.late_filing_until),
        by=None,
        reason="extended",
    )
    filed = datetime.datetime(2025, 7, 10, 12, 0, tzinfo=ZoneInfo("Europe/Brussels"))
    version = declare(stale, alpha, now=filed)
    assert not version.late  # 10 July is before the extended deadline of 15 July
