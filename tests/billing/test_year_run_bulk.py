"""The year's run writes its rows in bulk (issue 15): what is stored is what the model instances would store."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from famhp.billing.models import FpsTurnover, Invoice, InvoiceKind, YearSettings
from famhp.billing.services import assessment_run, invoices_issue, year_settings_from_builtin
from famhp.billing.services.invoices import _debtor
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
