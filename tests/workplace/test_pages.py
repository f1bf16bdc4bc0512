"""The workplace's pages with a small year: dashboard figures, lists and their exports, runs, what-if."""

from __future__ import annotations

import csv
import datetime
import io
import re
from decimal import Decimal

import pytest
from django.test import Client

from famhp.accounts.roles import FINANCE_OFFICER
from famhp.billing.models import AssessmentRun, YearSettings
from famhp.billing.services import assessment_run, year_settings_from_builtin
from famhp.declarations.services import Figures
from tests.accounts.conftest import staff, staff_client
from tests.billing.test_invoicing import confirm_all
from tests.portal.factories import belgian, campaign, declare, with_activity

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer() -> Client:
    c = campaign(2025)
    alpha = with_activity(belgian("Alpha NV"), role="manufacturer", category="MDR IIa")  # 4 entities
    bravo = with_activity(belgian("=cmd|' /C calc'!A0 BV"), role="distributor", category="MDR I")  # 1 entity
    with_activity(belgian("Charlie NV"), role="importer", category="MDR I")  # no declaration
    declare(c, alpha, now=datetime.datetime(2025, 5, 2, 9, tzinfo=datetime.UTC))
    declare(c, bravo, now=datetime.datetime(2025, 5, 2, 10, tzinfo=datetime.UTC))
    declare(c, alpha, Figures(Decimal("90000.00"), Decimal("90000.00"), False, False))  # a correction
    settings = year_settings_from_builtin(2025)
    settings.administrative_fine = Decimal("250.00")  # an assumption of the test: no source gives the fine
    settings.save()
    confirm_all(2025)
    assessment_run(year=2025)
    return staff_client(staff("officer", FINANCE_OFFICER))


def test_the_dashboard_counts_the_campaign_and_draws_an_accessible_chart(officer: Client) -> None:
    page = officer.get("/workplace/2025/").content.decode()
    # 3 must declare, 2 declared on time (first versions before the deadline), 1 corrected, 1 not declared
    figures = {dt: re.sub(r"<[^>]+>", "", dd).strip() for dt, dd in re.findall(r"<dt>([^<]+)</dt><dd>(.*?)</dd>", page)}
    assert {
        k: figures[k] for k in ("Must declare", "Declared on time", "Declared late", "Corrected", "Not declared")
    } == {
        "Must declare": "3",
        "Declared on time": "2",
        "Declared late": "0",
        "Corrected": "1",
        "Not declared": "1",
    }
    assert 'role="img"' in page and "<svg" in page and "The figures as a table" in page
    assert "style=" not in page and "<script>" not in page  # the Content-Security-Policy allows neither


def test_lists_filter_search_and_export_the_same_rows(officer: Client) -> None:
    page = officer.get("/workplace/lists/operators/?year=2025&campaign=not_declared").content.decode()
    assert "Charlie NV" in page and "Alpha NV" not in page
    assert "Alpha NV" in officer.get("/workplace/lists/operators/?q=alpha").content.decode()
    response = officer.get("/workplace/lists/declarations/?year=2025&format=csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Year", "Operator", "Enterprise number or identifier"]
    names = [row[1] for row in rows[1:]]
    assert names == ["'=cmd|' /C calc'!A0 BV", "Alpha NV"]  # a formula is written as text, never run
    versions = {row[1]: row[3] for row in rows[1:]}
    assert versions["Alpha NV"] == "2"


def test_the_xlsx_export_keeps_amounts_as_numbers(officer: Client) -> None:
    from openpyxl import load_workbook

    response = officer.get("/workplace/lists/declarations/?year=2025&format=xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [c.value for c in sheet[1]]
    alpha = next(row for row in sheet.iter_rows(min_row=2, values_only=True) if row[1] == "Alpha NV")
    total = alpha[header.index("Total turnover")]
    assert f"{total:.2f}" == "90000.00"  # the latest version's figure, a number in the sheet


def test_a_run_shows_totals_and_the_changes_against_the_previous_run(officer: Client) -> None:
    first = AssessmentRun.objects.get()
    page = officer.get(f"/workplace/runs/{first.pk}/").content.decode()
    assert "This is the first run of the year." in page and "{" not in page.split("<main")[1].split("Per operator")[0]
    response = officer.post("/workplace/2025/runs/new/")
    second = AssessmentRun.objects.exclude(pk=first.pk).get()
    assert response["Location"] == f"/workplace/runs/{second.pk}/"
    page = officer.get(response["Location"]).content.decode()
    assert "No operator&#x27;s amount changed." in page or "No operator's amount changed." in page


def test_what_if_computes_without_saving_anything(officer: Client) -> None:
    before = YearSettings.objects.get(year=2025)
    runs = AssessmentRun.objects.count()
    # cost per entity 100.00: Alpha 4 entities → 400.00 activity tax; Bravo 1 → 100.00 (D3)
    page = officer.get(
        "/workplace/2025/what-if/",
        {"budget": "", "activity_tax_share": "0.25", "max_levy_rate": "0.003073", "cost_per_entity": "100.00"},
    ).content.decode()
    assert "400,00\u00a0€" in page and "100,00\u00a0€" in page and "Operators per amount due" in page
    after = YearSettings.objects.get(year=2025)
    assert (after.cost_per_entity, after.budget, after.max_levy_rate) == (
        before.cost_per_entity,
        before.budget,
        before.max_levy_rate,
    )
    assert AssessmentRun.objects.count() == runs


def test_what_if_reports_parameters_it_cannot_compute(officer: Client) -> None:
    page = officer.get(
        "/workplace/2025/what-if/",
        {"budget": "", "activity_tax_share": "0.25", "max_levy_rate": "", "cost_per_entity": ""},
    ).content.decode()
    assert "These parameters cannot be computed" in page


def test_the_operator_page_shows_versions_with_their_certificate(officer: Client) -> None:
    from famhp.registry.models import Operator

    alpha = Operator.objects.get(name="Alpha NV")
    page = officer.get(f"/workplace/operators/{alpha.pk}/").content.decode()
    assert "Certificate of version 2" in page and "Certificate of version 1" in page
    version = alpha.declarations.get().versions.get(number=2)
    response = officer.get(f"/workplace/certificates/{version.pk}/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"


def test_the_progress_page_shows_a_bar_and_reloads_by_a_static_script(officer: Client) -> None:
    import uuid

    from famhp.accounts.models import Person
    from famhp.workplace.models import ActionKind, MassAction

    action = MassAction.objects.create(
        key=uuid.uuid4(),
        kind=ActionKind.NOTICES,
        year=2025,
        total=10,
        done=4,
        created_by=Person.objects.get(username="officer"),
    )
    page = officer.get(f"/workplace/actions/{action.pk}/").content.decode()
    assert '<progress id="bar" max="10" value="4">' in page and "4 of 10 handled" in page
    assert "workplace/progress.js" in page and "<script>" not in page and 'http-equiv="refresh"' not in page
    assert officer.get(f"/workplace/actions/{action.pk}/result/")["Location"] == f"/workplace/actions/{action.pk}/"
    # the worker stopped: queued again, the action runs (here at once) and finds its notices to issue
    officer.post(f"/workplace/actions/{action.pk}/resume/")
    action.refresh_from_db()
    assert action.state == "done" and action.result["sent"] == 3  # Alpha, Bravo and Charlie owe activity tax


def test_an_empty_workplace_and_every_page_in_dutch_and_french() -> None:
    client = staff_client(staff("first-day", FINANCE_OFFICER))
    assert client.get("/workplace/").status_code == 200  # no year set up yet: the dashboard still answers
    campaign(2025)
    for language in ("nl", "fr"):
        member = staff_client(staff(f"officer-{language}", FINANCE_OFFICER), language=language)
        for url in (
            "/workplace/2025/",
            "/workplace/lists/invoices/",
            "/workplace/2025/runs/",
            "/workplace/2025/what-if/",
        ):
            response = member.get(url)
            assert response.status_code == 200 and f'lang="{language}"' in response.content.decode(), (language, url)


@pytest.mark.parametrize(
    "url",
    [
        "/workplace/1/",
        "/workplace/0000/",
        "/workplace/?year=0",
        "/workplace/?year=99999999",
        "/workplace/runs/9999999999999999999999/",
        "/admin/billing/yearsettings/0/status/",
        "/admin/billing/yearsettings/99999999/status/",
        "/api/v1/agency/assessments/0000/",
    ],
)
def test_a_year_or_id_out_of_range_is_not_found_never_a_server_error(url: str) -> None:
    client = staff_client(staff("officer", FINANCE_OFFICER))
    answer = client.get(url, follow=url.startswith("/admin/"))  # the admin sends an unknown object to its list
    assert answer.status_code == 404 or (url.startswith("/admin/") and answer.status_code == 200)
