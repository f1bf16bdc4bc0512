"""manage.py billing settings|run|fix-cost|closing|issue|correct|status|close|send --year N — the contribution
year from the shell: assessment, the closing decision (D5), invoicing, corrections after invoicing (D8)."""

from __future__ import annotations

import datetime
import time
from argparse import ArgumentParser
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from famhp.billing.documents import invoices_send
from famhp.billing.models import AssessmentRun, Invoice, InvoiceKind
from famhp.billing.selectors import year_status
from famhp.billing.services import (
    assessment_run,
    corrections_apply,
    cost_per_entity_fix,
    invoices_issue,
    year_close,
    year_closing_decide,
    year_settings_from_builtin,
)
from famhp.mailing import failures_report
from famhp.progress import ProgressBar
from famhp.registry.models import Operator


def shown_rate(rate: Decimal | None) -> str:
    """A rate without the trailing zeros of its 10-decimal column: 0.0029438, not 0.0029438000."""
    return "-" if rate is None else format(rate.normalize(), "f")


ACTIONS = ["settings", "run", "fix-cost", "closing", "issue", "correct", "status", "close", "send"]


class Command(BaseCommand):
    help = "Year settings, assessment runs, the closing decision, invoices and corrections of a contribution year."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", choices=ACTIONS)
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--kind", choices=[InvoiceKind.ACTIVITY_TAX, InvoiceKind.TURNOVER_LEVY])
        parser.add_argument("--operator", help="correct: only this operator (its identifier or database id)")
        closing = parser.add_mutually_exclusive_group()
        closing.add_argument("--lowered", metavar="RATE", help="closing: lowered to RATE (a fraction, 0.0029438)")
        closing.add_argument("--not-lowered", action="store_true", help="closing: the maximum rate applies")
        parser.add_argument("--date", type=datetime.date.fromisoformat, help="closing: the decision's date")
        parser.add_argument("--reference", default="", help="closing: the decision's reference")

    def handle(self, *args: Any, action: str, year: int, **options: Any) -> None:
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
            elif action == "closing":
                self._closing(year, options)
            elif action == "issue":
                kind = options.get("kind")
                if kind is None:
                    raise CommandError("--kind is required to issue")
                issued = invoices_issue(run=self._latest(year), kind=kind, progress=ProgressBar("Invoices"))
                self.stdout.write(f"{len(issued)} issued in {time.monotonic() - started:.2f} s")
            elif action == "correct":
                self._correct(year, options.get("operator"))
            elif action == "status":
                self._status(year)
            elif action == "close":
                settings = year_close(year=year)
                self.stdout.write(f"{year} closed on {settings.closed_on}")
            else:
                invoices = list(Invoice.objects.filter(year=year).select_related("operator", "credits"))
                sent, failures = invoices_send(invoices, progress=ProgressBar("E-mails"))
                self.stdout.write(f"{sent} sent in {time.monotonic() - started:.2f} s")
                if failures:
                    self.stderr.write(failures_report(failures))
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None

    def _closing(self, year: int, options: dict[str, Any]) -> None:
        lowered_text, not_lowered = options.get("lowered"), options.get("not_lowered")
        if not lowered_text and not not_lowered:
            raise CommandError("closing: give --lowered RATE or --not-lowered")
        if options.get("date") is None or not options.get("reference"):
            raise CommandError("closing: give the decision's --date and --reference")
        lowered = None
        if lowered_text:
            try:
                lowered = Decimal(lowered_text)
            except InvalidOperation:
                raise CommandError(f"closing: {lowered_text!r} is not a rate") from None
            if not lowered.is_finite() or -lowered.as_tuple().exponent > 10:  # type: ignore[operator]
                raise CommandError("closing: a rate has at most 10 decimals")
        settings = year_closing_decide(
            year=year, lowered_rate=lowered, decided_on=options["date"], reference=options["reference"]
        )
        self.stdout.write(
            f"Closing decision of {year}: {settings.get_closing_decision_display()}"
            f"{f' {shown_rate(settings.effective_levy_rate)}' if lowered is not None else ''},"
            f" {settings.closing_decided_on}, {settings.closing_reference}"
        )

    def _correct(self, year: int, operator_ref: str | None) -> None:
        operator = None
        if operator_ref:
            found = Operator.objects.filter(
                Q(enterprise_number=operator_ref) | Q(foreign_identifier=operator_ref)
            ).first()
            if found is None and operator_ref.isdigit():
                found = Operator.objects.filter(pk=int(operator_ref)).first()
            if found is None:
                raise CommandError(f"No operator {operator_ref}")
            operator = found
        done = corrections_apply(year=year, operator=operator)
        changed = [c for c in done if c.changed]
        for c in done:
            what = (
                f"{c.credit_note.number if c.credit_note else '-'} → {c.invoice.number}"
                if c.invoice
                else "no amount changes: nothing issued"
            )
            self.stdout.write(f"  {c.operator.identifier} {c.kind}: {what}")
        self.stdout.write(f"{len(changed)} corrected, {len(done) - len(changed)} unchanged")

    def _status(self, year: int) -> None:
        status = year_status(year)
        settings = status.settings
        self.stdout.write(f"Year {year}: {status.state.label}")
        if settings is not None:
            decision = (
                f"{settings.get_closing_decision_display()}"
                f"{f' {shown_rate(settings.effective_levy_rate)}' if settings.effective_levy_rate is not None else ''}"
                f", {settings.closing_decided_on}, {settings.closing_reference}"
                if settings.closing_decision
                else "not recorded"
            )
            self.stdout.write(f"  closing decision (D5): {decision}")
            self.stdout.write(
                f"  cost per entity: {settings.cost_per_entity}; maximum rate: {shown_rate(settings.max_levy_rate)}"
            )
        for kind, count in status.invoices.items():
            live = status.live.get(kind)
            self.stdout.write(f"  {kind}: {count} issued" + (f", {live} live" if live is not None else ""))
        self.stdout.write(f"  levy pending: no figure (D9): {len(status.levy_pending)}")
        for operator in status.levy_pending:
            self.stdout.write(f"    {operator.identifier} {operator.name} ({operator.country})")
        self.stdout.write(f"  corrections after invoicing pending (D8): {len(status.corrections)}")
        for pending in status.corrections:
            self.stdout.write(
                f"    {pending.operator.identifier} {pending.operator.name} {pending.kind}"
                f" {pending.invoice.number}: {pending.reason}"
            )

    @staticmethod
    def _latest(year: int) -> AssessmentRun:
        run = AssessmentRun.objects.filter(year=year, corrects=None).order_by("-created_at", "-pk").first()
        if run is None:
            raise CommandError(f"No assessment run for {year}: run `billing run --year {year}` first.")
        return run
