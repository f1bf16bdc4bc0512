"""The year's run writes its rows in bulk (issue 15): what is stored is what the model instances would store."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from famhp.billing.models import FpsTurnover, Invoice, InvoiceKind, YearSettings
from famhp.billing.services import assessment_run, invoices_issue, year_settings_from_builtin
from famhp.billing.services.invoices import _create, _debtor, invoice_lines
from famhp.rules.parameters import PARAMETER_NAMES
from tests.portal.factories import belgian, campaign, foreign, with_activity

pytestmark = pytest.mark.django_db


def test_bulk_written_results_and_notices_read_back_as_the_models_keep_them() -> None:
    c = campaign(2025)
    alpha = with_activity(belgian("Alpha NV"), role="manufacturer", category="MDR IIa")
    echo = with_activity(foreign("Echo GmbH"), role="importer", category="MDR I")
    FpsTurnover.objects.create(year=2025, enterprise_number=str(alpha.enterprise_number), total_turnover=Decimal(1))
    year_settings_from_builtin(2025)
    settings = YearSettings.objects.get(year=2025)
    settings.administrative_fine = Decimal("250.00")  # an assumption of the test: no source gives the fine
    settings.confirmed = sorted({*PARAMETER_NAMES, "entity_table"})
    settings.save()
    assert c.year == 2025

    run, _changes = assessment_run(year=2025)
    results = {r.operator_id: r for r in run.results.all()}
    assert results[alpha.pk].inputs["fps_total_turnover"] == "1.00" and results[echo.pk].inputs["levy_pending"]
    for result in results.values():  # D3: entities × the built-in cost per entity 415.74
        assert result.activity_tax == result.entities * Decimal("415.74") and result.entities > 0
    assert results[alpha.pk].explanation[0][0] and isinstance(results[alpha.pk].explanation[0][2], dict)

    issued = invoices_issue(run=run, kind=InvoiceKind.ACTIVITY_TAX, issued_on=datetime.date(2025, 12, 1))
    stored = {i.pk: i for i in Invoice.objects.filter(year=2025, kind=InvoiceKind.ACTIVITY_TAX)}
    assert len(issued) == len(stored) == 2 and {i.pk for i in issued} == set(stored)
    for invoice in issued:
        kept = stored[invoice.pk]
        for field in Invoice._meta.concrete_fields:
            assert getattr(invoice, field.attname) == getattr(kept, field.attname), field.name
        assert kept.debtor == _debtor(kept.operator)  # the foreign debtor's identifier too
        assert kept.assessment == results[kept.operator_id] and kept.due_on == datetime.date(2025, 12, 31)
    assert stored[next(i.pk for i in issued if i.operator_id == echo.pk)].debtor["identifier"] == echo.identifier
    assert {i.operator_id: i.total for i in issued} == {k: r.activity_tax for k, r in results.items()}
    assert invoices_issue(run=run, kind=InvoiceKind.ACTIVITY_TAX) == []  # billed once


def test_an_operator_billed_by_someone_else_during_the_issue_is_not_billed_again() -> None:
    """Issuing looks up who is billed only once the number series moved by more than its own invoices; from then
    on in every chunk, also for an operator of a later chunk billed meanwhile (ADR 8: one first invoice)."""
    campaign(2025)
    operators = [with_activity(belgian(f"Operator {n}"), role="importer", category="MDR I") for n in range(4)]
    for operator in operators:
        FpsTurnover.objects.create(year=2025, enterprise_number=str(operator.enterprise_number), total_turnover=1)
    settings = year_settings_from_builtin(2025)
    settings.administrative_fine = Decimal("250.00")  # an assumption of the test: no source gives the fine
    settings.confirmed = sorted({*PARAMETER_NAMES, "entity_table"})
    settings.save()
    run, _changes = assessment_run(year=2025)
    last = run.results.get(operator=operators[3])

    def someone_else_bills_the_last(done: int, total: int) -> None:
        if done == 1:  # after the first chunk, another issue bills the operator of the last chunk
            _create(
                year=2025,
                kind=InvoiceKind.ACTIVITY_TAX,
                operator=operators[3],
                lines=invoice_lines(last, InvoiceKind.ACTIVITY_TAX),
                issued_on=datetime.date(2025, 12, 1),
                due_days=30,
                parameters=run.parameters,
                rules_version=run.rules_version,
                assessment=last,
            )

    issued = invoices_issue(run=run, kind=InvoiceKind.ACTIVITY_TAX, batch=1, progress=someone_else_bills_the_last)
    assert sorted(i.operator_id for i in issued) == sorted(o.pk for o in operators[:3])
    notices = Invoice.objects.filter(year=2025, kind=InvoiceKind.ACTIVITY_TAX)
    assert sorted(notices.values_list("operator_id", flat=True)) == sorted(o.pk for o in operators)
    assert sorted(notices.values_list("sequence", flat=True)) == [1, 2, 3, 4]  # no gap
