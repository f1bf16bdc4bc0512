"""Small builders for portal tests."""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.utils import timezone

from famhp.billing.models import NUMBER_PREFIX, Invoice, InvoiceKind
from famhp.billing.ogm import structured_communication
from famhp.declarations.models import Campaign, DeclarationVersion
from famhp.declarations.services import Figures, campaign_open, declaration_submit
from famhp.registry.models import Operator
from famhp.registry.services import activity_register, operator_create

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
_numbers = itertools.count(1)


def enterprise_number() -> str:
    base = 3_000_000 + next(_numbers)
    return f"0{base:07d}{97 - (base % 97):02d}"


def belgian(name: str = "Medilab NV", *, language: str = "nl", email: str = "finance@medilab.example") -> Operator:
    return operator_create(name=name, enterprise_number=enterprise_number(), contact_email=email, language=language)


def foreign(name: str = "Orthotec GmbH", *, active: bool = True, language: str = "en") -> Operator:
    return operator_create(
        name=name,
        foreign_identifier=f"HRB {next(_numbers)}",
        country="DE",
        contact_email="fin@orthotec.example",
        language=language,
        established_in_belgium=False,
        active_in_belgium=active,
    )


def with_activity(
    operator: Operator,
    role: str = "manufacturer",
    category: str = "MDR IIa",
    registered_on: datetime.date = datetime.date(2020, 1, 1),
    closed_on: datetime.date | None = None,
) -> Operator:
    activity_register(operator=operator, role=role, category=category, registered_on=registered_on, closed_on=closed_on)
    return operator


def campaign(year: int = 2025, *, late_days: int = 60) -> Campaign:
    today = timezone.localdate()
    return campaign_open(
        year=year,
        deadline=datetime.date(year, 6, 30),
        late_filing_until=max(today + datetime.timedelta(days=late_days), datetime.date(year, 6, 30)),
    )


def pdf(name: str = "certificate.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def declare(
    c: Campaign,
    operator: Operator,
    figures: Figures | None = None,
    *,
    certificate: UploadedFile | None = None,
    now: datetime.datetime | None = None,
) -> DeclarationVersion:
    """A certified declaration (100,000.00 and 100,000.00 unless ``figures`` say otherwise)."""
    return declaration_submit(
        campaign=c,
        operator=operator,
        figures=figures or Figures(Decimal("100000.00"), Decimal("100000.00"), False, False),
        certifier_name="An Peeters",
        certifier_capacity="external_accountant",
        certifier_membership_number="12345",
        certificate=certificate or pdf(),
        submitted_by="test",
        now=now,
    )


def invoice_for(
    operator: Operator,
    total: str,
    *,
    sequence: int = 1,
    kind: str = InvoiceKind.ACTIVITY_TAX,
    due: datetime.date = datetime.date(2025, 12, 31),
    year: int | None = None,
) -> Invoice:
    # The database keeps one live invoice per (year, kind, operator) (ADR 8): an operator's further invoices
    # of a test are of earlier years unless the test names the year.
    year = year if year is not None else 2026 - sequence
    return Invoice.objects.create(
        year=year,
        kind=kind,
        number=f"{NUMBER_PREFIX[InvoiceKind(kind)]}{year}-{sequence:06d}",
        sequence=sequence,
        structured_communication=structured_communication(year=year, kind=kind, sequence=sequence),
        operator=operator,
        debtor={
            "name": operator.name,
            "identifier": operator.identifier,
            "enterprise_number": operator.enterprise_number,
            "email": operator.contact_email,
        },
        language=operator.language,
        issued_on=due - datetime.timedelta(days=30),
        due_on=due,
        total=Decimal(total),
        lines=[{"description": "activity_tax", "amount": total, "rule": "D3", "explanation": []}],
        parameters={},
        rules_version="test",
    )
