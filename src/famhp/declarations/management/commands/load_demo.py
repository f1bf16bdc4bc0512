"""manage.py load_demo — the realistic demo year that `make demo` shows (once: skipped if data exists)."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from famhp.progress import ProgressBar
from famhp.registry.models import Operator


class Command(BaseCommand):
    help = "Load the demo contribution year 2025 (320 operators, a campaign under way)."

    def handle(self, *args: Any, **options: Any) -> None:
        from famhp.demo import ADMIN_PASSWORD, ADMIN_USER, load_demo

        base = settings.FAMHP_BASE_URL
        if Operator.objects.exists():
            self.stdout.write("Demo data already loaded (delete the data folder to start again).")
        else:
            started = time.monotonic()
            summary = load_demo(progress=ProgressBar("Operators"))
            self.stdout.write(
                f"Loaded in {time.monotonic() - started:.1f} s: {summary.operators} operators, {summary.must_declare} "
                f"must declare for 2025, {summary.invitations} invited, {summary.declared} declared "
                f"({summary.late} late, {summary.corrected} corrected); {summary.invoices} notices and invoices "
                "issued (the demo's fine of 250.00 euro is made up: no source gives it)."
            )
            if summary.demo_deadline:
                self.stdout.write(
                    f"Demo date: the 2026 campaign is open until its demo deadline {summary.demo_deadline:%d/%m/%Y}, "
                    "so that a company can still declare on time (the 2025 campaign closed on 30/06/2025)."
                )
            self.stdout.write("\nInvitation links (as the companies received them):")
            for label, link in summary.links:
                self.stdout.write(f"  {label}:\n    {link}")
            self.stdout.write("\nMain access managers (log in at /login/):")
            for company, how in summary.companies:
                self.stdout.write(f"  {company} — {how}")
        self.stdout.write(f"\nPortal:        {base}/")
        self.stdout.write(
            f"Agency (admin): {base}/admin/  finance officer {ADMIN_USER}, auditor `auditor`, support `support`; "
            f"password {ADMIN_PASSWORD}"
        )
        self.stdout.write(f"E-mails sent by the campaign are files in {settings.EMAIL_FILE_PATH}")
