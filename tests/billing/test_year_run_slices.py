"""Issuing reads each chunk's results in slices one query can list (SQLite: 999 parameters unless built
otherwise): the same invoices, in the same order, numbered without gaps (issue 15)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection

from famhp.billing.models import FpsTurnover, Invoice, InvoiceKind, YearSettings
from famhp.billing.services import assessment_run, invoices_issue, year_settings_from_builtin
from famhp.rules.parameters import PARAMETER_NAMES
from tests.portal.factories import belgian, campaign, with_activity

pytestmark = pytest.mark.django_db


def test_a_chunk_read_in_slices_issues_every_notice_once_in_name_order(monkeypatch: pytest.MonkeyPatch) -> None:
    campaign(2025)
    names = ["Echo NV", "Alpha NV", "Delta NV", "Bravo NV", "Charlie NV"]
    operators = {name: with_activity(belgian(name), role="importer", category="MDR I") for name in names}
    for operator in operators.values():  # no declaration: the FPS Finance figure (D6)
        FpsTurnover.objects.create(year=2025, enterprise_number=str(operator.enterprise_number), total_turnover=1)
    settings = year_settings_from_builtin(2025)
    settings.administrative_fine = Decimal("250.00")  # an assumption of the test: no source gives the fine
    settings.confirmed = sorted({*PARAMETER_NAMES, "entity_table"})
    settings.save()
    run, _changes = assessment_run(year=2025)
    # a query may list 12 parameters: a chunk of 5 results is read 2 keys at a time (12 − 10 for the rest)
    monkeypatch.setattr(connection.features, "max_query_params", 12)

    issued = invoices_issue(run=run, kind=InvoiceKind.ACTIVITY_TAX, issued_on=datetime.date(2025, 12, 1), batch=5)

    # an importer of MDR I is 3 entities (D1); 3 × 415.74 (the built-in cost per entity, D3) = 1,247.22
    assert [(i.number, i.operator_id, i.total) for i in issued] == [
        (f"AT2025-00000{n}", operators[name].pk, Decimal("1247.22")) for n, name in enumerate(sorted(names), 1)
    ]
    assert Invoice.objects.filter(year=2025, kind=InvoiceKind.ACTIVITY_TAX).count() == 5
    assert invoices_issue(run=run, kind=InvoiceKind.ACTIVITY_TAX, batch=5) == []  # billed once
    assert YearSettings.objects.get(year=2025).cost_per_entity == Decimal("415.74")  # fixed by the notices
