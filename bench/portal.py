"""A bounded loopback load on the portal and the API: N concurrent users for S seconds against gunicorn with the
production settings and PostgreSQL (deploy/gunicorn.conf.py, as the README's production instructions), on four
pages: the home page, the declaration figures page, the invoice list and the API's invoice list. Prints the
requests per second, p50/p95/p99 of each page and its ratio to the home page's, the CPU per request of the
server (gunicorn's processes), of PostgreSQL's backends for the bench's database and of the load generator
itself, and the machine.

Targets: at 50 concurrent users, the p99 of every page within 3x the home page's p99 (issue 14), and at least
300 requests per second on 2 cores (issue 15).

    .venv/bin/python bench/portal.py [--users 50] [--seconds 20] [--workers N] [--threads N] [--pages home,figures]
    .venv/bin/python bench/portal.py --profile [--requests 200] [--pages figures]   # one process, no server

The load generator is one asyncio loop, one kept-alive HTTP/1.1 connection per user, requests written as
prepared bytes: its own CPU is measured and printed, and stays a small part of the total. ``--profile`` runs no
server: it asks each page ``--requests`` times through Django's handler in this process and prints the queries
of one request, the CPU per request, each middleware's share and the profile's top lines.

Needs PostgreSQL (BENCH_DATABASE_URL, default postgres://famhp:famhp@127.0.0.1:5432/famhp_bench_portal, made
afresh and dropped at the end; the role needs CREATEDB). Everything listens on 127.0.0.1 only. Each user is a
person logged in (a session as the federal login makes it) with one company, one invoice, an open campaign, and
a read-only API token; users and time are bounded (at most 200 users, 120 seconds).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import random
import resource
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.machine import describe  # noqa: E402

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


def raw_requests(user: User, jar: dict[str, str]) -> dict[str, bytes]:
    """Each page's GET as the bytes a kept-alive HTTP/1.1 client writes. The pages a browser asks send the cookies
    the site set before (``jar``: the CSRF cookie), as a browser does; the API's requests send none."""
    kept = "; ".join(f"{name}={value}" for name, value in jar.items())
    requests = {}
    for page, (path, sent) in paths(user).items():
        headers = dict(sent)
        if kept and page != "api_invoices":
            headers["Cookie"] = f"{headers['Cookie']}; {kept}" if "Cookie" in headers else kept
        lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        requests[page] = f"GET {path} HTTP/1.1\r\n{lines}\r\n".encode("latin-1")
    return requests


class Failed(Exception):
    pass


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes
) -> tuple[bool, dict[str, str]]:
    """One request on the open connection; the answer read in full. Returns whether the server keeps the
    connection, and the cookies it set."""
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    length, keep, cookies = None, True, {}
    for line in lines:
        name, _sep, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection" and value.strip().lower() == "close":
            keep = False
        elif name == "set-cookie":
            cookie, _sep, _attributes = value.strip().partition(";")
            cookie_name, _sep, cookie_value = cookie.partition("=")
            cookies[cookie_name] = cookie_value
    if length is None:
        raise Failed(f"no Content-Length: {status_line}")
    body = await reader.readexactly(length)
    if not status_line.startswith("HTTP/1.1 200"):
        raise Failed(f"{status_line} {body[:300]!r}")
    return keep, cookies


async def run_user(
    port: int,
    user: User,
    pages: tuple[str, ...],
    until: float,
    samples: dict[str, list[float]],
    errors: list[str],
    seed_: int,
) -> None:
    rng = random.Random(seed_)
    jar: dict[str, str] = {}
    raw = raw_requests(user, jar)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    while time.perf_counter() < until:
        page = rng.choice(pages)
        started = time.perf_counter()
        try:
            keep, cookies = await exchange(reader, writer, raw[page])
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, Failed) as error:
            errors.append(f"{page}: {error}")
            keep = False
        else:
            samples[page].append(time.perf_counter() - started)
            if page != "api_invoices" and any(jar.get(name) != value for name, value in cookies.items()):
                jar.update(cookies)
                raw = raw_requests(user, jar)
        if not keep:
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.close()


async def load(
    port: int, users: list[User], seconds: float, pages: tuple[str, ...]
) -> tuple[dict[str, list[float]], list[str], float]:
    """Every user at once for ``seconds``; returns the samples, the errors and the load generator's CPU."""
    samples: dict[str, list[float]] = {page: [] for page in PAGES}
    errors: list[str] = []
    cpu = own_cpu()
    until = time.perf_counter() + seconds
    await asyncio.gather(
        *(run_user(port, user, pages, until, samples, errors, index) for index, user in enumerate(users))
    )
    return samples, errors, own_cpu() - cpu


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux /proc), 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def processes() -> list[tuple[int, int, str]]:
    """(pid, parent pid, command line) of every process this user may read."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        found.append((int(entry.name), parent, command))
    return found


def server_cpu(master: int, database: str) -> tuple[float, float]:
    """CPU seconds so far of gunicorn (master and workers) and of PostgreSQL's backends serving ``database``."""
    table = processes()
    gunicorn = [master, *(pid for pid, parent, _command in table if parent == master)]
    backends = [
        pid for pid, _parent, command in table if command.startswith("postgres:") and f" {database} " in command
    ]
    return sum(process_cpu(pid) for pid in gunicorn), sum(process_cpu(pid) for pid in backends)


def workers_memory(master: int) -> list[int]:
    """Resident memory (KiB) of each gunicorn worker now (after the run: it stays bounded)."""
    sizes = []
    for pid, parent, _command in processes():
        if parent == master:
            try:
                status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
            except OSError:
                continue
            sizes += [int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")]
    return sizes


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def profile(users: list[User], count: int, pages: tuple[str, ...] = PAGES) -> None:
    """Each page ``count`` times through Django's handler in this process: its queries, its CPU per request, each
    middleware's share of it, and the profile's top lines (issue 15: profile before cutting)."""
    import cProfile
    import io
    import pstats

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.portal_middleware import middleware_shares

    for page, (path, sent) in paths(users[0]).items():
        if page not in pages:
            continue
        headers = {name: value for name, value in sent.items() if name not in {"Host", "Cookie"}}
        client = Client(headers=headers, HTTP_HOST="127.0.0.1")
        if cookie := sent.get("Cookie"):
            name, value = cookie.split("=", 1)
            client.cookies[name] = value
        for _ in range(10):
            assert client.get(path).status_code == 200, page
        with CaptureQueriesContext(connection) as queries:
            client.get(path)
        sqls = [query["sql"] for query in queries.captured_queries]  # the next request clears the log
        started = time.thread_time()
        for _ in range(count):
            client.get(path)
        cpu = (time.thread_time() - started) / count
        print(f"\n== {page} {path}: {len(sqls)} queries, {cpu * 1000:.2f} ms CPU per request")
        for sql in sqls:
            print(f"   {sql[:150]}")
        print("   middleware (CPU per request, ms, the view and its template excluded):")
        for name, share in middleware_shares(client, path, count):
            print(f"   {share * 1000:7.3f}  {name}")
        profiler = cProfile.Profile(time.thread_time)
        profiler.enable()
        for _ in range(count):
            client.get(path)
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(12)
        # where the time goes, by the project's functions and Django's entry points (queries, templates)
        stats.sort_stats("cumulative").print_stats(r"famhp/|execute_sql|shortcuts.py.*render|get_response", 25)
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip() and "List reduced" not in line))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: deploy/gunicorn.conf.py's)")
    parser.add_argument("--threads", type=int, help="threads per worker (default: deploy/gunicorn.conf.py's)")
    parser.add_argument("--pages", default=",".join(PAGES), help="the pages to ask, comma-separated (all four)")
    parser.add_argument("--profile", action="store_true", help="profile each page in this process, no server")
    parser.add_argument("--requests", type=int, default=200, help="with --profile: requests per page")
    args = parser.parse_args()
    pages = tuple(page for page in PAGES if page in args.pages.split(","))
    users_count = max(1, min(args.users, MAX_USERS))
    seconds = max(1.0, min(args.seconds, MAX_SECONDS))
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    database = urlparse(url).path.lstrip("/")
    data_dir = tempfile.mkdtemp(prefix="famhp-bench-portal-")
    env = environment(url, data_dir)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT / "src"))
    print(describe("PostgreSQL"))
    database_recreate(url)
    server = None
    try:
        started = time.perf_counter()
        users = seed(3 if args.profile else users_count)
        print(f"seeded {len(users)} users, companies, invoices and tokens in {time.perf_counter() - started:.1f} s")
        if args.profile:
            profile(users, max(1, min(args.requests, 5000)), pages)
            return
        from django.db import connections

        connections.close_all()  # the seed's connection: only the server's backends remain on the database
        port = free_port()
        overrides = {"GUNICORN_BIND": f"127.0.0.1:{port}"}
        if args.workers:
            overrides["GUNICORN_WORKERS"] = str(args.workers)
        if args.threads:
            overrides["GUNICORN_THREADS"] = str(args.threads)
        gunicorn = [str(Path(sys.executable).parent / "gunicorn"), "famhp.wsgi:application"]
        config = [f"--config={ROOT / 'deploy' / 'gunicorn.conf.py'}"]
        printed = subprocess.run(
            [*gunicorn, *config, "--print-config"],
            env={**env, **overrides},
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        shown = {
            line.split("=", 1)[0].strip(): line.split("=", 1)[1].strip() for line in printed.splitlines() if "=" in line
        }
        workers, threads = int(shown["workers"]), int(shown["threads"])
        server = subprocess.Popen([*gunicorn, *config], env={**env, **overrides}, cwd=ROOT)
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        # warm every worker and page (and the connections to PostgreSQL) before measuring
        asyncio.run(load(port, users, 2.0, PAGES))
        server_before, database_before = server_cpu(server.pid, database)
        wall = time.perf_counter()
        samples, errors, client_cpu = asyncio.run(load(port, users, seconds, pages))
        wall = time.perf_counter() - wall
        server_after, database_after = server_cpu(server.pid, database)
        memory = workers_memory(server.pid)
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            server.wait(timeout=30)
        from django.db import connections

        connections.close_all()
        database_drop(url)
    report(samples, errors, users_count, wall, workers, threads)
    total = max(1, sum(len(v) for v in samples.values()))
    server_ms = (server_after - server_before) / total * 1000
    database_ms = (database_after - database_before) / total * 1000
    client_ms = client_cpu / total * 1000
    print(
        f"CPU per request: server (gunicorn) {server_ms:.2f} ms, PostgreSQL {database_ms:.2f} ms, "
        f"load generator {client_ms:.2f} ms; all together {server_ms + database_ms + client_ms:.2f} ms "
        f"(2 cores give {2000 / 300:.2f} ms to each of 300 requests a second)"
    )
    print(f"workers' resident memory after the run: {', '.join(f'{size / 1024:.0f} MiB' for size in memory)}")
    print(describe("PostgreSQL"))


def report(
    samples: dict[str, list[float]], errors: list[str], users: int, wall: float, workers: int, threads: int
) -> None:
    total = sum(len(v) for v in samples.values())
    print(
        f"{users} concurrent users for {wall:.1f} s, gunicorn {workers} workers x {threads} threads, PostgreSQL, "
        f"production settings: {total} requests ({total / wall:.0f}/s), {len(errors)} errors"
    )
    for error in errors[:5]:
        print("  error:", error)
    if not (samples["home"] and any(samples.values())):
        print("a page has no answered request: no percentiles")
        return
    home = {q: percentile(samples["home"], q) for q in (50, 95, 99)}
    print(f"{'page':<14}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}   ratio to home p50 / p95 / p99")
    worst = 0.0
    for page, values in samples.items():
        if not values:
            continue
        marks = {q: percentile(values, q) for q in (50, 95, 99)}
        ratios = [marks[q] / home[q] for q in (50, 95, 99)]
        worst = max(worst, ratios[2])
        print(
            f"{page:<14}{len(values):>9}{marks[50] * 1000:>9.1f}{marks[95] * 1000:>9.1f}{marks[99] * 1000:>9.1f}   "
            + " / ".join(f"{r:.2f}" for r in ratios)
        )
    print(f"mean of all requests {statistics.fmean(v for vs in samples.values() for v in vs) * 1000:.1f} ms")
    rate = total / wall
    print(
        f"targets: p99 of every page within 3x the home page's p99 (issue 14): {'met' if worst <= 3 else 'NOT met'} "
        f"({worst:.2f}x); at least 300 requests per second (issue 15): {'met' if rate >= 300 else 'NOT met'} "
        f"({rate:.0f}/s)"
    )


if __name__ == "__main__":
    main()
