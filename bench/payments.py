"""Import and matching of 100,000 bank lines (camt.053 and CODA), from a fresh database.

Creates N invoices, then a camt.053 file and a CODA file of N payments each (90 % with the structured
communication, 5 % with it written in the free text, 5 % without any), and times statement_import on each:
parsing and checking the statement, looking up known movements and twins (ADR 12), storing every line,
matching. Then the camt.053 day again as CODA: every line a twin, queued, none allocated. Prints the figures: the time on the clock and
the CPU time of this process and its children, user + system (a large file is read by a second process while
this one stores it: its share is printed too; on a shared machine the clock also counts the others' work), and
on PostgreSQL on this machine the CPU time of the server process of the connection (read from /proc).

    .venv/bin/python bench/payments.py [--lines 100000]
"""

from __future__ import annotations

import argparse
import datetime
import os
import resource
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("FAMHP_DATA_DIR", tempfile.mkdtemp(prefix="famhp-bench-"))
os.environ["DJANGO_SETTINGS_MODULE"] = "famhp.settings"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from bench.machine import Clock, describe  # noqa: E402
from famhp.billing.models import Invoice, InvoiceKind  # noqa: E402
from famhp.billing.ogm import structured_communication  # noqa: E402
from famhp.payments.models import Allocation  # noqa: E402
from famhp.payments.samples import Payment, camt053, coda  # noqa: E402
from famhp.payments.services import statement_import  # noqa: E402
from famhp.registry.models import Operator  # noqa: E402


def enterprise_number(n: int) -> str:
    """A valid Belgian enterprise number: 8 digits and 97 minus their remainder by 97."""
    base = 10_000_000 + n
    return f"{base:08d}{97 - base % 97:02d}"


def invoices(count: int) -> list[Invoice]:
    """One activity-tax notice per operator: the database keeps one live invoice per (year, kind, operator)."""
    operators = Operator.objects.bulk_create(
        [
            Operator(enterprise_number=enterprise_number(n), name=f"Bench {n} NV", contact_email="b@example.be")
            for n in range(1, count + 1)
        ],
        batch_size=5000,
    )
    built = [
        Invoice(
            year=2025,
            kind=InvoiceKind.ACTIVITY_TAX,
            number=f"AT2025-{n:06d}",
            sequence=n,
            structured_communication=structured_communication(year=2025, kind="activity_tax", sequence=n),
            operator=operator,
            debtor={"name": "Bench NV"},
            language="nl",
            issued_on=datetime.date(2025, 12, 1),
            due_on=datetime.date(2025, 12, 31),
            total=Decimal("415.74"),
            lines=[],
            parameters={},
            rules_version="bench",
        )
        for n, operator in enumerate(operators, start=1)
    ]
    return Invoice.objects.bulk_create(built, batch_size=5000)


def payments(invoices: list[Invoice], booked: datetime.date) -> list[Payment]:
    out = []
    for n, invoice in enumerate(invoices):
        if n % 20 == 0:
            out.append(Payment(Decimal("415.74"), free_text="no reference", booked=booked))
        elif n % 20 == 1:
            out.append(
                Payment(Decimal("415.74"), free_text=f"contribution {invoice.formatted_communication}", booked=booked)
            )
        else:
            out.append(Payment(Decimal("415.74"), structured=invoice.structured_communication, booked=booked))
    return out


def server_cpu() -> float | None:
    """PostgreSQL on this machine: the CPU time (user + system) of this connection's server process so far,
    read from /proc; None elsewhere (SQLite works inside this process: its CPU is in the process's figure)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime and stime, in clock ticks


def children_cpu() -> float:
    """The CPU time (user + system) of this process's finished children: the second process that reads a large
    file while this one stores it (ADR 12 addendum); part of the CPU figure printed, and shown on its own."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def server_part(before: float | None) -> str:
    after = server_cpu()
    return "" if before is None or after is None else f" + {after - before:.2f} s of the server's CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=100_000)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    half = args.lines
    made = invoices(2 * half)
    print(describe(connection.vendor))
    print(f"{len(made):,} invoices to match against")
    for name, build, subset, day in (
        ("camt.053", lambda p: camt053(p, statement_id="BENCH"), made[:half], datetime.date(2026, 1, 15)),
        ("CODA", coda, made[half:], datetime.date(2026, 1, 16)),
    ):
        started = time.perf_counter()
        data = build(payments(subset, day))
        built = time.perf_counter() - started
        before = Allocation.objects.count()
        server, children = server_cpu(), children_cpu()
        clock = Clock.now()
        statement, _new = statement_import(data=data, name=f"bench.{name}")
        elapsed, cpu = clock.since()
        server_said, reader = server_part(server), children_cpu() - children
        matched = Allocation.objects.count() - before
        print(
            f"{name}: {len(data) / 1e6:.1f} MB made in {built:.1f} s; imported {statement.lines_new:,} lines and "
            f"matched {matched:,} in {elapsed:.2f} s, {cpu:.2f} s of CPU ({reader:.2f} s of it in the reading "
            f"process){server_said} ({statement.lines_new / elapsed:,.0f} lines per second)"
        )
        started = time.perf_counter()
        _again, new = statement_import(data=data, name="again")
        print(
            f"{name}: the same file again: {'added lines!' if new else 'nothing added'} in "
            f"{time.perf_counter() - started:.2f} s"
        )
    # ADR 12 addendum: the camt.053 day received again as CODA: every line kept, none matched, all queued as twins
    data = coda(payments(made[:half], datetime.date(2026, 1, 15)), statement=500)
    before = Allocation.objects.count()
    server, children = server_cpu(), children_cpu()
    clock = Clock.now()
    statement, _new = statement_import(data=data, name="bench-twins.coda")
    elapsed, cpu = clock.since()
    print(
        f"the camt.053 day again as CODA: {statement.lines_new:,} lines kept, {statement.lines_twin:,} possible "
        f"duplicates queued, {Allocation.objects.count() - before:,} allocated, in {elapsed:.2f} s, {cpu:.2f} s of "
        f"CPU ({children_cpu() - children:.2f} s of it in the reading process){server_part(server)}"
    )


if __name__ == "__main__":
    main()
