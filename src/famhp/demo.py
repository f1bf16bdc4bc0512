"""A realistic demo contribution year: 2025 (turnover of 2024), 320 operators, a campaign under way.

Belgian and foreign operators, single and multi-activity, distributors with and without the self-control guide,
closed activities, unregistered ones; invitations sent, declarations on time, late, corrected, below the
threshold, and companies that have not declared. Deterministic (fixed seed).
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from famhp.accounts.models import AccessRole
from famhp.accounts.roles import FINANCE_OFFICER, agency_roles_setup
from famhp.accounts.services import access_grant, foreign_account_create
from famhp.billing.models import INTEREST_PARAMETERS, FpsTurnover, Invoice, InvoiceKind
from famhp.billing.services import (
    assessment_run,
    corrections_apply,
    invoices_issue,
    year_closing_decide,
    year_settings_from_builtin,
)
from famhp.declarations.models import Campaign, Declaration, DeclarationVersion
from famhp.declarations.services import (
    Figures,
    campaign_open,
    campaign_send_invitations,
    declaration_submit,
    invitation_url,
)
from famhp.payments.samples import Payment, camt053
from famhp.payments.services import statement_import
from famhp.registry.models import Activity, Operator, SelfControlDeclaration
from famhp.registry.selectors import operators_must_declare
from famhp.rules import entity_table
from famhp.rules.entities import ROLES
from famhp.rules.parameters import PARAMETER_NAMES, resolve_parameters

YEAR = 2025
ADMIN_USER, ADMIN_PASSWORD = "agency", "demo-agency-2025"
#: The demo's people. The Belgian manager logs in through the loopback OpenID Connect provider as this subject.
BELGIAN_MANAGER = {
    "sub": "demo-manager-be",
    "email": "an.peeters@example.be",
    "given_name": "An",
    "family_name": "Peeters",
}
FOREIGN_MANAGER, FOREIGN_PASSWORD = "hans.weber", "demo-hans-2025!"
#: The agency's staff besides ADMIN_USER (finance officer), one per role of docs/roles.md; same password.
STAFF = {"auditor": "Auditor", "support": "Support", "administrator": "Administrator"}
#: No source gives the administrative fine (D7): the demo uses this made-up amount, marked as such.
DEMO_FINE = Decimal("250.00")
#: The demo year's closing decision (D5): lowered to 0.29438 %, below the maximum of 0.3073 %.
DEMO_LOWERED_RATE = Decimal("0.0029438")

BELGIAN_CITIES = [
    ("1000", "Brussel"),
    ("2000", "Antwerpen"),
    ("9000", "Gent"),
    ("4000", "Liège"),
    ("5000", "Namur"),
    ("3000", "Leuven"),
    ("8000", "Brugge"),
    ("6000", "Charleroi"),
    ("1300", "Wavre"),
    ("3500", "Hasselt"),
]
FOREIGN = [
    ("DE", "Hamburg", "de"),
    ("FR", "Lyon", "fr"),
    ("NL", "Eindhoven", "nl"),
    ("LU", "Luxembourg", "fr"),
    ("IT", "Milano", "en"),
    ("IE", "Galway", "en"),
    ("US", "Minneapolis", "en"),
    ("CH", "Basel", "de"),
]
NAME_PARTS = (
    ["Medi", "Ortho", "Cardio", "Dento", "Vita", "Bio", "Neo", "Pharma", "Care", "Labo", "Audio", "Opti"],
    ["tech", "med", "line", "care", "vision", "logic", "sense", "flow", "form", "plus"],
    ["NV", "BV", "SA", "SRL", "GmbH", "SAS", "BV", "Ltd"],
)
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"

#: The year's indexed threshold (D4): a corrected total below it ticks the FAQ 6 box.
THRESHOLD = resolve_parameters(YEAR).values["exemption_threshold"].value


def enterprise_number(rng: random.Random) -> str:
    """A valid Belgian enterprise number: 0 + 7 digits, then 97 − (those 8 digits mod 97)."""
    base = rng.randint(2_000_000, 9_999_999)
    return f"0{base:07d}{97 - (base % 97):02d}"


@dataclass
class DemoSummary:
    operators: int
    must_declare: int
    invitations: int
    declared: int
    late: int
    corrected: int
    links: list[tuple[str, str]]
    companies: list[tuple[str, str]] = field(default_factory=list)
    invoices: int = 0
    #: the demo deadline of the next year's campaign, still ahead (issue 13)
    demo_deadline: datetime.date | None = None


def load_demo(progress: Callable[[int, int], None] | None = None, count: int = 320) -> DemoSummary:
    rng = random.Random(2025)
    table = entity_table()
    categories = {role: [c for c in table.categories if (c, role) in table.cells] for role in ROLES}
    operators: list[Operator] = []
    with transaction.atomic():
        used: set[str] = set()
        for index in range(count):
            foreign = index % 4 == 3
            name = f"{rng.choice(NAME_PARTS[0])}{rng.choice(NAME_PARTS[1])} {rng.choice(NAME_PARTS[2])}"
            if foreign:
                country, city, language = rng.choice(FOREIGN)
                operator = Operator(
                    foreign_identifier=f"{rng.randint(100000, 999999)}-{index}",
                    country=country,
                    name=name,
                    street=f"Industriestrasse {rng.randint(1, 200)}",
                    postal_code=str(rng.randint(10000, 99999)),
                    city=city,
                    language=language,
                    established_in_belgium=False,
                    active_in_belgium=index % 20 != 3,
                    contact_email=f"finance{index}@example.{country.lower()}",
                )
            else:
                number = enterprise_number(rng)
                while number in used:
                    number = enterprise_number(rng)
                used.add(number)
                postal, city = rng.choice(BELGIAN_CITIES)
                operator = Operator(
                    enterprise_number=number,
                    country="BE",
                    name=name,
                    street=f"Kerkstraat {rng.randint(1, 300)}",
                    postal_code=postal,
                    city=city,
                    language=rng.choice(["nl", "nl", "fr", "fr", "en"]),
                    contact_email=f"boekhouding{index}@example.be",
                )
            operator.unregistered_activity = index % 53 == 7
            operator.save()
            operators.append(operator)
            if operator.unregistered_activity:
                continue
            roles = rng.sample(ROLES, k=rng.choices([1, 2, 3], weights=[70, 22, 8])[0])
            if index % 5 == 0:
                roles = ["distributor"]
            for role in roles:
                for category in rng.sample(categories[role], k=rng.randint(1, 2)):
                    registered = datetime.date(rng.randint(2012, 2024), rng.randint(1, 12), rng.randint(1, 28))
                    closed = None
                    if index % 17 == 5:
                        closed = datetime.date(2024, rng.randint(1, 12), 15)  # stopped in 2024: still declares (FAQ 12)
                    elif index % 29 == 11:
                        closed = datetime.date(2022, 6, 30)  # closed long ago: no longer liable (FAQ 13)
                        registered = min(registered, datetime.date(2020, 1, 1))
                    Activity.objects.create(
                        operator=operator, role=role, category=category, registered_on=registered, closed_on=closed
                    )
            if "distributor" in roles and rng.random() < 0.55:
                SelfControlDeclaration.objects.create(
                    operator=operator, declared_on=datetime.date(rng.randint(2018, 2024), 3, 1), complies=True
                )
            if progress:
                progress(index + 1, count)
        today = timezone.localdate()
        campaign = campaign_open(
            year=YEAR, late_filing_until=max(today + datetime.timedelta(days=120), datetime.date(YEAR, 6, 30))
        )

    invitations = campaign_send_invitations(campaign=campaign)
    declared = late = corrected = 0
    invited = [o for o in operators if o.invitations.filter(campaign=campaign).exists()]
    for position, operator in enumerate(invited):
        kind = position % 10
        if kind in (8, 9):
            continue  # not declared yet
        small = kind == 3
        total = (
            Decimal(rng.randint(2_000, 45_000) if small else rng.randint(60_000, 6_000_000))
            + Decimal(rng.randint(0, 99)) / 100
        )
        if not operator.established_in_belgium and not operator.active_in_belgium:
            total = Decimal(0)
        levied = (total * Decimal(rng.randint(40, 100)) / 100).quantize(Decimal("0.01"))
        when = datetime.datetime(YEAR, rng.randint(3, 6), rng.randint(1, 28), 10, tzinfo=datetime.UTC)
        if kind == 7:
            when = datetime.datetime(YEAR, rng.randint(7, 9), rng.randint(1, 28), 10, tzinfo=datetime.UTC)
        figures = Figures(total, levied, small, total == 0 and not operator.established_in_belgium)
        _submit(campaign, operator, figures, when, rng)
        declared += 1
        late += kind == 7
        if kind == 5:  # a correction a month later: a second version, with the boxes its new total calls for
            fixed = Figures(
                total + Decimal("1250.00"),
                levied + Decimal("1250.00"),
                THRESHOLD is not None and total + Decimal("1250.00") < THRESHOLD,
                False,
            )
            _submit(campaign, operator, fixed, when + datetime.timedelta(days=30), rng)
            corrected += 1
    invoices = _bill(invited, campaign, rng)
    user_model = get_user_model()
    if not user_model.objects.filter(username=ADMIN_USER).exists():
        admin = user_model.objects.create_user(ADMIN_USER, "agency@example.be", ADMIN_PASSWORD, is_staff=True)
        groups = agency_roles_setup()
        admin.groups.add(groups[FINANCE_OFFICER])
        for username, role in STAFF.items():
            member = user_model.objects.create_user(username, f"{username}@example.be", ADMIN_PASSWORD, is_staff=True)
            member.groups.add(groups[role])
    belgian_company = next(o for o in operators if o.established_in_belgium and o.activities.exists())
    access_grant(
        operator=belgian_company,
        email=BELGIAN_MANAGER["email"],
        role=AccessRole.MANAGER,
        granted_by=None,
        subject=BELGIAN_MANAGER["sub"],  # binds at the federal login of this subject (issue 10)
    )
    foreign_company = next(o for o in operators if not o.established_in_belgium and o.active_in_belgium)
    hans, _link = foreign_account_create(
        operator=foreign_company,
        username=FOREIGN_MANAGER,
        email="hans.weber@example.de",
        created_by=None,
        role=AccessRole.MANAGER,
    )
    hans.set_password(FOREIGN_PASSWORD)
    hans.save()
    undeclared = [o for o in invited if not Declaration.objects.filter(campaign=campaign, operator=o).exists()]
    corrected_one = DeclarationVersion.objects.filter(number=2).select_related("declaration__operator").first()
    links = []
    for label, abroad in (("Belgian company, not declared yet", False), ("Foreign company, not declared yet", True)):
        # a small demo (count) may have none of one kind
        found = next((o for o in undeclared if o.established_in_belgium != abroad), None)
        if found is not None:
            links.append((label, invitation_url(campaign=campaign, operator=found)))
    if corrected_one:
        links.append(
            (
                "Company with a corrected declaration",
                invitation_url(campaign=campaign, operator=corrected_one.declaration.operator),
            )
        )
    companies = [
        (belgian_company.name, f"established in Belgium: eID/itsme (demo provider), subject {BELGIAN_MANAGER['sub']}"),
        (
            foreign_company.name,
            f"abroad: user {FOREIGN_MANAGER}, password {FOREIGN_PASSWORD}, then an authenticator app",
        ),
    ]
    # issue 13: the 2025 campaign is long past its deadline on any day the demo runs, so every filing in it is
    # late. The next year's campaign opens with a demo deadline still ahead, so that a company can file on time;
    # the portal shows it as a demo date (settings.FAMHP_DEMO). Its parameters are not published: no estimate.
    next_deadline = max(Campaign.default_deadline(YEAR + 1), timezone.localdate() + datetime.timedelta(days=45))
    next_campaign = Campaign.objects.filter(year=YEAR + 1).first() or campaign_open(
        year=YEAR + 1, deadline=next_deadline, late_filing_until=next_deadline + datetime.timedelta(days=60)
    )
    links.append(
        (
            f"{belgian_company.name}, campaign {YEAR + 1} (demo deadline {next_campaign.deadline:%d/%m/%Y})",
            invitation_url(campaign=next_campaign, operator=belgian_company),
        )
    )
    must = operators_must_declare(YEAR).count()
    return DemoSummary(
        len(operators), must, invitations, declared, late, corrected, links, companies, invoices, next_campaign.deadline
    )


def _bill(invited: list[Operator], campaign: Campaign, rng: random.Random) -> int:
    """The agency's side of the demo year (ADR 11): FPS Finance figures for Belgian non-filers (none for the
    foreign ones: D9, activity tax and fine only), the settings (confirmed for the demo, with a demo fine: no
    source gives the real one), an assessment run, the activity-tax notices, the closing decision "lowered to
    0.29438 %" and a rerun that picks it up, the turnover-levy invoices, one correction after invoicing (D8:
    a credit note and a new invoice), then the payments."""
    for operator in invited:
        if operator.enterprise_number and not operator.declarations.exists():
            FpsTurnover.objects.create(
                year=YEAR,
                enterprise_number=operator.enterprise_number,
                total_turnover=Decimal(rng.randint(20_000, 900_000)),
            )
    settings = year_settings_from_builtin(YEAR)
    settings.administrative_fine = DEMO_FINE
    settings.confirmed = sorted({*PARAMETER_NAMES, *INTEREST_PARAMETERS, "entity_table"})
    settings.save()
    run, _changes = assessment_run(year=YEAR)
    notices = invoices_issue(run=run, kind=InvoiceKind.ACTIVITY_TAX, issued_on=datetime.date(YEAR, 12, 1))
    year_closing_decide(
        year=YEAR,
        lowered_rate=DEMO_LOWERED_RATE,
        decided_on=datetime.date(YEAR + 1, 2, 16),
        reference="FAMHP board decision 2026/04 (demo)",
    )
    run, _changes = assessment_run(year=YEAR)
    levies = invoices_issue(run=run, kind=InvoiceKind.TURNOVER_LEVY, issued_on=datetime.date(YEAR + 1, 3, 2))
    corrections = _correct_after_invoicing(campaign, levies, rng)
    live = [i for i in notices + levies if not i.credit_notes.exists()] + corrections
    _pay(live, rng)
    return len(notices) + len(levies) + 2 * len(corrections)


def _correct_after_invoicing(campaign: Campaign, levies: list[Invoice], rng: random.Random) -> list[Invoice]:
    """A company corrects its declaration after its turnover-levy invoice (D8): the agency applies the
    correction, a credit note and a new invoice follow."""
    invoiced = next(
        (
            invoice
            for invoice in levies
            if invoice.assessment is not None
            and "declaration_version" in invoice.assessment.inputs
            and invoice.assessment.turnover_levy > 0
        ),
        None,
    )
    if invoiced is None:
        return []
    version = DeclarationVersion.objects.get(pk=invoiced.assessment.inputs["declaration_version"])  # type: ignore[union-attr]
    fixed = Figures(
        version.total_turnover + Decimal("10000.00"), version.levied_turnover + Decimal("10000.00"), False, False
    )
    _submit(campaign, invoiced.operator, fixed, datetime.datetime(YEAR + 1, 4, 8, 10, tzinfo=datetime.UTC), rng)
    done = corrections_apply(year=YEAR, operator=invoiced.operator, issued_on=datetime.date(YEAR + 1, 4, 15))
    return [c.invoice for c in done if c.invoice is not None]


def _pay(invoices: list[Invoice], rng: random.Random) -> None:
    """The bank's statements of the demo year: most invoices paid, some partly, some by a third party, a few
    overpaid, one payment without a usable communication (the staff queue), the rest overdue."""
    payments = []
    for index, invoice in enumerate(invoices):
        kind = index % 12
        if kind in (10, 11):
            continue  # overdue: never paid
        amount = invoice.total
        if kind == 7:
            amount = (invoice.total / 2).quantize(Decimal("0.01"))  # partly paid
        elif kind == 8:
            amount = invoice.total + Decimal("100.00")  # overpaid
        payer = "Medsupply Distribution BV" if kind == 9 else invoice.debtor["name"]  # a third party (FAQ 19)
        booked = invoice.issued_on + datetime.timedelta(days=rng.randint(5, 40))
        payments.append(Payment(amount, payer=payer, structured=invoice.structured_communication, booked=booked))
    payments.append(Payment(Decimal("415.74"), payer="Unknown Payer SRL", free_text="contribution 2025"))
    returned = payments[0]
    returned.end_to_end = "DEMO-E2E-RETURNED"
    statement_import(data=camt053(payments, statement_id="DEMO-2026-001"), name="demo-camt053.xml")
    # the bank returns the first payment (issue 11: the queue shows the reversal and the invoice is unpaid again),
    # and a payer pays in US dollars on the agency's dollar account (never allocated to a euro invoice)
    reversal = Payment(
        -returned.amount,
        payer=returned.payer,
        end_to_end="DEMO-E2E-RETURNED",
        reversal=True,
        return_reason="AC04",
        booked=returned.booked + datetime.timedelta(days=3),
    )
    opening = Decimal("1000.00") + sum((p.amount for p in payments), Decimal(0))
    statement_import(
        data=camt053([reversal], statement_id="DEMO-2026-002", opening=opening), name="demo-camt053-return.xml"
    )
    dollars = Payment(Decimal("450.00"), payer="Boston Devices Inc", payer_account="GB33BUKB20201555555555")
    dollars.structured = payments[1].structured
    statement_import(data=camt053([dollars], statement_id="DEMO-2026-USD", currency="USD"), name="demo-camt053-usd.xml")


def _submit(
    campaign: Campaign, operator: Operator, figures: Figures, when: datetime.datetime, rng: random.Random
) -> None:
    capacity = rng.choice(["company_auditor", "external_accountant", "internal_accountant"])
    declaration_submit(
        campaign=campaign,
        operator=operator,
        figures=figures,
        certifier_name=rng.choice(["An Peeters", "Marc Dubois", "Sofie Janssens", "Luc Lambert", "Eva Maes"]),
        certifier_capacity=capacity,
        certifier_membership_number="" if capacity == "internal_accountant" else f"{rng.randint(10000, 99999)}",
        certificate=SimpleUploadedFile("certificate.pdf", PDF, content_type="application/pdf"),
        submitted_by="demo",
        now=when,
    )
