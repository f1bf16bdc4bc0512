"""manage.py billing settings|run|fix-cost|issue|send --year N — assessment and invoicing from the shell."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from famhp.billing.documents import invoice_send
from famhp.billing.models import AssessmentRun, Invoice, InvoiceKind
from famhp.billing.services import assessment_run, cost_per_entity_fix, invoices_issue, year_settings_from_builtin
from famhp.progress import ProgressBar


class Command(BaseCommand):
    help = "Year settings, assessment runs and invoices of a contribution year."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", choices=["settings", "run", "fix-cost", "issue", "send"])
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--kind", choices=[InvoiceKind.ACTIVITY_TAX, InvoiceKind.TURNOVER_LEVY])

    def handle(self, *args: Any, action: str, year: int, kind: str | None, **options: Any) -> None:
        started = time.monotonic()
        try:
            if action == "settings":
                settings = year_settings_from_builtin(year)
                self.stdout.write(f"Settings of {year} from the built-in parameters; confirmed: {settings.confirmed}")
            elif action == "run":
                run, changes = assessment_run(year=year, progress=ProgressBar("Assessment"))
                self.stdout.write(
                    f"Run #{run.pk}: {run.results.count()} operators in {time.monotonic() - started:.2f} s"
                )
                for change in changes:
                    self.stdout.write(f"  changed: {change.operator.identifier} {change.before} → {change.after}")
            elif action == "fix-cost":
                settings = cost_per_entity_fix(run=self._latest(year))
                self.stdout.write(f"Cost per entity of {year} fixed at {settings.cost_per_entity}")
            elif action == "issue":
                if kind is None:
                    raise CommandError("--kind is required to issue")
                issued = invoices_issue(run=self._latest(year), kind=kind, progress=ProgressBar("Invoices"))
                self.stdout.write(f"{len(issued)} issued in {time.monotonic() - started:.2f} s")
            else:
                invoices = list(Invoice.objects.filter(year=year).select_related("operator", "credits"))
                bar = ProgressBar("E-mails")
                for index, invoice in enumerate(invoices, start=1):
                    invoice_send(invoice)
                    bar(index, len(invoices))
                self.stdout.write(f"{len(invoices)} sent in {time.monotonic() - started:.2f} s")
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None

    @staticmethod
    def _latest(year: int) -> AssessmentRun:
        run = AssessmentRun.objects.filter(year=year).order_by("-created_at", "-pk").first()
        if run is None:
            raise CommandError(f"No assessment run for {year}: run `billing run --year {year}` first.")
        return run
