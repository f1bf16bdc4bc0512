"""manage.py campaign open|send|remind|status --year N"""

from __future__ import annotations

import datetime
import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from famhp.declarations.models import Campaign
from famhp.declarations.selectors import operators_not_declared
from famhp.declarations.services import (
    REMINDER_ROUND_INTERVAL,
    campaign_open,
    campaign_send_invitations,
    campaign_send_reminders,
)
from famhp.mailing import SendFailure, failures_report
from famhp.progress import ProgressBar
from famhp.registry.selectors import operators_must_declare


class Command(BaseCommand):
    help = "Open a declaration campaign, send its invitations or reminders, or show its status."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", choices=["open", "send", "remind", "status"])
        parser.add_argument("--year", type=int, required=True, help="contribution year N (turnover of N−1)")
        parser.add_argument("--deadline", type=datetime.date.fromisoformat, help="default: 30 June of the year")
        parser.add_argument("--late-until", type=datetime.date.fromisoformat, help="late filings accepted until")

    def handle(self, *args: Any, action: str, year: int, **options: Any) -> None:
        if action == "open":
            campaign = campaign_open(year=year, deadline=options["deadline"], late_filing_until=options["late_until"])
            self.stdout.write(
                f"Campaign {campaign.year} open: deadline {campaign.deadline}, late until {campaign.late_filing_until}"
            )
            return
        found = Campaign.objects.filter(year=year).first()
        if found is None:
            raise CommandError(f"No campaign for {year}: run `campaign open --year {year}` first.")
        campaign = found
        started = time.monotonic()
        failures: list[SendFailure] = []
        if action == "send":
            count = campaign_send_invitations(campaign=campaign, progress=ProgressBar("Invitations"), failures=failures)
            self.stdout.write(f"{count} invitations sent in {time.monotonic() - started:.2f} s")
        elif action == "remind":
            count = campaign_send_reminders(
                campaign=campaign,
                progress=ProgressBar("Reminders"),
                failures=failures,
                round_interval=REMINDER_ROUND_INTERVAL,
            )
            self.stdout.write(
                f"{count} reminders sent in {time.monotonic() - started:.2f} s "
                "(operators reminded in the last 24 hours are not reminded again)"
            )
        else:
            must = operators_must_declare(year).count()
            missing = operators_not_declared(campaign).count()
            self.stdout.write(f"Campaign {year}: {must} must declare, {must - missing} declared, {missing} not yet")
        if failures:
            self.stderr.write(failures_report(failures))
