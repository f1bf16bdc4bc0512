"""Countries are ISO 3166-1 alpha-2 codes wherever they enter (issue 11 point 5): the register's model, the
admin's form, the operator CSV import; one validator (famhp.countries) with a hint for the common mistakes
(UK is GB, EL is GR), and the UBL corrects with the same table."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from famhp.billing.ubl import iso_country
from famhp.countries import CountryField, country_problem, validate_country
from famhp.registry.models import Operator
from famhp.registry.services import operator_create, operators_import_csv
from tests.accounts.conftest import staff, staff_client


@pytest.fixture(autouse=True)
def _english() -> object:
    with translation.override("en"):
        yield


@pytest.mark.parametrize("code", ["BE", "DE", "GB", "GR", "US", "CH", "LU"])
def test_iso_codes_pass(code: str) -> None:
    assert country_problem(code) is None
    validate_country(code)


@pytest.mark.parametrize(("typed", "meant"), [("UK", "GB"), ("EL", "GR"), ("uk", "GB")])
def test_the_common_mistakes_name_the_code_meant(typed: str, meant: str) -> None:
    problem = country_problem(typed)
    assert problem is not None and f"write {meant}" in problem
    with pytest.raises(ValidationError, match=f"write {meant}"):
        validate_country(typed)


@pytest.mark.parametrize("typed", ["XX", "B", "BEL", "", "12", "ZZ"])
def test_what_is_no_country_is_refused(typed: str) -> None:
    problem = country_problem(typed)
    assert problem is not None and "ISO 3166-1" in problem


def test_a_code_in_small_letters_is_refused_by_the_model_with_the_capitals() -> None:
    assert country_problem("de") == "Write the country code in capitals: DE."


def test_the_form_field_takes_any_case_and_spaces() -> None:
    field = CountryField()
    assert field.clean(" de ") == "DE"
    with pytest.raises(ValidationError, match="write GB"):
        field.clean("uk")


@pytest.mark.django_db
def test_the_register_refuses_uk_and_stores_nothing() -> None:
    with pytest.raises(ValidationError) as raised:
        operator_create(name="Brit Ltd", foreign_identifier="12345678", country="UK", contact_email="a@brit.example")
    assert "write GB" in str(raised.value.message_dict["country"])
    assert not Operator.objects.exists()
    made = operator_create(name="Brit Ltd", foreign_identifier="12345678", country="gb", contact_email="a@b.example")
    assert made.country == "GB"


HEADER = (
    "enterprise_number;foreign_identifier;country;name;street;postal_code;city;contact_email;language;"
    "established_in_belgium;active_in_belgium;role;category;registered_on;closed_on;self_control_guide_since\n"
)
ROW = ";{identifier};{country};Brit Ltd;1 High St;SW1;London;fin@brit.example;en;false;true;distributor;MDR I;2021-06-01;;\n"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("country", "expected"),
    [("UK", "write GB"), ("EL", "write GR"), ("XX", "ISO 3166-1"), ("", "required with a foreign identifier")],
)
def test_the_csv_import_refuses_a_wrong_country_with_the_hint(country: str, expected: str) -> None:
    result = operators_import_csv(data=(HEADER + ROW.format(identifier="123", country=country)).encode())
    assert not result.ok
    (error,) = [e for e in result.errors if e.column == "country"]
    assert error.row == 2 and expected in str(error.message), error
    assert not Operator.objects.exists()


@pytest.mark.django_db
def test_the_csv_import_takes_a_code_in_small_letters() -> None:
    result = operators_import_csv(data=(HEADER + ROW.format(identifier="123", country="gb")).encode())
    assert result.ok, result.errors
    assert Operator.objects.get().country == "GB"


def _admin_post(client: object, country: str) -> object:
    return client.post(  # type: ignore[attr-defined]
        "/admin/registry/operator/add/",
        {
            "name": "Brit Ltd",
            "foreign_identifier": "12345678",
            "country": country,
            "contact_email": "fin@brit.example",
            "language": "en",
            "activities-TOTAL_FORMS": "0",
            "activities-INITIAL_FORMS": "0",
            "self_control_declarations-TOTAL_FORMS": "0",
            "self_control_declarations-INITIAL_FORMS": "0",
        },
    )


@pytest.mark.django_db
def test_the_admin_refuses_uk_with_the_hint_and_takes_gb_in_any_case() -> None:
    member = staff("root", None)
    member.is_superuser = True
    member.save()
    client = staff_client(member)
    response = _admin_post(client, "UK")
    assert response.status_code == 200  # type: ignore[attr-defined]
    errors = response.context["adminform"].form.errors  # type: ignore[attr-defined]
    assert "write GB" in str(errors["country"])
    assert not Operator.objects.exists()
    assert _admin_post(client, "gb").status_code == 302  # type: ignore[attr-defined]
    assert Operator.objects.get().country == "GB"


@pytest.mark.parametrize(("typed", "iso"), [("UK", "GB"), ("el", "GR"), ("BE", "BE")])
def test_the_ubl_corrects_with_the_same_table(typed: str, iso: str) -> None:
    assert iso_country(typed) == iso
