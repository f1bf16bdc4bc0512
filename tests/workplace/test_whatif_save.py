"""The what-if saves its parameters only when the agency confirms (issue 12): a confirmation step that repeats
each value old → new and what follows, then billing's ``year_settings_change``; manage_year only; a second post
or a post over someone else's change since the what-if changes nothing."""

from __future__ import annotations

import datetime
import html
import re
from decimal import Decimal

import pytest

from famhp.accounts.roles import AUDITOR, FINANCE_OFFICER, SUPPORT
from famhp.billing.models import YearSettings
from famhp.billing.services import assessment_run, year_settings_change, year_settings_from_builtin
from famhp.declarations.services import Figures
from tests.accounts.conftest import staff, staff_client
from tests.billing.test_invoicing import confirm_all
from tests.portal.factories import belgian, campaign, declare, invoice_for, with_activity

pytestmark = pytest.mark.django_db

WHAT_IF = {"budget": "", "activity_tax_share": "0.25", "max_levy_rate": "0.003073", "cost_per_entity": "100.00"}


@pytest.fixture
def year() -> int:
    c = campaign(2025)
    alpha = with_activity(belgian("Alpha NV"), role="manufacturer", category="MDR IIa")  # 4 entities
    bravo = with_activity(belgian("Bravo BV"), role="distributor", category="MDR I")  # 1 entity
    declare(c, alpha, Figures(Decimal("90000.00"), Decimal("90000.00"), False, False))
    declare(c, bravo, now=datetime.datetime(2025, 5, 2, 10, tzinfo=datetime.UTC))
    settings = year_settings_from_builtin(2025)
    settings.administrative_fine = Decimal("250.00")
    settings.save()
    confirm_all(2025)
    assessment_run(year=2025)
    return 2025


def save_form(page: str) -> dict[str, str]:
    """The hidden fields of the what-if's "save these parameters" form, as the browser would post them."""
    form = page.split('class="save-parameters"', 1)[1].split("</form>", 1)[0]
    return {
        name: html.unescape(value) for name, value in re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', form)
    }


def cost() -> Decimal | None:
    value: Decimal | None = YearSettings.objects.get(year=2025).cost_per_entity
    return value


def test_the_finance_officer_saves_a_what_if_after_seeing_each_change(year: int) -> None:
    officer = staff_client(staff("officer", FINANCE_OFFICER))
    page = officer.get("/workplace/2025/what-if/", WHAT_IF).content.decode()
    # cost per entity 100.00: Alpha 4 entities → 400.00 activity tax (D3)
    assert "400,00\u00a0€" in page and "Save these parameters for 2025" in page
    posted = save_form(page)
    assert posted["cost_per_entity"] == "100.00" and posted["was_cost_per_entity"] == "415.74"
    assert "csrfmiddlewaretoken" in page.split('class="save-parameters"', 1)[1].split("</form>", 1)[0]

    review = officer.post("/workplace/2025/what-if/save/", posted)
    text = review.content.decode()
    assert review.status_code == 200 and "Save these parameters for 2025?" in text
    # old → new: only the cost per entity differs from the settings (415.74 → 100.00)
    assert re.search(
        r"cost per entity</th>\s*<td class=\"num\">415,74\u00a0€</td><td class=\"num\">100,00\u00a0€", text
    )
    assert "maximum levy rate</th>" not in text  # unchanged: not listed
    assert "the assessment must be run again before anything is issued" in text and "Next:" in text
    assert 'name="save"' in text and cost() == Decimal("415.74")  # the confirmation step saves nothing

    records = YearSettings.objects.get(year=2025).history.count()
    done = officer.post("/workplace/2025/what-if/save/", {**posted, "save": "1", "reason": "Budget talks 2025"})
    assert done.status_code == 302 and done["Location"] == "/workplace/2025/runs/"
    assert cost() == Decimal("100.00")
    record = YearSettings.objects.get(year=2025).history.first()
    assert record is not None and record.history_change_reason == "Budget talks 2025"
    assert record.history_user is not None and record.history_user.username == "officer"
    message = officer.get(done["Location"]).content.decode()
    assert "The settings of 2025 are saved (cost per entity)" in message

    # the same confirmation posted again (a double click, a second tab): nothing changes a second time
    again = officer.post("/workplace/2025/what-if/save/", {**posted, "save": "1", "reason": "Budget talks 2025"})
    assert again.status_code == 200 and "Nothing to save: the settings of 2025 already hold these values." in (
        again.content.decode()
    )
    assert YearSettings.objects.get(year=2025).history.count() == records + 1 and cost() == Decimal("100.00")


def test_a_save_over_someone_elses_change_since_the_what_if_is_refused(year: int) -> None:
    officer = staff_client(staff("officer", FINANCE_OFFICER))
    posted = save_form(officer.get("/workplace/2025/what-if/", WHAT_IF).content.decode())
    colleague = staff("colleague", FINANCE_OFFICER)
    year_settings_change(year=2025, changes={"cost_per_entity": Decimal("420.00")}, by=colleague, reason="other")
    review = officer.post("/workplace/2025/what-if/save/", posted).content.decode()
    assert "changed since this what-if was computed (cost per entity)" in review and 'name="save"' not in review
    refused = officer.post("/workplace/2025/what-if/save/", {**posted, "save": "1"}).content.decode()
    assert "changed since this what-if was computed (cost per entity)" in refused and 'name="save"' not in refused
    assert cost() == Decimal("420.00")


def test_an_invoiced_year_shows_why_its_fixed_parameters_cannot_be_saved(year: int) -> None:
    invoice_for(belgian("Charlie NV"), "415.74", year=2025)
    officer = staff_client(staff("officer", FINANCE_OFFICER))
    posted = save_form(officer.get("/workplace/2025/what-if/", WHAT_IF).content.decode())
    review = officer.post("/workplace/2025/what-if/save/", posted).content.decode()
    assert "Invoices of 2025 exist" in review and "These values cannot be saved:" in review
    assert 'name="save"' not in review
    refused = officer.post("/workplace/2025/what-if/save/", {**posted, "save": "1"}).content.decode()
    assert "Invoices of 2025 exist" in refused and cost() == Decimal("415.74")


@pytest.mark.parametrize("role", [AUDITOR, SUPPORT])
def test_read_only_roles_see_no_save_button_and_cannot_post(year: int, role: str) -> None:
    member = staff_client(staff(f"m-{role}", role))
    page = member.get("/workplace/2025/what-if/", WHAT_IF).content.decode()
    assert "400,00\u00a0€" in page  # the what-if itself is open to every role
    assert "Save these parameters" not in page and "what-if/save/" not in page
    posted = {**WHAT_IF, "was_budget": "", "was_activity_tax_share": "0.25", "was_max_levy_rate": "0.003073"}
    posted["was_cost_per_entity"] = "415.74"
    assert member.post("/workplace/2025/what-if/save/", posted).status_code == 403
    assert member.post("/workplace/2025/what-if/save/", {**posted, "save": "1"}).status_code == 403
    assert member.get("/workplace/2025/what-if/save/").status_code == 405
    assert cost() == Decimal("415.74")


def test_the_confirmation_step_is_keyboard_and_screen_reader_friendly(year: int) -> None:
    officer = staff_client(staff("officer", FINANCE_OFFICER))
    posted = save_form(officer.get("/workplace/2025/what-if/", WHAT_IF).content.decode())
    page = officer.post("/workplace/2025/what-if/save/", posted).content.decode()
    # every visible control has its label; the table has a caption and header cells; a real submit button
    for control in ("id_reason", "id_confirm_parameters"):
        assert f'for="{control}"' in page and f'id="{control}"' in page
    assert "<caption>" in page and 'scope="col"' in page and 'scope="row"' in page
    assert '<button type="submit" name="save"' in page and "style=" not in page and "<script>" not in page


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_the_confirmation_step_answers_in_dutch_and_french(year: int, language: str) -> None:
    member = staff_client(staff(f"officer-{language}", FINANCE_OFFICER), language=language)
    posted = save_form(member.get("/workplace/2025/what-if/", WHAT_IF).content.decode())
    response = member.post("/workplace/2025/what-if/save/", posted)
    assert response.status_code == 200 and f'lang="{language}"' in response.content.decode()


def test_a_reason_that_does_not_fit_is_said_on_the_confirmation_step(year: int) -> None:
    officer = staff_client(staff("officer", FINANCE_OFFICER))
    posted = save_form(officer.get("/workplace/2025/what-if/", WHAT_IF).content.decode())
    page = officer.post("/workplace/2025/what-if/save/", {**posted, "save": "1", "reason": "x" * 101}).content.decode()
    assert "at most 100 characters" in page and 'name="save"' in page and cost() == Decimal("415.74")
