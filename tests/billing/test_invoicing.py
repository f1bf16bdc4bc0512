"""Assessment runs and invoices, from declarations to invoice lines, exact to the cent (hand-computed)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from lxml import etree
from stdnum.be import ogm_vcs

from famhp.billing.documents import invoice_html, invoice_pdf, invoice_send
from famhp.billing.models import AssessmentRun, FpsTurnover, Invoice, InvoiceKind, OperatorAssessment, YearSettings
from famhp.billing.services import (
    assessment_run,
    cost_per_entity_fix,
    credit_note_issue,
    fps_turnover_import,
    invoice_correct,
    invoices_issue,
    operator_reassess,
    year_closing_decide,
    year_settings_from_builtin,
)
from famhp.billing.ubl import invoice_ubl
from famhp.declarations.models import Campaign
from famhp.declarations.services import Figures
from famhp.registry.models import Operator
from tests.portal.factories import belgian, campaign, enterprise_number, foreign, with_activity
from tests.portal.factories import declare as certified

pytestmark = pytest.mark.django_db
SCHEMAS = Path(str(__import__("peppol").__file__)).parent / "schema" / "maindoc"


#: The indexed threshold of 2025 (RULES.md D4): below it the company ticks the box "below 40,000 euro
#: indexed" (FAQ 6), as the form now requires.
THRESHOLD_2025 = Decimal("50290.17")


def declare(c: Campaign, operator: Operator, total: str, levied: str, *, not_liable: bool = False) -> None:
    below = not not_liable and Decimal(total) < THRESHOLD_2025
    figures = Figures(Decimal(total), Decimal(levied), below, not_liable)
    certified(c, operator, figures, now=datetime.datetime(2025, 5, 1, 9, tzinfo=datetime.UTC))


@pytest.fixture
def year() -> dict[str, Operator]:
    """2025 with its built-in parameters (cost per entity 415.74, maximum rate 0.3073 %, threshold 50,290.17)."""
    c = campaign(2025)
    a = with_activity(belgian("Alpha NV"), role="manufacturer", category="MDR IIa")  # 4 entities
    b = with_activity(belgian("Bravo BV"), role="distributor", category="MDR I")  # 1 entity
    c_op = with_activity(belgian("Charlie NV"), role="importer", category="MDR I")  # 3 entities, no declaration
    d = with_activity(belgian("Delta NV"), role="importer", category="MDR I")  # no declaration, no FPS figure
    e = with_activity(foreign("Echo GmbH", active=False), role="manufacturer", category="MDR I")
    declare(c, a, "100000.00", "100000.00")
    declare(c, b, "30000.00", "30000.00")
    declare(c, e, "0.00", "0.00", not_liable=True)
    FpsTurnover.objects.create(
        year=2025, enterprise_number=str(c_op.enterprise_number), total_turnover=Decimal("200000.00")
    )
    settings = year_settings_from_builtin(2025)
    settings.administrative_fine = Decimal("250.00")  # an assumption of the test: no source gives the fine
    settings.save()
    return {"a": a, "b": b, "c": c_op, "d": d, "e": e}


def confirm_all(year: int) -> None:
    settings = YearSettings.objects.get(year=year)
    settings.confirmed = [
        "budget",
        "activity_tax_share",
        "exemption_threshold",
        "max_levy_rate",
        "cost_per_entity",
        "effective_levy_rate",
        "administrative_fine",
        "late_interest_rate",
        "late_interest_period",
        "late_interest_base",
        "entity_table",
    ]
    settings.save()


def decide_not_lowered(year: int) -> AssessmentRun:
    """The closing decision "not lowered" (D5), then the run that picks it up for the levy."""
    year_closing_decide(year=year, lowered_rate=None, decided_on=datetime.date(2026, 2, 1), reference="CA 2026/01")
    return assessment_run(year=year)[0]


def test_the_run_assesses_everyone_who_must_declare(year: dict[str, Operator]) -> None:
    run, changes = assessment_run(year=2025)
    results = {r.operator.name: r for r in run.results.select_related("operator")}
    assert set(results) == {"Alpha NV", "Bravo BV", "Charlie NV", "Delta NV", "Echo GmbH"}
    assert run.summary["levy_pending_no_figure"] == [year["d"].enterprise_number]
    alpha, bravo, charlie, echo = (results[n] for n in ("Alpha NV", "Bravo BV", "Charlie NV", "Echo GmbH"))
    # 4 × 415.74 = 1662.96; 100,000.00 × 0.003073 = 307.30
    assert (alpha.entities, alpha.activity_tax, alpha.turnover_levy, alpha.total) == (
        4,
        Decimal("1662.96"),
        Decimal("307.30"),
        Decimal("1970.26"),
    )
    # 1 × 415.74; 30,000.00 is below 50,290.17: exempt
    assert (bravo.activity_tax, bravo.exempt, bravo.turnover_levy) == (Decimal("415.74"), True, Decimal("0.00"))
    # D6: 200,000.00 as both figures → 3 × 415.74 = 1247.22 and 614.60; D7: + 250.00 fine
    assert (charlie.default_assessment, charlie.activity_tax, charlie.turnover_levy, charlie.fine, charlie.total) == (
        True,
        Decimal("1247.22"),
        Decimal("614.60"),
        Decimal("250.00"),
        Decimal("2111.82"),
    )
    # D9: no declaration, no FPS figure: 3 × 415.74 = 1247.22 and the fine 250.00 = 1497.22; the levy waits
    delta = results["Delta NV"]
    assert (delta.levy_pending, delta.exempt, delta.activity_tax, delta.turnover_levy, delta.fine, delta.total) == (
        True,
        False,
        Decimal("1247.22"),
        Decimal("0.00"),
        Decimal("250.00"),
        Decimal("1497.22"),
    )
    assert [line[0] for line in delta.explanation if line[0] in {"D4", "D6", "D9"}] == ["D9"]
    assert (echo.liable, echo.total) == (False, Decimal("0.00"))
    assert run.rules_version and run.parameters["cost_per_entity"] == {"value": "415.74", "confirmed": False}
    assert any(line[0] == "D6" for line in charlie.explanation)
    assert changes == []


def test_a_rerun_shows_what_changed(year: dict[str, Operator]) -> None:
    assessment_run(year=2025)
    declare(Campaign.objects.get(year=2025), year["a"], "100000.00", "50000.00")  # a correction before invoicing
    _run, changes = assessment_run(year=2025)
    assert [(c.operator.name, c.before, c.after) for c in changes] == [
        ("Alpha NV", Decimal("1970.26"), Decimal("1816.61"))
    ]  # 50,000.00 × 0.003073 = 153.65


def test_an_unconfirmed_parameter_blocks_every_invoice_that_uses_it(year: dict[str, Operator]) -> None:
    run, _ = assessment_run(year=2025)
    with pytest.raises(ValidationError) as raised:
        invoices_issue(run=run, kind=InvoiceKind.ACTIVITY_TAX)
    assert "cost_per_entity" in str(raised.value) and not Invoice.objects.exists()
    settings = YearSettings.objects.get(year=2025)
    settings.confirmed = [*settings.confirmed, "cost_per_entity"]
    settings.save()
    with pytest.raises(ValidationError) as raised:
        invoices_issue(run=run, kind=InvoiceKind.ACTIVITY_TAX)
    assert "entity_table" in str(raised.value) and not Invoice.objects.exists()  # D11: 2025 uses it unconfirmed
    settings.confirmed = [*settings.confirmed, "entity_table"]
    settings.save()
    assert len(invoices_issue(run=run, kind=InvoiceKind.ACTIVITY_TAX)) == 4
    run = decide_not_lowered(2025)
    with pytest.raises(ValidationError) as raised:
        invoices_issue(run=run, kind=InvoiceKind.TURNOVER_LEVY)
    message = str(raised.value)
    assert "administrative_fine" in message and "max_levy_rate" in message
    assert "late_interest_base, late_interest_period, late_interest_rate" in message  # D10, by name


def test_invoices_numbered_without_gaps_with_valid_unique_communications(year: dict[str, Operator]) -> None:
    run, _ = assessment_run(year=2025)
    confirm_all(2025)
    notices = invoices_issue(run=run, kind=InvoiceKind.ACTIVITY_TAX, issued_on=datetime.date(2025, 12, 1))
    run = decide_not_lowered(2025)  # a rerun after the notices picks up the closing decision
    levies = invoices_issue(run=run, kind=InvoiceKind.TURNOVER_LEVY, issued_on=datetime.date(2026, 3, 2))
    assert [(i.number, i.operator.name, i.total) for i in notices] == [
        ("AT2025-000001", "Alpha NV", Decimal("1662.96")),
        ("AT2025-000002", "Bravo BV", Decimal("415.74")),
        ("AT2025-000003", "Charlie NV", Decimal("1247.22")),
        ("AT2025-000004", "Delta NV", Decimal("1247.22")),  # D9: no figure, the activity tax all the same
    ]
    # Charlie did not declare: levy 614.60, fine 250.00, and interest (D10) on the levy only, from the deadline
    # (30 June 2025) to the invoice (2 March 2026): 9 started months (July to March) × 0.8 % × 614.60 = 44.2512
    # → 44.25. Delta (D9): the fine alone, its levy pending.
    assert [(i.number, i.operator.name, i.total) for i in levies] == [
        ("TL2025-000001", "Alpha NV", Decimal("307.30")),
        ("TL2025-000002", "Charlie NV", Decimal("908.85")),
        ("TL2025-000003", "Delta NV", Decimal("250.00")),
    ]
    charlie = levies[1]
    assert [(line["description"], line["amount"], line["rule"]) for line in charlie.lines] == [
        ("turnover_levy", "614.60", "D5"),
        ("administrative_fine", "250.00", "D7"),
        ("late_interest", "44.25", "D10"),
    ]
    assert [(line["description"], line["amount"], line["rule"]) for line in levies[2].lines] == [
        ("turnover_levy", "0.00", "D9"),
        ("administrative_fine", "250.00", "D7"),
    ]
    communications = [i.structured_communication for i in Invoice.objects.all()]
    assert len(set(communications)) == 7 and all(ogm_vcs.is_valid(c) for c in communications)
    assert notices[0].due_on == datetime.date(2025, 12, 31)
    assert notices[0].debtor["name"] == "Alpha NV" and notices[0].parameters["cost_per_entity"]["value"] == "415.74"
    assert invoices_issue(run=run, kind=InvoiceKind.ACTIVITY_TAX) == []  # issued once
    assert invoices_issue(run=run, kind=InvoiceKind.TURNOVER_LEVY) == []
    with pytest.raises(ValidationError):
        assessment_run(year=2025)  # no rerun of the whole year once the levy is invoiced: corrections (D8)


def test_an_issued_invoice_cannot_be_changed_by_any_path(year: dict[str, Operator]) -> None:
    run, _ = assessment_run(year=2025)
    confirm_all(2025)
    invoice = invoices_issue(run=run, kind=InvoiceKind.ACTIVITY_TAX)[0]
    with pytest.raises(DatabaseError), transaction.atomic():
        Invoice.objects.filter(pk=invoice.pk).update(total=Decimal("1.00"))
    with pytest.raises(DatabaseError), transaction.atomic():
        invoice.total = Decimal("1.00")
        invoice.save()
    with pytest.raises(DatabaseError), transaction.atomic():
        Invoice.objects.filter(pk=invoice.pk).delete()
    invoice.refresh_from_db()
    assert invoice.total == Decimal("1662.96")
    from django.contrib.admin.sites import site

    model_admin = site._registry[Invoice]
    assert not model_admin.has_change_permission(None, invoice)  # type: ignore[arg-type]
    assert not model_admin.has_delete_permission(None, invoice)  # type: ignore[arg-type]


def test_credit_note_plus_new_invoice_equals_the_corrected_amount(year: dict[str, Operator]) -> None:
    run, _ = assessment_run(year=2025)
    confirm_all(2025)
    invoices_issue(run=run, kind=InvoiceKind.ACTIVITY_TAX)
    run = decide_not_lowered(2025)
    levy = invoices_issue(run=run, kind=InvoiceKind.TURNOVER_LEVY)[0]
    declare(Campaign.objects.get(year=2025), year["a"], "120000.00", "120000.00")
    corrected = operator_reassess(run=run, operator=year["a"])
    assert corrected.turnover_levy == Decimal("368.76")  # 120,000.00 × 0.003073
    credit, new = invoice_correct(invoice=levy, result=corrected, reason="corrected declaration")
    assert (credit.kind, credit.credits, credit.total) == (InvoiceKind.CREDIT_NOTE, levy, Decimal("307.30"))
    assert (new.total, new.follows) == (Decimal("368.76"), credit)
    assert levy.total - credit.total + new.total == corrected.turnover_levy
    with pytest.raises(ValidationError):
        credit_note_issue(invoice=levy, reason="again")
    assert ogm_vcs.is_valid(credit.structured_communication)


def test_computed_cost_per_entity_notices_add_up_to_the_budget(year: dict[str, Operator]) -> None:
    settings = YearSettings.objects.get(year=2025)
    settings.budget, settings.cost_per_entity = Decimal("10000.00"), None
    settings.save()
    run, _ = assessment_run(year=2025)
    # 10,000 × 0.25 = 2,500.00 over 4 + 1 + 3 + 3 = 11 entities = 227.2727 → 227.27 each (Echo is not liable)
    assert run.summary["cost_per_entity"] == "227.27"  # 2,500.00 / 11 entities (Delta, D9, counts: 4+1+3+3)
    cost_per_entity_fix(run=run)
    confirm_all(2025)
    run, _ = assessment_run(year=2025)
    notices = invoices_issue(run=run, kind=InvoiceKind.ACTIVITY_TAX)
    total = sum((i.total for i in notices), Decimal(0))
    # with Delta (D9, 3 entities): 11 entities: 10,000 × 0.25 / 11 = 227.27 each; 11 × 227.27 = 2499.97
    assert abs(total - Decimal("2500.00")) <= Decimal("0.005") * 11


def test_documents_pdf_ubl_and_email(year: dict[str, Operator]) -> None:
    run, _ = assessment_run(year=2025)
    confirm_all(2025)
    run = decide_not_lowered(2025)
    invoice = invoices_issue(run=run, kind=InvoiceKind.TURNOVER_LEVY)[1]  # Charlie: levy and fine
    html = invoice_html(invoice)
    # the fine's line cites what a company can look up (the law's article), not the internal D7 (issue 13)
    assert invoice.formatted_communication in html and "art. 14/17" in html and "(D7;" not in html
    document = invoice_pdf(invoice)
    assert document.startswith(b"%PDF-") and len(document) > 5_000

    ubl = etree.fromstring(invoice_ubl(invoice, pdf=document))
    etree.XMLSchema(etree.parse(str(SCHEMAS / "UBL-Invoice-2.1.xsd"))).assertValid(ubl)
    ns = {
        "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
        "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    }
    assert ubl.findtext("cbc:CustomizationID", namespaces=ns) == (
        "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
    )
    endpoint = ubl.find("cac:AccountingCustomerParty/cac:Party/cbc:EndpointID", ns)
    assert endpoint is not None and endpoint.get("schemeID") == "0208"
    assert endpoint.text == year["c"].enterprise_number
    assert ubl.findtext("cac:PaymentMeans/cbc:PaymentID", namespaces=ns) == invoice.formatted_communication
    lines = [Decimal(x.text or "") for x in ubl.findall("cac:InvoiceLine/cbc:LineExtensionAmount", ns)]
    assert (
        sum(lines)
        == Decimal(ubl.findtext("cac:LegalMonetaryTotal/cbc:PayableAmount", namespaces=ns) or "")
        == invoice.total
    )

    credit = credit_note_issue(invoice=invoice, reason="test")
    credit_ubl = etree.fromstring(invoice_ubl(credit))
    etree.XMLSchema(etree.parse(str(SCHEMAS / "UBL-CreditNote-2.1.xsd"))).assertValid(credit_ubl)
    assert credit_ubl.findtext("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID", namespaces=ns) == (
        invoice.number
    )

    invoice_send(invoice)
    (message,) = mail.outbox
    assert message.to == [year["c"].contact_email]
    assert message.attachments[0][0] == f"{invoice.number}.pdf"


def test_fps_file_is_all_or_nothing() -> None:
    good = b"enterprise_number;total_turnover\n0403199702;120000.50\nBE 0414.445.663;0\n"
    assert fps_turnover_import(year=2025, data=good) == (2, [])
    bad = good + f"0403199703;12\n{enterprise_number()};-5\n".encode()
    count, errors = fps_turnover_import(year=2025, data=bad)
    assert count == 0 and {(e.row, e.column) for e in errors} == {(4, "enterprise_number"), (5, "total_turnover")}
    assert FpsTurnover.objects.count() == 2  # the earlier import stands


def test_results_keep_their_inputs(year: dict[str, Operator]) -> None:
    run, _ = assessment_run(year=2025)
    charlie = OperatorAssessment.objects.get(run=run, operator=year["c"])
    assert charlie.inputs["fps_total_turnover"] == "200000.00"
    assert charlie.inputs["activities"] == [["importer", "MDR I"]]
