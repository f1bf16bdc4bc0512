"""The register: identifiers, activities checked against the entity table, history, the CSV import."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError

from famhp.registry.models import Activity, Operator, SelfControlDeclaration
from famhp.registry.selectors import operators_must_declare, rules_operator, self_control_guide_applies
from famhp.registry.services import activity_close, activity_register, operator_create, operators_import_csv
from tests.portal.factories import belgian, foreign, with_activity

pytestmark = pytest.mark.django_db


def test_enterprise_number_is_validated_and_normalised() -> None:
    operator = operator_create(name="A", enterprise_number="BE 0403.199.702", contact_email="a@example.be")
    assert operator.enterprise_number == "0403199702"
    with pytest.raises(ValidationError):
        operator_create(name="B", enterprise_number="0403199703", contact_email="b@example.be")


def test_an_operator_needs_an_identifier() -> None:
    with pytest.raises(ValidationError):
        operator_create(name="Nobody", contact_email="x@example.be")


def test_activity_must_exist_in_the_entity_table() -> None:
    operator = belgian()
    with pytest.raises(ValidationError) as raised:
        activity_register(
            operator=operator, role="assembler", category="AIMDD", registered_on=datetime.date(2024, 1, 1)
        )
    assert "category" in raised.value.message_dict
    assert not Activity.objects.exists()


def test_every_change_is_kept_in_history() -> None:
    operator = with_activity(belgian())
    activity = operator.activities.get()
    activity_close(activity=activity, closed_on=datetime.date(2024, 5, 1))
    operator.name = "Medilab Belgium NV"
    operator.save()
    assert operator.history.count() == 2
    assert [h.closed_on for h in activity.history.order_by("history_date")] == [None, datetime.date(2024, 5, 1)]


@pytest.mark.parametrize(
    ("registered", "closed", "must"),
    [
        (datetime.date(2024, 12, 20), None, True),  # FAQ 10: started in December N−1
        (datetime.date(2024, 3, 1), datetime.date(2024, 9, 30), True),  # FAQ 12: stopped during N−1
        (datetime.date(2010, 1, 1), None, True),  # FAQ 13: registered long ago, never closed
        (datetime.date(2010, 1, 1), datetime.date(2023, 12, 31), False),  # closed before N−1
        (datetime.date(2025, 1, 10), None, False),  # registered in N: declares next year
    ],
)
def test_who_must_declare(registered: datetime.date, closed: datetime.date | None, must: bool) -> None:
    operator = with_activity(belgian(), registered_on=registered, closed_on=closed)
    assert (operator in operators_must_declare(2025)) is must


def test_unregistered_activity_must_declare_and_counts_nine() -> None:
    operator = belgian()
    operator.unregistered_activity = True
    operator.save()
    assert operator in operators_must_declare(2025)
    assert rules_operator(operator, 2025).registered is False


def test_self_control_guide_is_dated() -> None:
    operator = with_activity(belgian(), role="distributor", category="MDR I")
    SelfControlDeclaration.objects.create(operator=operator, declared_on=datetime.date(2025, 2, 1))
    assert self_control_guide_applies(operator, 2024) is False  # declared after the turnover year
    assert self_control_guide_applies(operator, 2025) is True


CSV = (
    "enterprise_number;foreign_identifier;country;name;street;postal_code;city;contact_email;language;"
    "established_in_belgium;active_in_belgium;role;category;registered_on;closed_on;self_control_guide_since\n"
    "0403199702;;BE;Medilab NV;Kerkstraat 1;1000;Brussel;fin@medilab.be;nl;true;true;manufacturer;MDR I;2019-04-01;;\n"
    "0403199702;;BE;Medilab NV;Kerkstraat 1;1000;Brussel;fin@medilab.be;nl;true;true;importer;MDR IIb;2020-01-01;;\n"
    ";HRB 12345;DE;Orthotec GmbH;Hauptstr. 5;20095;Hamburg;fin@orthotec.de;de;false;true;distributor;MDR I;2021-06-01;;2021-06-01\n"
)


def test_csv_import_creates_operators_and_activities() -> None:
    result = operators_import_csv(data=CSV.encode())
    assert result.ok, result.errors
    assert (result.operators_created, result.activities_created) == (2, 3)
    orthotec = Operator.objects.get(foreign_identifier="HRB 12345")
    assert (orthotec.country, orthotec.language, orthotec.established_in_belgium) == ("DE", "de", False)
    assert self_control_guide_applies(orthotec, 2024)
    again = operators_import_csv(data=CSV.encode())
    assert (again.operators_created, again.operators_updated, again.activities_created) == (0, 2, 0)


def test_a_file_with_any_bad_row_imports_nothing_and_names_each_problem() -> None:
    bad = CSV + ("0403199703;;BE;Typo BV;;;;not-an-email;xx;maybe;true;assembler;AIMDD;2020-13-01;;\n")
    result = operators_import_csv(data=bad.encode())
    assert not result.ok
    problems = {(e.row, e.column) for e in result.errors}
    assert {
        (5, "enterprise_number"),
        (5, "contact_email"),
        (5, "language"),
        (5, "established_in_belgium"),
        (5, "category"),
        (5, "registered_on"),
    } <= problems
    assert not Operator.objects.exists() and not Activity.objects.exists()


def test_csv_without_required_columns_is_refused() -> None:
    result = operators_import_csv(data=b"name,contact_email\nA,a@example.be\n")
    assert not result.ok and result.errors[0].row == 1


def test_foreign_operator_factory() -> None:
    operator = foreign()
    assert operator.identifier.startswith("DE-")
