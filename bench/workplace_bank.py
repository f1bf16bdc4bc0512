"""The workplace's bank pages with a large queue (issue 12): a CODA file of N payments handed in through the
workplace (the background task's path, run in this process), then the result page, the queue, the queue filtered,
a line with a search and one allocation, timed as a finance officer's browser would ask for them.

N invoices; 90 % of the payments carry their structured communication (allocated on import), 5 % write it in the
free text (suggested in the queue), 5 % carry none (the queue, without a suggestion from a reference); every
payment comes from one account (bench/payments.py's), the worst case for the suggestions by payer: an account that
paid for every operator. Prints the time on the clock and the CPU time of this process (user + system;
PostgreSQL's server work is not in it). Needs a fresh database (SQLite: a new one each run; PostgreSQL: an empty
database in DATABASE_URL).

    .venv/bin/python bench/workplace_bank.py [--lines 20000]
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("FAMHP_DATA_DIR", tempfile.mkdtemp(prefix="famhp-bench-"))
os.environ["DJANGO_SETTINGS_MODULE"] = "famhp.settings"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django_otp import DEVICE_ID_SESSION_KEY  # noqa: E402
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402

from bench.machine import Clock, describe  # noqa: E402
from bench.payments import invoices, payments  # noqa: E402
from famhp.accounts.models import Person  # noqa: E402
from famhp.accounts.roles import FINANCE_OFFICER, agency_roles_setup  # noqa: E402
from famhp.payments.samples import coda  # noqa: E402
from famhp.workplace import banking  # noqa: E402
from famhp.workplace.models import BankImport  # noqa: E402


def officer() -> Client:
    member = Person.objects.create_user("bench-officer", email="officer@fagg-afmps.example", is_staff=True)
    member.groups.add(agency_roles_setup()[FINANCE_OFFICER])
    device = TOTPDevice.objects.create(user=member, name="app", confirmed=True)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(member, backend="django.contrib.auth.backends.ModelBackend")
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def timed(label: str, client: Client, url: str, **post: str) -> None:
    clock = Clock.now()
    response = client.post(url, post) if post else client.get(url)
    wall, cpu = clock.since()
    assert response.status_code in {200, 302}, (url, response.status_code)
    print(f"{label}: {wall:.3f} s, {cpu:.3f} s of CPU ({len(response.content) / 1e3:.0f} kB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=20_000)
    args = parser.parse_args()
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.ALLOWED_HOSTS = ["testserver", *settings.ALLOWED_HOSTS]
    call_command("migrate", verbosity=0)
    made = invoices(args.lines)
    client = officer()
    print(describe(connection.vendor))
    data = coda(payments(made, datetime.date(2026, 1, 15)))
    print(f"{len(made):,} invoices; a CODA file of {len(data) / 1e6:.1f} MB")
    clock = Clock.now()
    started = banking.bank_import_start(data=data, name="bench.cod", by=Person.objects.get())
    wall, cpu = clock.since()
    assert started.state == BankImport.State.DONE, started.message
    statement = started.statement
    assert statement is not None
    print(
        f"import through the workplace (background path): {statement.lines_new:,} lines, "
        f"{statement.lines_matched:,} allocated on import, in {wall:.2f} s, {cpu:.2f} s of CPU"
    )
    timed("result page", client, f"/workplace/bank/imports/{started.pk}/result/")
    timed("queue, first page (50 lines with their suggestions)", client, "/workplace/bank/queue/")
    timed("queue, last page", client, "/workplace/bank/queue/?page=last")
    timed("queue filtered (euro credits)", client, "/workplace/bank/queue/?reason=credit&currency=EUR")
    line = banking.queue().first()
    assert line is not None
    timed("a line with a search by name", client, f"/workplace/bank/lines/{line.pk}/?q=Bench 1")
    invoice = made[0]
    timed(
        "one allocation (POST)",
        client,
        f"/workplace/bank/lines/{line.pk}/allocate/",
        invoice=str(invoice.pk),
        amount="1.00",
        seen="0.00",
    )
    print(f"still waiting: {banking.queue().count():,} lines")


if __name__ == "__main__":
    main()
