"""How long the campaign of the demo year takes: who must declare, then invitations through real SMTP.

Loads the demo year (320 operators) into a fresh SQLite in a temporary folder, drops its invitations, then times
(1) computing who must declare and (2) sending every invitation through an SMTP server on loopback (aiosmtpd),
and (3) the reminders. Prints the figures.

    .venv/bin/python bench/campaign.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["FAMHP_DATA_DIR"] = tempfile.mkdtemp(prefix="famhp-bench-")
os.environ["DJANGO_SETTINGS_MODULE"] = "famhp.settings"
os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import override_settings  # noqa: E402
from tests.portal.smtp import SmtpServer  # noqa: E402

from famhp.declarations.models import Campaign, Invitation  # noqa: E402
from famhp.declarations.services import campaign_send_invitations, campaign_send_reminders  # noqa: E402
from famhp.demo import load_demo  # noqa: E402
from famhp.registry.selectors import operators_must_declare  # noqa: E402


def main() -> None:
    from bench.machine import describe

    print(describe(connection.vendor))
    call_command("migrate", verbosity=0)
    load_demo()
    campaign = Campaign.objects.get(year=2025)
    Invitation.objects.all().delete()

    started = time.perf_counter()
    must = len(list(operators_must_declare(campaign.year)))
    computed = time.perf_counter() - started

    with (
        SmtpServer() as smtp,
        override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1", EMAIL_PORT=smtp.port
        ),
    ):
        started = time.perf_counter()
        sent = campaign_send_invitations(campaign=campaign)
        smtp.inbox.wait_for(sent)
        sending = time.perf_counter() - started
        started = time.perf_counter()
        reminded = campaign_send_reminders(campaign=campaign)
        smtp.inbox.wait_for(sent + reminded)
        reminding = time.perf_counter() - started
        received = len(smtp.inbox.messages)

    print(f"demo year 2025: {must} operators must declare (computed in {computed * 1000:.1f} ms)")
    print(f"invitations: {sent} sent through SMTP in {sending:.2f} s ({sent / sending:.0f} per second)")
    print(f"reminders:   {reminded} sent through SMTP in {reminding:.2f} s ({reminded / reminding:.0f} per second)")
    print(f"messages received by the SMTP server: {received}")


if __name__ == "__main__":
    main()
