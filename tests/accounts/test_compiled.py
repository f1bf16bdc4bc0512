"""Lookups compiled once (famhp.accounts.compiled, issue 15): the same rows and answers as the ORM's ``get()`` and
``exists()``, one query each, and the ORM itself for anything the statement cannot take as it is."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from typing import Any

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from famhp.accounts.compiled import compiled_list, row_exists, unique_row
from famhp.accounts.models import Access, AccessRole, Person
from famhp.accounts.selectors import has_access
from famhp.billing.models import Invoice, InvoiceKind
from famhp.billing.ogm import structured_communication
from famhp.declarations.models import Campaign
from famhp.payments.selectors import invoice_rows, status_of, with_carried, with_paid
from famhp.registry.models import Operator

pytestmark = pytest.mark.django_db


def _fields(instance: object) -> dict[str, object]:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}  # type: ignore[attr-defined]


@pytest.fixture
def operator() -> Operator:
    return Operator.objects.create(
        name="Compiled Medical NV", enterprise_number="0403170701", contact_email="finance@compiled.example"
    )


def test_a_row_reads_as_get_reads_it(operator: Operator) -> None:
    other = Operator.objects.create(name="Other NV", enterprise_number="0404616494")
    for _ in range(2):  # compiled the first time, reused the second
        read = unique_row(Operator, pk=operator.pk)
        assert read is not None and not read._state.adding and read._state.db == "default"
        assert _fields(read) == _fields(Operator.objects.get(pk=operator.pk))
    assert unique_row(Operator, pk=other.pk) == other
    assert unique_row(Operator, pk=other.pk + 1000) is None


def test_dates_and_amounts_are_converted_as_the_orm_converts_them() -> None:
    campaign = Campaign.objects.create(
        year=2031, deadline=datetime.date(2031, 6, 30), late_filing_until=datetime.date(2031, 9, 30)
    )
    read = unique_row(Campaign, year=2031)
    assert read is not None and read.pk == campaign.pk
    assert read.deadline == datetime.date(2031, 6, 30)
    assert _fields(read) == _fields(Campaign.objects.get(year=2031))
    assert all(not isinstance(value, float) or isinstance(value, Decimal) for value in _fields(read).values())


def test_one_query_each(operator: Operator) -> None:
    unique_row(Operator, pk=operator.pk)
    with CaptureQueriesContext(connection) as queries:
        unique_row(Operator, pk=operator.pk)
        row_exists(Access, person_id=1, operator_id=operator.pk, revoked_at=None)
    assert len(queries) == 2


def test_access_answers_as_the_orm(operator: Operator) -> None:
    person = Person.objects.create(username="compiled", email="compiled@example.org")
    stranger = Person.objects.create(username="stranger", email="stranger@example.org")
    access = Access.objects.create(
        operator=operator, person=person, email=person.email, role=AccessRole.MANAGER, granted_at=timezone.now()
    )
    assert has_access(person, operator) and not has_access(stranger, operator)
    assert row_exists(Access, person_id=person.pk, operator_id=operator.pk, revoked_at=None)
    access.revoked_at = timezone.now()
    access.save()
    assert not has_access(person, operator)
    # the same names with a value where None was: another statement, not the IS NULL one
    assert row_exists(Access, person_id=person.pk, operator_id=operator.pk, revoked_at=None) is False
    assert row_exists(Access, person_id=person.pk, operator_id=operator.pk) is True


def test_what_the_statement_cannot_take_goes_through_the_orm(operator: Operator) -> None:
    # a string for an integer key: the ORM converts it; a lookup across a relation; a model instance
    assert unique_row(Operator, pk=str(operator.pk)) == operator
    assert unique_row(Operator, enterprise_number__iexact="0403170701") == operator
    person = Person.objects.create(username="instance", email="instance@example.org")
    assert row_exists(Access, person=person) is False


def test_a_lookup_that_is_not_unique_raises_as_get_does(operator: Operator) -> None:
    Operator.objects.create(name="Compiled Medical NV", enterprise_number="0404616494")
    with pytest.raises(Operator.MultipleObjectsReturned):
        unique_row(Operator, name="Compiled Medical NV")


def _invoice(
    operator: Operator,
    sequence: int,
    kind: str = InvoiceKind.ACTIVITY_TAX,
    credits: Invoice | None = None,
    year: int = 2025,
) -> Invoice:
    return Invoice.objects.create(
        year=year,
        kind=kind,
        number=f"AT2025-{sequence:06d}",
        sequence=sequence,
        structured_communication=structured_communication(year=2025, kind=InvoiceKind.ACTIVITY_TAX, sequence=sequence),
        operator=operator,
        debtor={"name": operator.name},
        language="nl",
        issued_on=datetime.date(2025, 7, sequence),
        due_on=datetime.date(2025, 8, sequence),
        total=Decimal("1662.96"),
        lines=[{"description": "activity_tax", "amount": "1662.96", "rule": "D3", "explanation": []}],
        parameters={},
        rules_version="test",
        credits=credits,
    )


def test_a_list_reads_as_the_orm_reads_it(operator: Operator) -> None:
    other = Operator.objects.create(name="Other NV", enterprise_number="0404616494")
    first = _invoice(operator, 1)
    _invoice(operator, 2, kind=InvoiceKind.CREDIT_NOTE, credits=first)
    _invoice(other, 3)

    def read(operator_id: int) -> list[Invoice]:
        return compiled_list(
            "test.invoices",
            lambda operator_id: with_paid(
                Invoice.objects.filter(operator_id=operator_id).select_related("credits")
            ).order_by("-issued_on", "-pk"),
            [operator_id],
        )

    for operator_id in (operator.pk, other.pk, operator.pk, other.pk + 1000):
        expected = list(
            with_paid(Invoice.objects.filter(operator_id=operator_id).select_related("credits")).order_by(
                "-issued_on", "-pk"
            )
        )
        with CaptureQueriesContext(connection) as queries:
            got = read(operator_id)
            assert [(_fields(i), i.paid, i.credits_id and _fields(i.credits)) for i in got] == [  # type: ignore[attr-defined]
                (_fields(i), i.paid, i.credits_id and _fields(i.credits))  # type: ignore[attr-defined]
                for i in expected
            ]
        assert len(queries) == 1  # the credited invoice came with its note (select_related)
    assert [i.sequence for i in read(operator.pk)] == [2, 1]


def test_a_list_of_nothing_goes_through_the_orm() -> None:
    def notes(ids: list[int]) -> list[Invoice]:
        return compiled_list("test.notes", lambda *ids: Invoice.objects.filter(credits__in=ids).only("credits_id"), ids)

    assert notes([]) == [] and notes([]) == []


def test_equal_values_first_do_not_mix_up_the_places(operator: Operator) -> None:
    # compiled first with two equal values, then asked with the person's and the company's different ids
    person = Person.objects.create(username="places", email="places@example.org")
    for _ in range(operator.pk + 1 - person.pk):
        person = Person.objects.create(username=f"p{Person.objects.count()}", email="p@example.org")
    assert person.pk > operator.pk
    Access.objects.create(
        operator=operator, person=person, email=person.email, role=AccessRole.MANAGER, granted_at=timezone.now()
    )

    def accesses(person_id: int, operator_id: int) -> list[Access]:
        return compiled_list(
            "test.places", lambda p, o: Access.objects.filter(person_id=p, operator_id=o), [person_id, operator_id]
        )

    assert accesses(operator.pk, operator.pk) == []
    assert [a.person_id for a in accesses(person.pk, operator.pk)] == [person.pk]
    assert accesses(operator.pk, person.pk) == []
    assert not row_exists(Access, person_id=operator.pk, operator_id=operator.pk, revoked_at=None)
    assert row_exists(Access, person_id=person.pk, operator_id=operator.pk, revoked_at=None)
    assert not row_exists(Access, person_id=operator.pk, operator_id=person.pk, revoked_at=None)


def test_the_lookups_of_the_pages_are_compiled_on_this_database(operator: Operator) -> None:
    # not left to the ORM: an integer field's parameter (psycopg's Int4 on PostgreSQL) is taken as it is typed
    from famhp.accounts import compiled

    cases: list[tuple[Any, dict[str, object]]] = [
        (Campaign, {"year": 2031}),
        (Operator, {"pk": operator.pk}),
        (Person, {"pk": 1}),
    ]
    for model, lookups in cases:
        assert compiled._statement(model, "default", lookups, "row") is not None, model
    assert compiled._statement(Access, "default", {"person_id": 1, "operator_id": 2, "revoked_at": None}, "exists")
    Campaign.objects.create(
        year=2032, deadline=datetime.date(2032, 6, 30), late_filing_until=datetime.date(2032, 9, 30)
    )
    assert unique_row(Campaign, year=2032) is not None and unique_row(Campaign, year=2033) is None


def _rows_by_the_orm(operator: Operator) -> list[tuple[object, ...]]:
    """The portal's invoice list as it was read before it was compiled (two ORM queries), for comparison."""
    credited = set(Invoice.objects.filter(operator=operator).exclude(credits=None).values_list("credits_id", flat=True))
    invoices = with_paid(Invoice.objects.filter(operator=operator)).select_related("credits")
    rows: list[tuple[object, ...]] = []
    for invoice in with_carried(invoices.order_by("-issued_on", "-pk")):
        paid = invoice.paid  # type: ignore[attr-defined]
        status = status_of(invoice, paid, invoice.pk in credited)
        open_ = invoice.total - paid if status in {"unpaid", "partly_paid"} else Decimal("0.00")
        rows.append((_fields(invoice), invoice.credits_id and _fields(invoice.credits), paid, status, open_))
    return rows


def test_the_portal_invoice_list_reads_as_the_orm_reads_it(operator: Operator) -> None:
    from famhp.payments.samples import Payment, coda
    from famhp.payments.services import statement_import

    other = Operator.objects.create(name="Other NV", enterprise_number="0404616494")
    # one live invoice per year, kind and company (ADR 8): a year each
    paid = _invoice(operator, 1, year=2021)  # paid in full by the bank line below
    part = _invoice(operator, 2, year=2022)  # 600.00 of 1,662.96 paid: partly paid, 1,662.96 - 600.00 = 1,062.96 open
    credited = _invoice(operator, 3, year=2023)
    _invoice(operator, 4, kind=InvoiceKind.CREDIT_NOTE, credits=credited, year=2023)
    elsewhere = _invoice(operator, 5, year=2024)  # "credited" by another company's note: not for this company
    _invoice(other, 6, kind=InvoiceKind.CREDIT_NOTE, credits=elsewhere, year=2024)
    _invoice(other, 7, year=2024)
    booked = datetime.date(2025, 7, 20)
    payments = [
        Payment(Decimal("1662.96"), structured=paid.structured_communication, booked=booked),
        Payment(Decimal("600.00"), structured=part.structured_communication, booked=booked),
    ]
    statement_import(data=coda(payments, day=booked), name="rows.cod")

    for company in (operator, other, operator, other):
        with CaptureQueriesContext(connection) as queries:
            rows = invoice_rows(company)
        assert len(queries) == 1  # the credit notes came with the invoices (an EXISTS), no second query
        assert [
            (_fields(r.invoice), r.invoice.credits_id and _fields(r.invoice.credits), r.invoice.paid, r.status, r.open)  # type: ignore[attr-defined]
            for r in rows
        ] == _rows_by_the_orm(company)
    statuses = {row.invoice.sequence: (row.status, row.open) for row in invoice_rows(operator)}
    assert statuses == {
        1: ("paid", Decimal("0.00")),
        2: ("partly_paid", Decimal("1062.96")),
        3: ("credited", Decimal("0.00")),
        4: ("credit_note", Decimal("0.00")),
        5: ("unpaid", Decimal("1662.96")),
    }
    assert {row.invoice.sequence: row.status for row in invoice_rows(other)} == {6: "credit_note", 7: "unpaid"}
    from famhp.accounts import compiled

    assert compiled._lists[("payments.invoice_rows", (int,))] is not None  # compiled, not left to the ORM


def test_the_api_invoice_list_says_credited_as_before(operator: Operator) -> None:
    # a credited invoice is "credited" whichever company's note credits it (the API's rule: any note), in one
    # query for the invoices and whether each is credited (the credit notes were a second query)
    from django.test import Client

    from famhp.api.services import token_create

    person = Person.objects.create(username="api-credited", email="api@compiled.example")
    Access.objects.create(
        operator=operator, person=person, email=person.email, role=AccessRole.MANAGER, granted_at=timezone.now()
    )
    other = Operator.objects.create(name="Other NV", enterprise_number="0404616494")
    credited = _invoice(operator, 1, year=2022)
    _invoice(operator, 2, kind=InvoiceKind.CREDIT_NOTE, credits=credited, year=2022)
    elsewhere = _invoice(operator, 3, year=2023)
    _invoice(other, 4, kind=InvoiceKind.CREDIT_NOTE, credits=elsewhere, year=2023)
    _invoice(operator, 5, year=2024)
    _row, token = token_create(
        person=person,
        name="compiled",
        companies=[operator],
        read_write=False,
        expires_on=timezone.localdate() + datetime.timedelta(days=30),
    )
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")
    for _ in range(2):  # compiled the first time, reused the second
        with CaptureQueriesContext(connection) as queries:
            answer = client.get(f"/api/v1/companies/{operator.pk}/invoices/")
        assert answer.status_code == 200
        assert {row["number"]: row["status"] for row in answer.json()} == {
            "AT2025-000001": "credited",
            "AT2025-000002": "credit_note",
            "AT2025-000003": "credited",
            "AT2025-000005": "unpaid",
        }
        assert not any('credits_id" IN' in query["sql"] for query in queries.captured_queries)
    # the rows as a serializer made for the call writes them
    from famhp.api import serializers
    from famhp.api.views import invoice_json, statuses

    invoices = list(with_paid(Invoice.objects.filter(operator=operator)).order_by("-issued_on", "-pk"))
    status = statuses(invoices)
    fresh = serializers.InvoiceSerializer([invoice_json(i, status[i.pk]) for i in invoices], many=True).data
    assert answer.json() == json.loads(json.dumps(fresh, cls=DjangoJSONEncoder))
