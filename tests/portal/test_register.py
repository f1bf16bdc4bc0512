"""The register: identifiers, activities checked against the entity table, history, the CSV import."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

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


# --- what the import refuses: characters, lengths, one operator written two ways (issue 10 point 6) -----------

HEADER = CSV.splitlines()[0] + "\n"
ROW = "0403199702;;BE;{name};Kerkstraat 1;1000;Brussel;fin@medilab.be;nl;true;true;manufacturer;MDR I;2019-04-01;;\n"


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("M" * 201, "201 characters, at most 200 allowed"),
        ("Medi\x00lab NV", "a NUL byte"),
        ('"Medilab\nNV"', "a line break"),
        ('"Medilab\r\nNV"', "a line break"),
        ("Medilab\u2028NV", "a line break"),
        ("Medi\x07lab\tNV", "a control character (U+0007, U+0009)"),
        ("Medi\x9blab", "a control character (U+009B)"),
    ],
)
def test_the_import_refuses_bad_text_with_a_message_naming_row_field_and_problem(name: str, problem: str) -> None:
    result = operators_import_csv(data=(HEADER + ROW.format(name="Good NV") + ROW.format(name=name)).encode())
    assert [(e.row, e.column) for e in result.errors] == [(3, "name")]
    assert problem in result.errors[0].message
    with translation.override("en"):
        assert str(result.errors[0]).startswith("Row 3, column name: ")
    assert not Operator.objects.exists()


def test_every_length_is_the_models_own() -> None:
    row = ";{fid};DE;{name};{street};{postal};{city};{email};de;false;true;distributor;MDR I;2021-06-01;;\n"
    local = "a" * 64
    too_long = row.format(
        fid="F" * 65,
        name="N" * 201,
        street="S" * 201,
        postal="1" * 17,
        city="C" * 101,
        email=f"{local}@{'d' * 63}.{'e' * 63}.{'f' * 63}.be",  # 64 + 1 + 3 × (63 + 1) + 2 = 259 characters
    )
    result = operators_import_csv(data=(HEADER + too_long).encode())
    assert {e.column: e.message for e in result.errors} == {
        "foreign_identifier": "65 characters, at most 64 allowed",
        "name": "201 characters, at most 200 allowed",
        "street": "201 characters, at most 200 allowed",
        "postal_code": "17 characters, at most 16 allowed",
        "city": "101 characters, at most 100 allowed",
        "contact_email": "259 characters, at most 254 allowed",
    }
    just_right = row.format(
        fid="F" * 64, name="N" * 200, street="S" * 200, postal="1" * 16, city="C" * 100, email="a@b.de"
    )
    assert operators_import_csv(data=(HEADER + just_right).encode()).ok
    assert len(Operator.objects.get().name) == 200


@pytest.mark.parametrize("other", ["0403.199.702", "BE0403199702", "BE 0403 199 702"])
def test_one_enterprise_number_written_two_ways_is_reported_not_merged(other: str) -> None:
    second = ROW.format(name="Medilab NV").replace("0403199702", other).replace("manufacturer", "importer")
    result = operators_import_csv(data=(HEADER + ROW.format(name="Medilab NV") + second).encode())
    assert [(e.row, e.column) for e in result.errors] == [(3, "enterprise_number")]
    assert other in result.errors[0].message and "row 2" in result.errors[0].message
    assert not Operator.objects.exists() and not Activity.objects.exists()


def test_a_foreign_identifier_written_two_ways_is_reported() -> None:
    row = ";{fid};DE;Orthotec GmbH;;;;fin@orthotec.de;de;false;true;{role};MDR I;2021-06-01;;\n"
    data = HEADER + row.format(fid="HRB 12345", role="distributor") + row.format(fid="hrb12345", role="importer")
    result = operators_import_csv(data=data.encode())
    assert [(e.row, e.column) for e in result.errors] == [(3, "foreign_identifier")]


def test_one_operator_with_two_sets_of_details_is_reported_not_merged() -> None:
    second = ROW.format(name="Medilab Belgium NV").replace("manufacturer", "importer").replace("Brussel", "Gent")
    result = operators_import_csv(data=(HEADER + ROW.format(name="Medilab NV") + second).encode())
    assert {(e.row, e.column) for e in result.errors} == {(3, "name"), (3, "city")}
    assert "row 2" in result.errors[0].message
    assert not Operator.objects.exists()


def test_a_file_the_csv_module_cannot_read_is_reported_not_a_server_error() -> None:
    # a field over the csv module's limit of 131,072 characters
    huge = HEADER + ROW.format(name="Medilab NV") + ROW.format(name='"' + "x" * 140_000 + '"')
    result = operators_import_csv(data=huge.encode())
    assert [e.row for e in result.errors] == [3] and "CSV" in result.errors[0].message
    assert not Operator.objects.exists()


def test_the_service_refuses_a_control_character_and_a_300_character_name() -> None:
    for name in ("Medilab\nNV", "M" * 300, "Medi\x00lab"):
        with pytest.raises(ValidationError) as raised:
            operator_create(name=name, enterprise_number="0403199702", contact_email="a@example.be")
        assert "name" in raised.value.message_dict
    assert not Operator.objects.exists()
