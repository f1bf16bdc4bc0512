"""Assessment plus issuing for 10,000 operators from the database, and PDF rendering per second.

Builds a fresh SQLite database (or the one DATABASE_URL names) in a temporary folder with N operators, their
activities and a declaration each, then times: the assessment run (reading everything from the database,
famhp.rules, storing every result), issuing the activity-tax notices and the turnover-levy invoices, and
rendering invoice PDFs. Prints the figures.

    .venv/bin/python bench/invoicing.py [--operators 10000] [--pdfs 300] [--workers N]
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("FAMHP_DATA_DIR", tempfile.mkdtemp(prefix="famhp-bench-"))
os.environ["DJANGO_SETTINGS_MODULE"] = "famhp.settings"

import django  # noqa: E402

from bench.machine import Clock, cores, describe  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from famhp.billing.documents import html_pdf, invoice_draft, invoice_html, invoice_pdf  # noqa: E402
from famhp.billing.models import INTEREST_PARAMETERS, Invoice, InvoiceKind, YearSettings  # noqa: E402
from famhp.billing.rendering import invoices_pdfs, pdf_workers  # noqa: E402
from famhp.billing.services import (  # noqa: E402
    assessment_run,
    invoices_issue,
    year_closing_decide,
    year_settings_from_builtin,
)
from famhp.declarations.models import Campaign, Declaration, DeclarationVersion  # noqa: E402
from famhp.registry.models import Activity, Operator  # noqa: E402
from famhp.rules import entity_table  # noqa: E402
from famhp.rules.entities import ROLES  # noqa: E402
from famhp.rules.parameters import PARAMETER_NAMES  # noqa: E402

YEAR = 2025


def build(count: int) -> None:
    rng = random.Random(7)
    table = entity_table()
    categories = {role: [c for c in table.categories if (c, role) in table.cells] for role in ROLES}
    operators = []
    for index in range(count):
        base = 2_000_000 + index
        operators.append(
            Operator(
                enterprise_number=f"0{base:07d}{97 - base % 97:02d}",
                name=f"Operator {index:05d}",
                contact_email=f"op{index}@example.be",
                language=rng.choice(["nl", "fr", "en"]),
            )
        )
    Operator.objects.bulk_create(operators, batch_size=2000)
    operators = list(Operator.objects.order_by("pk"))
    activities = [
        Activity(operator=o, role=role, category=rng.choice(categories[role]), registered_on=datetime.date(2019, 1, 1))
        for o in operators
        for role in rng.sample(ROLES, k=rng.choice([1, 1, 1, 2, 3]))
    ]
    Activity.objects.bulk_create(activities, batch_size=5000)
    campaign = Campaign.objects.create(
        year=YEAR, deadline=datetime.date(YEAR, 6, 30), late_filing_until=datetime.date(YEAR, 9, 30)
    )
    Declaration.objects.bulk_create([Declaration(campaign=campaign, operator=o) for o in operators], batch_size=5000)
    versions = []
    for declaration in Declaration.objects.all():
        total = Decimal(rng.randint(0, 3_000_000))
        versions.append(
            DeclarationVersion(
                declaration=declaration,
                number=1,
                total_turnover=total,
                levied_turnover=(total * Decimal("0.8")).quantize(Decimal("0.01")),
                certifier_name="Bench",
                certifier_capacity="company_auditor",
                certificate="certificates/bench.pdf",
                submitted_at=datetime.datetime(YEAR, 5, 1, tzinfo=datetime.UTC),
                submitted_by="bench",
            )
        )
    DeclarationVersion.objects.bulk_create(versions, batch_size=5000)
    settings = year_settings_from_builtin(YEAR)
    settings.confirmed = sorted({*PARAMETER_NAMES, *INTEREST_PARAMETERS, "entity_table"})
    settings.save()


def pdfs(count: int, workers: int | None) -> None:
    """Invoice PDFs: one process, then the pool of worker processes that renders a batch (ADR 17). Wall time
    and CPU time (user + system of this process and the workers): on a machine loaded by other work the CPU
    time says what the documents cost, and cores / CPU time per document what the machine can render. The
    documents are written directly (billing/pdfdirect.py); WeasyPrint, which renders the few documents the
    direct writer does not lay out (another script, a second page), is timed apart on a few of them."""
    # both kinds, each language (build() picks the language at random)
    notices = Invoice.objects.filter(kind=InvoiceKind.ACTIVITY_TAX).order_by("pk")[: count // 2]
    sample = [*notices, *Invoice.objects.filter(kind=InvoiceKind.TURNOVER_LEVY).order_by("pk")[: count - len(notices)]]
    invoice_pdf(sample[0])  # the first document loads and reduces the fonts: not counted
    html_pdf(invoice_html(sample[0]))  # WeasyPrint's first document loads its fonts: not counted
    direct = sum(not isinstance(invoice_draft(invoice), str) for invoice in sample)
    print(f"PDF documents written directly: {direct} of {len(sample)} (the others by WeasyPrint)")
    single = sample[: max(1, len(sample) // 5)]
    clock = Clock.now()
    for invoice in single:
        invoice_pdf(invoice)
    one = clock.since()
    print(
        f"PDF rendering, one process: {len(single)} invoices in {one.wall:.2f} s = {len(single) / one.wall:.1f} "
        f"per second; CPU {1000 * one.cpu / len(single):.1f} ms per document"
    )
    by_weasyprint = single[:10]
    clock = Clock.now()
    for invoice in by_weasyprint:
        html_pdf(invoice_html(invoice))
    weasy = clock.since()
    print(
        f"PDF rendering by WeasyPrint (the fallback), one process: CPU {1000 * weasy.cpu / len(by_weasyprint):.0f} ms "
        f"per document ({len(by_weasyprint)} invoices)"
    )
    pool = workers or pdf_workers()
    clock = Clock.now()
    rendered = [pdf.result() for _, pdf in invoices_pdfs(sample, workers=pool)]
    spent = clock.since()  # the workers have ended: their CPU time is counted
    assert len(rendered) == len(sample) and all(pdf.startswith(b"%PDF-") for pdf in rendered)
    per_document = spent.cpu / len(sample)
    print(
        f"PDF rendering, {pool} worker processes: {len(sample)} invoices in {spent.wall:.2f} s = "
        f"{len(sample) / spent.wall:.1f} per second (wall, pool start included); CPU {1000 * per_document:.1f} ms "
        f"per document (this process and the workers) = {cores() / per_document:.0f} per second on {cores()} idle "
        f"cores; {sum(map(len, rendered)) / len(rendered) / 1024:.1f} KB per PDF"
    )


def server_cpu() -> float | None:
    """CPU time (user + system) of this connection's PostgreSQL backend so far, when the server runs on this
    machine (its process is readable in /proc); None otherwise (SQLite works inside this process)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--operators", type=int, default=10_000)
    parser.add_argument(
        "--pdfs", type=int, default=300, help="PDFs to render (a fifth of them in one process); 0: none"
    )
    parser.add_argument("--workers", type=int, default=None, help="PDF worker processes (default: one a core)")
    args = parser.parse_args()
    print(describe(connection.vendor))
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    build(args.operators)
    print(f"database: {connection.vendor}; {args.operators:,} operators built in {time.perf_counter() - started:.1f} s")

    # each step's wall time and CPU time (this process; PostgreSQL's own work is in the wall time, and in the server
    # CPU time when the server runs on this machine): on a machine loaded by other work the CPU time says what the
    # step costs
    steps: dict[str, tuple[Clock, float | None]] = {}

    def step(name: str, work: Callable[[], Any]) -> Any:
        server, clock = server_cpu(), Clock.now()
        done = work()
        spent, after = clock.since(), server_cpu()
        steps[name] = (spent, None if server is None or after is None else after - server)
        return done

    run, _ = step("assessment run", lambda: assessment_run(year=YEAR))
    notices = step(
        "activity-tax notices",
        lambda: invoices_issue(run=run, kind=InvoiceKind.ACTIVITY_TAX, issued_on=datetime.date(YEAR, 12, 1)),
    )
    # the closing decision (D5), then the rerun that picks it up for the levy (ADR 11)
    year_closing_decide(
        year=YEAR, lowered_rate=Decimal("0.0029438"), decided_on=datetime.date(YEAR + 1, 2, 16), reference="bench"
    )
    run, _ = step("rerun after the closing decision", lambda: assessment_run(year=YEAR))
    levies = step(
        "turnover-levy invoices",
        lambda: invoices_issue(run=run, kind=InvoiceKind.TURNOVER_LEVY, issued_on=datetime.date(YEAR + 1, 3, 2)),
    )
    clock = Clock.now()
    again = invoices_issue(run=run, kind=InvoiceKind.TURNOVER_LEVY, issued_on=datetime.date(YEAR + 1, 3, 2))
    repeated = clock.since()
    assert not again
    counts = {
        "assessment run": f"{run.results.count():,} operators",
        "activity-tax notices": f"{len(notices):,} issued",
        "rerun after the closing decision": f"{run.results.count():,} operators",
        "turnover-levy invoices": f"{len(levies):,} issued",
    }
    for name, (spent, server) in steps.items():
        on_server = "" if server is None else f", database server CPU {server:.2f} s"
        print(f"{name}: {counts[name]} in {spent.wall:.2f} s (CPU {spent.cpu:.2f} s{on_server})")
    print(f"the same issue again: {len(again)} issued in {repeated.wall:.2f} s (CPU {repeated.cpu:.2f} s)")
    wall, cpu = sum(s.wall for s, _ in steps.values()), sum(s.cpu for s, _ in steps.values())
    servers = [server for _, server in steps.values() if server is not None]
    on_server = f", database server CPU {sum(servers):.2f} s" if len(servers) == len(steps) else ""
    print(
        f"the year's run (assessment + notices + rerun + levy invoices): {wall:.2f} s (CPU {cpu:.2f} s{on_server}) "
        f"for {args.operators:,} operators; peak memory (RSS) {peak_rss_mb():.0f} MB"
    )

    if args.pdfs:
        pdfs(args.pdfs, args.workers)
    assert YearSettings.objects.get(year=YEAR).year == YEAR


if __name__ == "__main__":
    main()
