"""manage.py payments import FILE… | remind"""

from __future__ import annotations

import time
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from famhp.mailing import SendFailure, failures_report
from famhp.payments.services import reminders_send, statement_import


class Command(BaseCommand):
    help = "Import bank statements (CODA, camt.053) and match them, or send the reminders for overdue invoices."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", choices=["import", "remind"])
        parser.add_argument("files", nargs="*", type=Path)

    def handle(self, *args: Any, action: str, files: list[Path], **options: Any) -> None:
        started = time.monotonic()
        if action == "remind":
            failures: list[SendFailure] = []
            count = reminders_send(report=failures)
            self.stdout.write(f"{count} reminders sent in {time.monotonic() - started:.2f} s")
            if failures:
                self.stderr.write(failures_report(failures))
            return
        for path in files:
            try:
                statement, new = statement_import(data=path.read_bytes(), name=path.name)
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from None
            if new:
                self.stdout.write(
                    f"{path.name}: {statement.lines_new} lines, {statement.lines_matched} matched, "
                    f"{statement.lines_twin} possible duplicates queued"
                )
            else:
                self.stdout.write(f"{path.name}: already imported, nothing added")
