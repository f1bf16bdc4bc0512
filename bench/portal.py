"""A bounded loopback load on the portal and the API: N concurrent users for S seconds against gunicorn with the
production settings and PostgreSQL, on four pages: the home page, the declaration figures page, the invoice
list and the API's invoice list. Prints p50/p95/p99 of each, and each one's ratio to the home page's.

Issue 14's target: at 50 concurrent users, the p99 of every page within 3x the home page's p99.

    .venv/bin/python bench/portal.py [--users 50] [--seconds 20] [--workers 4] [--threads 4]

Needs PostgreSQL (BENCH_DATABASE_URL, default postgres://famhp:famhp@127.0.0.1:5432/famhp_bench_portal, made
afresh and dropped at the end; the role needs CREATEDB). Everything listens on 127.0.0.1 only. Each user is a
person logged in (a session as the federal login makes it) with one company, one invoice, an open campaign, and
a read-only API token; users and time are bounded (at most 200 users, 120 seconds).
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://famhp:famhp@127.0.0.1:5432/famhp_bench_portal"
MAX_USERS, MAX_SECONDS = 200, 120
PAGES = ("home", "figures", "invoices", "api_invoices")


def environment(database_url: str, data_dir: str) -> dict[str, str]:
    """The production settings (ADR: FAMHP_PRODUCTION=1), for the server and for this process alike."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "DJANGO_SETTINGS_MODULE": "famhp.settings",
        "FAMHP_PRODUCTION": "1",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url,
        "FAMHP_DATA_DIR": data_dir,
        # the bench measures latency, not the rate limit: every user's token has room
        "FAMHP_API_RATE": "1000000/min",
    }


def database_recreate(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    with psycopg.connect(url.replace(parsed.path, "/postgres"), autocommit=True) as maintenance:
        maintenance.execute(f'DROP DATABASE IF EXISTS "{name}"')
        maintenance.execute(f'CREATE DATABASE "{name}"')


def database_drop(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    with psycopg.connect(url.replace(parsed.path, "/postgres"), autocommit=True) as maintenance:
        maintenance.execute(f'DROP DATABASE IF EXISTS "{parsed.path.lstrip("/")}" WITH (FORCE)')


class User:
    def __init__(self, operator_id: int, cookie: str, token: str) -> None:
        self.operator_id, self.cookie, self.token = operator_id, cookie, token


def seed(count: int) -> list[User]:
    """``count`` companies, each with its manager logged in, an invoice, and a token; one open campaign."""
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from django.utils import timezone

    from famhp.accounts.models import Access, AccessRole, Person
    from famhp.accounts.selectors import OIDC_BACKEND
    from famhp.api.services import token_create
    from famhp.billing.models import Invoice, InvoiceKind
    from famhp.billing.ogm import structured_communication
    from famhp.declarations.services import campaign_open
    from famhp.registry.models import Activity, Operator

    call_command("migrate", verbosity=0, interactive=False)
    today = timezone.localdate()
    campaign_open(year=2025, deadline=datetime.date(2025, 6, 30), late_filing_until=today + datetime.timedelta(days=30))
    users = []
    for index in range(count):
        base = 4_000_000 + index
        operator = Operator.objects.create(
            name=f"Bench Medical {index} NV",
            enterprise_number=f"0{base:07d}{97 - base % 97:02d}",
            contact_email=f"finance{index}@bench.example",
        )
        Activity.objects.create(
            operator=operator, role="manufacturer", category="MDR IIa", registered_on=datetime.date(2020, 1, 1)
        )
        person = Person.objects.create(username=f"bench-{index}", email=f"user{index}@bench.example")
        Access.objects.create(
            operator=operator, person=person, email=person.email, role=AccessRole.MANAGER, granted_at=timezone.now()
        )
        Invoice.objects.create(
            year=2025,
            kind=InvoiceKind.ACTIVITY_TAX,
            number=f"AT2025-{index + 1:06d}",
            sequence=index + 1,
            structured_communication=structured_communication(
                year=2025, kind=InvoiceKind.ACTIVITY_TAX, sequence=index + 1
            ),
            operator=operator,
            debtor={
                "name": operator.name,
                "identifier": operator.identifier,
                "enterprise_number": operator.enterprise_number,
            },
            language="nl",
            issued_on=today - datetime.timedelta(days=10),
            due_on=today + datetime.timedelta(days=20),
            total=Decimal("1662.96"),
            lines=[{"description": "activity_tax", "amount": "1662.96", "rule": "D3", "explanation": []}],
            parameters={},
            rules_version="bench",
        )
        session = SessionStore()
        session[SESSION_KEY] = str(person.pk)
        session[BACKEND_SESSION_KEY] = OIDC_BACKEND
        session[HASH_SESSION_KEY] = person.get_session_auth_hash()
        session.create()
        _row, token = token_create(
            person=person,
            name="bench",
            companies=[operator],
            read_write=False,
            expires_on=today + datetime.timedelta(days=30),
        )
        users.append(User(operator.pk, f"{settings.SESSION_COOKIE_NAME}={session.session_key}", token))
    return users


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def request(connection: http.client.HTTPConnection, path: str, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - started
    if response.status != 200:
        raise RuntimeError(f"GET {path}: {response.status} {body[:300]!r}")
    return elapsed


def paths(user: User) -> dict[str, tuple[str, dict[str, str]]]:
    # the proxy in front of gunicorn terminates TLS and says so (SECURE_PROXY_SSL_HEADER)
    base = {"X-Forwarded-Proto": "https", "Host": "127.0.0.1", "Accept-Language": "nl"}
    browser = {**base, "Cookie": user.cookie}
    return {
        "home": ("/", base),
        "figures": (f"/declarations/2025/{user.operator_id}/", browser),
        "invoices": (f"/companies/{user.operator_id}/invoices/", browser),
        "api_invoices": (
            f"/api/v1/companies/{user.operator_id}/invoices/",
            {**base, "Authorization": f"Bearer {user.token}", "Accept": "application/json"},
        ),
    }


def run_user(
    port: int, user: User, until: float, samples: dict[str, list[float]], errors: list[str], seed_: int
) -> None:
    rng = random.Random(seed_)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    targets = paths(user)
    while time.perf_counter() < until:
        page = rng.choice(PAGES)
        path, headers = targets[page]
        try:
            elapsed = request(connection, path, headers)
        except (OSError, http.client.HTTPException, RuntimeError) as error:
            errors.append(f"{page}: {error}")
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            continue
        samples[page].append(elapsed)
    connection.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    users_count = max(1, min(args.users, MAX_USERS))
    seconds = max(1.0, min(args.seconds, MAX_SECONDS))
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    data_dir = tempfile.mkdtemp(prefix="famhp-bench-portal-")
    env = environment(url, data_dir)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT / "src"))
    database_recreate(url)
    server = None
    try:
        started = time.perf_counter()
        users = seed(users_count)
        print(f"seeded {users_count} users, companies, invoices and tokens in {time.perf_counter() - started:.1f} s")
        port = free_port()
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "famhp.wsgi:application",
                f"--bind=127.0.0.1:{port}",
                f"--workers={args.workers}",
                "--worker-class=gthread",
                f"--threads={args.threads}",
                "--log-level=warning",
            ],
            env=env,
            cwd=ROOT,
        )
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        # warm every worker and page before measuring
        warm = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for _ in range(args.workers * 3):
            for path, headers in paths(users[0]).values():
                request(warm, path, headers)
        warm.close()
        samples: dict[str, list[float]] = {page: [] for page in PAGES}
        errors: list[str] = []
        until = time.perf_counter() + seconds
        threads = [
            threading.Thread(target=run_user, args=(port, user, until, samples, errors, index))
            for index, user in enumerate(users)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        from django.db import connections

        connections.close_all()
        database_drop(url)
    total = sum(len(v) for v in samples.values())
    print(
        f"{users_count} concurrent users for {seconds:.0f} s, gunicorn {args.workers} workers x {args.threads} threads, "
        f"PostgreSQL, production settings: {total} requests ({total / seconds:.0f}/s), {len(errors)} errors"
    )
    for error in errors[:5]:
        print("  error:", error)
    home = {q: percentile(samples["home"], q) for q in (50, 95, 99)}
    print(f"{'page':<14}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}   ratio to home p50 / p95 / p99")
    worst = 0.0
    for page in PAGES:
        values = samples[page]
        marks = {q: percentile(values, q) for q in (50, 95, 99)}
        ratios = [marks[q] / home[q] for q in (50, 95, 99)]
        worst = max(worst, ratios[2])
        print(
            f"{page:<14}{len(values):>9}{marks[50] * 1000:>9.1f}{marks[95] * 1000:>9.1f}{marks[99] * 1000:>9.1f}   "
            + " / ".join(f"{r:.2f}" for r in ratios)
        )
    print(f"mean of all requests {statistics.fmean(v for vs in samples.values() for v in vs) * 1000:.1f} ms")
    print(
        f"target (issue 14): p99 of every page within 3x the home page's p99: {'met' if worst <= 3 else 'NOT met'} ({worst:.2f}x)"
    )


if __name__ == "__main__":
    main()
