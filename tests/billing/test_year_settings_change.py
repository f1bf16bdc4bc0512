"""A year's settings change one way (issue 12, ADR 20): billing's ``year_settings_change``, under the year's lock,
refusing with a message and changing nothing; and the database itself refuses an UPDATE of what an invoiced
year keeps (YearSettings.fixed_changes: D3, D8, ADR 11), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction

from famhp.accounts.models import Person
from famhp.accounts.roles import FINANCE_OFFICER
from famhp.billing.models import YearSettings
from famhp.billing.services import year_settings_change, year_settings_from_builtin
from tests.accounts.conftest import staff
from tests.billing.test_invoicing import confirm_all
from tests.portal.factories import belgian, invoice_for

POSTGRESQL = connection.vendor == "postgresql"


def settings_2025() -> YearSettings:
    """The built-in 2025 parameters (budget none, share 0.25, threshold 50,290.17, maximum rate 0.003073, cost
    per entity 415.74, interest 0.008), a fine of 250.00, all confirmed."""
    settings = year_settings_from_builtin(2025)
    settings.administrative_fine = Decimal("250.00")
    settings.save()
    confirm_all(2025)
    return YearSettings.objects.get(year=2025)


def invoiced() -> None:
    """One activity-tax notice of 2025: from now on its confirmed parameters are fixed."""
    invoice_for(belgian("Medilab NV"), "415.74", year=2025)


@pytest.fixture
def officer(db: None) -> Person:
    return staff("officer", FINANCE_OFFICER)


def stored() -> dict[str, object]:
    s = YearSettings.objects.get(year=2025)
    return {"cost": s.cost_per_entity, "budget": s.budget, "max": s.max_levy_rate, "confirmed": sorted(s.confirmed)}


@pytest.mark.django_db
def test_a_change_is_saved_with_who_when_and_why_in_the_history(officer: Person) -> None:
    before = settings_2025().history.count()
    done = year_settings_change(
        year=2025,
        changes={"cost_per_entity": Decimal("400.00"), "budget": None, "max_levy_rate": Decimal("0.003")},
        by=officer,
        reason="Royal decree of 1 March",
    )
    # budget stays empty (it was): only the cost and the maximum rate change
    assert [(c.name, c.before, c.after) for c in done] == [
        ("max_levy_rate", Decimal("0.0030730000"), Decimal("0.003")),
        ("cost_per_entity", Decimal("415.74"), Decimal("400.00")),
    ]
    settings = YearSettings.objects.get(year=2025)
    assert (settings.cost_per_entity, settings.max_levy_rate) == (Decimal("400.00"), Decimal("0.003"))
    assert settings.history.count() == before + 1
    record = settings.history.first()
    assert record is not None
    assert (record.history_user, record.history_change_reason, record.history_type) == (
        officer,
        "Royal decree of 1 March",
        "~",
    )
    assert record.cost_per_entity == Decimal("400.00")
    assert record.prev_record is not None and record.prev_record.cost_per_entity == Decimal("415.74")


@pytest.mark.django_db
def test_nothing_changed_a_stale_preview_and_a_missing_reason_are_refused(officer: Person) -> None:
    settings_2025()
    before, records = stored(), YearSettings.objects.get(year=2025).history.count()
    with pytest.raises(ValidationError, match="Nothing to save: the settings of 2025 already hold these values"):
        year_settings_change(year=2025, changes={"cost_per_entity": Decimal("415.74")}, by=officer, reason="again")
    with pytest.raises(ValidationError, match=r"changed since this preview \(cost per entity\)"):
        year_settings_change(
            year=2025,
            changes={"cost_per_entity": Decimal("400.00")},
            by=officer,
            reason="what-if",
            based_on={"cost_per_entity": Decimal("420.00")},  # someone had 420.00 when the what-if was made
        )
    with pytest.raises(ValidationError, match="Give the reason"):
        year_settings_change(year=2025, changes={"cost_per_entity": Decimal("400.00")}, by=officer, reason=" ")
    assert stored() == before and YearSettings.objects.get(year=2025).history.count() == records


@pytest.mark.django_db
def test_values_outside_the_rules_are_refused_with_famhp_rules_reason(officer: Person) -> None:
    settings_2025()
    before = stored()
    with pytest.raises(ValidationError) as refused:
        year_settings_change(year=2025, changes={"activity_tax_share": Decimal("1.5")}, by=officer, reason="typo")
    assert "outside what the rules allow" in refused.value.messages[0]
    assert "not a fraction between 0 and 1" in refused.value.messages[0]
    with pytest.raises(ValidationError, match="more than 2 decimals"):
        year_settings_change(year=2025, changes={"budget": Decimal("1000.001")}, by=officer, reason="typo")
    assert stored() == before


@pytest.mark.django_db
def test_an_invoiced_year_keeps_its_confirmed_parameters_and_says_so_before_the_database_would(
    officer: Person,
) -> None:
    settings = settings_2025()
    settings.confirmed = [n for n in settings.confirmed if n != "administrative_fine"]
    settings.save()
    invoiced()
    before = stored()
    with pytest.raises(ValidationError) as refused:
        year_settings_change(year=2025, changes={"cost_per_entity": Decimal("400.00")}, by=officer, reason="late")
    assert "Invoices of 2025 exist" in refused.value.messages[0] and "cost_per_entity" in refused.value.messages[0]
    assert stored() == before
    # a parameter still unconfirmed fixed no amount: it is set, and may be confirmed now (D7, D10)
    done = year_settings_change(
        year=2025, changes={"administrative_fine": Decimal("300.00")}, by=officer, reason="fine set", confirm=True
    )
    assert [c.name for c in done] == ["administrative_fine", "confirmed"]
    settings = YearSettings.objects.get(year=2025)
    assert settings.administrative_fine == Decimal("300.00") and "administrative_fine" in settings.confirmed


@pytest.mark.django_db
def test_a_closed_year_changes_nothing(officer: Person) -> None:
    settings = settings_2025()
    settings.closed_on = datetime.date(2026, 6, 30)
    settings.save()
    with pytest.raises(ValidationError, match="2025 is closed"):
        year_settings_change(year=2025, changes={"levy_due_days": 45}, by=officer, reason="late")


@pytest.mark.django_db
def test_the_admin_form_saves_through_the_service() -> None:
    from tests.accounts.conftest import staff_client

    settings_2025()
    client = staff_client(staff("admin-officer", FINANCE_OFFICER))
    url = f"/admin/billing/yearsettings/{YearSettings.objects.get(year=2025).pk}/change/"
    page = client.get(url)
    form = page.context["adminform"].form
    data = {name: ("" if value is None else value) for name, value in form.initial.items() if name in form.fields}
    data["confirmed"] = '["budget", "activity_tax_share"]'  # the others unconfirmed
    data["cost_per_entity"] = "400.00"
    data["_save"] = "Save"
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    settings = YearSettings.objects.get(year=2025)
    assert settings.cost_per_entity == Decimal("400.00")
    assert sorted(settings.confirmed) == ["activity_tax_share", "budget"]
    record = settings.history.first()
    assert record is not None and record.history_change_reason == "Year settings form of the admin"
    assert record.history_user is not None and record.history_user.username == "admin-officer"
    # outside the rules: the form says so, nothing is saved
    data["activity_tax_share"] = "1.5"
    page = client.post(url, data)
    assert page.status_code == 200 and "outside what the rules allow" in page.content.decode()
    assert YearSettings.objects.get(year=2025).activity_tax_share == Decimal("0.25")


# The database's own guard: what the service refuses politely, the database refuses on every other path.


def refused_by_the_database(action: object) -> bool:
    try:
        with transaction.atomic():
            action()  # type: ignore[operator]
    except DatabaseError as error:
        assert "can no longer change" in str(error)
        return True
    return False


@pytest.mark.django_db
def test_the_database_refuses_a_bare_update_or_save_of_a_fixed_parameter() -> None:
    settings_2025()
    invoiced()
    rows = YearSettings.objects.filter(year=2025)
    assert refused_by_the_database(lambda: rows.update(cost_per_entity=Decimal("1.00")))
    assert refused_by_the_database(lambda: rows.update(max_levy_rate=None))
    assert refused_by_the_database(lambda: rows.update(confirmed=["budget"]))  # dropping confirmed ones
    assert refused_by_the_database(lambda: rows.update(year=2031))
    settings = rows.get()
    settings.activity_tax_share = Decimal("0.5")
    assert refused_by_the_database(settings.save)
    assert stored()["cost"] == Decimal("415.74") and rows.get().activity_tax_share == Decimal("0.25")


@pytest.mark.django_db
def test_the_database_lets_the_rest_change() -> None:
    settings = settings_2025()
    settings.confirmed = [n for n in settings.confirmed if n != "administrative_fine"]
    settings.save()
    invoiced()
    rows = YearSettings.objects.filter(year=2025)
    # unconfirmed, not an amount parameter, more confirmed, the same value again: allowed
    rows.update(administrative_fine=Decimal("300.00"))
    rows.update(levy_due_days=45, closed_on=datetime.date(2026, 6, 30))
    rows.update(confirmed=[*settings.confirmed, "administrative_fine"])
    rows.update(cost_per_entity=Decimal("415.74"))
    assert rows.get().administrative_fine == Decimal("300.00") and rows.get().levy_due_days == 45
    # the lowered rate is free until the closing decision is recorded, fixed after it (D5)
    rows.update(effective_levy_rate=Decimal("0.0029438"))
    rows.update(closing_decision="lowered")
    assert refused_by_the_database(lambda: rows.update(effective_levy_rate=Decimal("0.002")))
    # another year without invoices changes as it likes
    other = YearSettings.objects.create(year=2031, activity_tax_share=Decimal("0.25"), exemption_threshold=1)
    other.confirmed = ["cost_per_entity"]
    other.save()
    YearSettings.objects.filter(year=2031).update(cost_per_entity=Decimal("10.00"), confirmed=[])
    assert YearSettings.objects.get(year=2031).cost_per_entity == Decimal("10.00")


@pytest.mark.skipif(not POSTGRESQL, reason="two writers at once: PostgreSQL only")
@pytest.mark.django_db(transaction=True)
def test_two_confirmations_of_the_same_change_at_once_change_once() -> None:
    settings_2025()
    officer = staff("officer", FINANCE_OFFICER)
    records = YearSettings.objects.get(year=2025).history.count()
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def confirm() -> None:
        from django.db import connection as own
        from django.utils import translation

        translation.activate("en")  # a thread starts in the site's language (nl): read the message in English
        try:
            start.wait()
            year_settings_change(
                year=2025,
                changes={"cost_per_entity": Decimal("400.00")},
                by=officer,
                reason="what-if",
                based_on={"cost_per_entity": Decimal("415.74")},
            )
            outcomes.append("saved")
        except ValidationError as error:
            outcomes.append(" ".join(error.messages))
        finally:
            own.close()

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["Nothing to save: the settings of 2025 already hold these values.", "saved"]
    assert YearSettings.objects.get(year=2025).cost_per_entity == Decimal("400.00")
    assert YearSettings.objects.get(year=2025).history.count() == records + 1
