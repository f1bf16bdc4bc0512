"""manage.py import_operators FILE.csv — all or nothing, with a row-by-row error report."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from famhp.registry.services import operators_import_csv


class Command(BaseCommand):
    help = "Import operators and activities from the registration portal's CSV export (all or nothing)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, file: Path, **options: Any) -> None:
        result = operators_import_csv(data=file.read_bytes())
        if not result.ok:
            for error in result.errors:
                self.stderr.write(str(error))
            raise CommandError(f"Nothing imported: {len(result.errors)} errors.")
        self.stdout.write(
            f"{result.operators_created} operators created, {result.operators_updated} updated, "
            f"{result.activities_created} activities added."
        )
