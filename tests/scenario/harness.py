"""The harness of the whole-year scenarios (tests/scenario/*.yaml): it plays each step through the real services,
as the admin and the commands do (registry, declarations, billing, payments), and reads back what the year's
money looks like per operator, per payment and in total, so that the test can prove it balances to the cent.

A step is ``{date, do, rule, ...}``: ``do`` names a method ``step_<do>`` below; ``rule`` the RULES.md decision
it applies (kept for the reader and checked present). The assessment runs, the closing decision and the bank
files go through ``manage.py billing`` and ``manage.py payments`` as the agency types them; the steps that carry
their own date (declarations, issuing, corrections, allocations, refunds) call the services the admin calls,
with that date. See docs/scenario.md."""

from __future__ import annotations

import datetime
import io
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from django.core.management import call_command
from django.db.models import Sum

from famhp.billing.models import Invoice, InvoiceKind, OperatorAssessment, YearSettings
from famhp.billing.services import (
    corrections_apply,
    fps_turnover_import,
    invoices_issue,
    latest_run,
    year_close,
)
from famhp.declarations.models import Campaign, DeclarationVersion
from famhp.declarations.services import Figures, campaign_open
from famhp.mailing import SendFailure
from famhp.payments.models import Allocation, BankLine, Refund, Reminder
from famhp.payments.samples import Payment, camt053, coda
from famhp.payments.selectors import unmatched_lines
from famhp.payments.services import (
    allocation_reverse,
    payment_allocate,
    refund_record,
    refunds_export,
    refunds_mark_sent,
    reminders_send,
)
from famhp.registry.models import Operator
from famhp.registry.services import activity_register, operator_create, self_control_declare
from famhp.rules.money import ZERO
from tests.portal.factories import declare as certified_declaration

HERE = Path(__file__).resolve().parent
BRUSSELS = ZoneInfo("Europe/Brussels")
CONTRIBUTION_KINDS = (InvoiceKind.ACTIVITY_TAX, InvoiceKind.TURNOVER_LEVY)


def load(name: str) -> dict[str, Any]:
    with (HERE / name).open(encoding="utf-8") as file:
        scenario: dict[str, Any] = yaml.safe_load(file)
    return scenario


def euro(value: Any) -> Decimal:
    """An amount of the YAML: a string such as "735.95", read as an exact Decimal (never a float)."""
    assert isinstance(value, str), f"write amounts as strings in the YAML, not {value!r}"
    return Decimal(value)


class StepFailed(AssertionError):
    pass


@dataclass
class Books:
    """What one operator's account holds, read from the tables (not from the selectors under test)."""

    invoiced: Decimal = ZERO
    credited: Decimal = ZERO
    allocated: Decimal = ZERO
    refunded: Decimal = ZERO
    #: per kind (activity_tax, turnover_levy) and per line (activity_tax, turnover_levy, administrative_fine,
    #: late_interest): invoiced minus credited
    net_by_kind: dict[str, Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))
    net_by_line: dict[str, Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))

    @property
    def balance(self) -> Decimal:
        return self.invoiced - self.credited - self.allocated + self.refunded


class Scenario:
    """Plays a scenario's steps in order; ``operators`` maps the YAML's keys to the registered operators."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.year: int = data["year"]
        self.operators: dict[str, Operator] = {}
        self.log: list[str] = []

    # --- the year and the register ----------------------------------------------------------------------------

    def set_up(self) -> None:
        """The agency's year settings (each named parameter confirmed) and the register."""
        given = dict(self.data["settings"])
        confirmed = given.pop("confirmed")
        settings = YearSettings(year=self.year, confirmed=confirmed)
        for name, value in given.items():
            # amounts and rates as exact Decimals; the interest period and base, and payment terms, as given
            choice = name in {"late_interest_period", "late_interest_base"} or isinstance(value, int)
            setattr(settings, name, value if choice or value is None else euro(value))
        settings.full_clean()
        settings.save()
        for key, spec in self.data["operators"].items():
            operator = operator_create(
                name=spec["name"],
                contact_email=f"finance@{key}.example",
                enterprise_number=spec.get("enterprise_number", ""),
                foreign_identifier=spec.get("foreign_identifier", ""),
                country=spec.get("country", "BE"),
                language=spec.get("language", "nl"),
                established_in_belgium=spec.get("established_in_belgium", True),
                active_in_belgium=spec.get("active_in_belgium", True),
            )
            if spec.get("unregistered_activity"):
                # a fact of the register the agency records in the admin (FAQ 14, D2)
                operator.unregistered_activity = True
                operator.full_clean()
                operator.save(update_fields=["unregistered_activity"])
            for activity in spec["activities"]:
                activity_register(
                    operator=operator,
                    role=activity["role"],
                    category=activity["category"],
                    registered_on=activity["registered_on"],
                    closed_on=activity.get("closed_on"),
                )
            guide = spec.get("self_control_guide")
            if guide:
                self_control_declare(operator=operator, declared_on=guide["declared_on"], complies=guide["complies"])
            self.operators[key] = operator

    def run(self) -> None:
        self.set_up()
        previous: datetime.date | None = None
        for number, step in enumerate(self.data["steps"], start=1):
            assert step.get("rule"), f"step {number} ({step['do']}) names no rule of RULES.md"
            assert previous is None or step["date"] >= previous, f"step {number} goes back in time"
            previous = step["date"]
            try:
                getattr(self, f"step_{step['do']}")(step)
            except AssertionError as failed:
                raise StepFailed(f"step {number} ({step['date']} {step['do']}, {step['rule']}): {failed}") from None
            self.log.append(f"{step['date']} {step['do']} ({step['rule']})")

    # --- steps ---------------------------------------------------------------------------------------------------

    def step_open_campaign(self, step: dict[str, Any]) -> None:
        campaign_open(year=self.year, deadline=step["deadline"], late_filing_until=step["late_filing_until"])

    def step_declare(self, step: dict[str, Any]) -> None:
        figures = Figures(
            euro(step["total"]),
            euro(step["levied"]),
            bool(step.get("below_threshold", False)),
            bool(step.get("not_liable", False)),
        )
        now = datetime.datetime.combine(step["date"], datetime.time(10, 0), tzinfo=BRUSSELS)
        version: DeclarationVersion = certified_declaration(
            Campaign.objects.get(year=self.year), self.operators[step["operator"]], figures, now=now
        )
        assert version.number == step.get("expect_version", version.number), f"version {version.number}"
        assert version.late == step.get("expect_late", False), f"late: {version.late}"

    def step_fps_import(self, step: dict[str, Any]) -> None:
        # the FPS Finance file, as the agency imports it (D6): one row per Belgian enterprise
        rows = ["enterprise_number;total_turnover"]
        rows += [f"{self.operators[k].enterprise_number};{v}" for k, v in step["figures"].items()]
        count, errors = fps_turnover_import(year=self.year, data="\n".join(rows).encode())
        assert not errors and count == len(step["figures"]), errors

    def step_assess(self, step: dict[str, Any]) -> None:
        out = self._command("billing", "run", "--year", str(self.year))
        assert f"{len(self.operators)} operators" in out, out

    def step_issue(self, step: dict[str, Any]) -> None:
        run = latest_run(self.year)
        assert run is not None
        issued = invoices_issue(run=run, kind=step["kind"], issued_on=step["date"])
        self._expect_issued(step, issued)

    def step_closing_decision(self, step: dict[str, Any]) -> None:
        rate = step.get("lowered_rate")
        decision = ["--lowered", rate] if rate is not None else ["--not-lowered"]
        when = ["--date", step["date"].isoformat(), "--reference", step["reference"]]
        self._command("billing", "closing", "--year", str(self.year), *decision, *when)
        settings = YearSettings.objects.get(year=self.year)
        assert settings.effective_levy_rate == (None if rate is None else euro(rate)), settings.effective_levy_rate

    def step_correct(self, step: dict[str, Any]) -> None:
        done = corrections_apply(year=self.year, issued_on=step["date"])
        issued = [d for c in done for d in (c.credit_note, c.invoice) if d is not None]
        self._expect_issued(step, issued)

    def step_bank_statement(self, step: dict[str, Any]) -> None:
        payments = [self._payment(p, step["date"]) for p in step["payments"]]
        currency = step.get("currency", "EUR")
        if step["format"] == "coda":
            data = coda(payments, statement=int(step["statement"]), day=step["date"], currency=currency)
        else:
            data = camt053(payments, statement_id=str(step["statement"]), currency=currency)
        before = set(BankLine.objects.values_list("pk", flat=True))
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"{step['statement']}.{'cod' if step['format'] == 'coda' else 'xml'}"
            path.write_bytes(data)
            out = self._command("payments", "import", str(path))
            assert f"{path.name}: {len(payments)} lines" in out, out
            again = self._command("payments", "import", str(path))  # the same file twice adds nothing
            assert "already imported, nothing added" in again, again
        lines = BankLine.objects.exclude(pk__in=before)
        assert lines.count() == len(payments), f"{lines.count()} lines for {len(payments)} payments"
        for spec in step["payments"]:
            if "expect_to_account" in spec:
                allocation = Allocation.objects.get(bank_line__in=lines, payer_name=spec["payer"])
                owner = self.operators[spec["expect_to_account"]]
                assert (allocation.invoice, allocation.operator) == (None, owner), f"allocated to {allocation}"
            if "expect_third_party" in spec:
                allocation = Allocation.objects.get(bank_line__in=lines, payer_name=spec["payer"], amount__gt=0)
                assert allocation.third_party == spec["expect_third_party"], f"third party: {allocation.third_party}"
        if "expect_queue" in step:
            queued = unmatched_lines().count()
            assert queued == step["expect_queue"], f"{queued} lines queued, expected {step['expect_queue']}"

    def _payment(self, spec: dict[str, Any], booked: datetime.date) -> Payment:
        communication = ""
        if "pays" in spec:
            communication = Invoice.objects.get(number=spec["pays"]).structured_communication
        return Payment(
            euro(spec["amount"]),
            payer=spec["payer"],
            payer_account=spec["account"],
            structured=communication,
            free_text=spec.get("text", ""),
            booked=booked,
            end_to_end=spec.get("end_to_end", ""),
            reversal=spec.get("reversal", False),
            return_reason=spec.get("reason", ""),
        )

    def _line(self, spec: dict[str, Any]) -> BankLine:
        return BankLine.objects.get(counterparty_name=spec["payer"], amount=euro(spec["amount"]), reversal=False)

    def step_allocate(self, step: dict[str, Any]) -> None:
        line = self._line(step["payment"])
        if "invoice" in step:
            payment_allocate(
                line=line, amount=euro(step["amount"]), by=None, invoice=Invoice.objects.get(number=step["invoice"])
            )
        else:
            payment_allocate(line=line, amount=euro(step["amount"]), by=None, operator=self.operators[step["account"]])

    def step_unallocate(self, step: dict[str, Any]) -> None:
        allocations = Allocation.objects.filter(
            invoice__number=step["invoice"], amount__gt=0, reversal__isnull=True
        ).order_by("pk")
        assert allocations.exists(), f"nothing allocated to {step['invoice']}"
        for allocation in allocations:
            allocation_reverse(allocation=allocation, by=None)

    def step_reminders(self, step: dict[str, Any]) -> None:
        failures: list[SendFailure] = []
        sent = reminders_send(today=step["date"], report=failures)
        assert not failures, failures
        reminded = {
            key: [str(r.amount), str(r.interest)]
            for key, operator in self.operators.items()
            for r in Reminder.objects.filter(operator=operator, sent_on=step["date"])
        }
        assert sent == len(reminded) and reminded == step["expect_reminded"], f"reminded {reminded}"

    def step_refund(self, step: dict[str, Any]) -> None:
        refund = refund_record(operator=self.operators[step["operator"]], by=None, today=step["date"])
        assert refund.amount == euro(step["expect_amount"]), f"refund {refund.amount}"
        assert refund.iban == step["expect_iban"], f"refund to {refund.iban}"

    def step_export_refunds(self, step: dict[str, Any]) -> None:
        export = refunds_export(by=None, today=step["date"])
        refunds = list(export.refunds.all()) if export is not None else []
        assert len(refunds) == step["expect_count"], f"{len(refunds)} refunds exported"
        if "expect_total" in step:
            assert sum((r.amount for r in refunds), ZERO) == euro(step["expect_total"])

    def step_refunds_sent(self, step: dict[str, Any]) -> None:
        sent = sum(
            refunds_mark_sent(export=export, today=step["date"])
            for export in {r.export for r in Refund.objects.exclude(export=None)}
            if export is not None
        )
        assert sent == step["expect_count"], f"{sent} refunds marked sent"

    def step_close_year(self, step: dict[str, Any]) -> None:
        year_close(year=self.year, closed_on=step["date"])

    @staticmethod
    def _command(*args: str) -> str:
        """A manage.py command as the agency types it; its output."""
        out = io.StringIO()
        call_command(*args, stdout=out, stderr=io.StringIO())
        return out.getvalue()

    def _expect_issued(self, step: dict[str, Any], issued: list[Invoice]) -> None:
        got = {invoice.number: str(invoice.total) for invoice in issued}
        assert got == step["expect_issued"], f"issued {got}"

    # --- reading the year back -----------------------------------------------------------------------------------

    def books(self, operator: Operator) -> Books:
        books = Books()
        for invoice in Invoice.objects.filter(year=self.year, operator=operator).select_related("credits"):
            sign = 1
            kind = invoice.kind
            if invoice.kind == InvoiceKind.CREDIT_NOTE:
                assert invoice.credits is not None
                sign, kind = -1, invoice.credits.kind
                books.credited += invoice.total
            else:
                books.invoiced += invoice.total
            books.net_by_kind[kind] += sign * invoice.total
            for line in invoice.lines:
                books.net_by_line[line["description"]] += sign * Decimal(line["amount"])
        allocated = Allocation.objects.filter(invoice__operator=operator) | Allocation.objects.filter(
            invoice__isnull=True, operator=operator
        )
        books.allocated = allocated.aggregate(s=Sum("amount"))["s"] or ZERO
        books.refunded = Refund.objects.filter(operator=operator).aggregate(s=Sum("amount"))["s"] or ZERO
        return books

    def latest_assessment(self, operator: Operator) -> OperatorAssessment:
        """The operator's latest assessment: of the year's latest run, or of a correction after invoicing."""
        found = OperatorAssessment.objects.filter(run__year=self.year, operator=operator).order_by("-pk").first()
        assert found is not None, f"{operator} was never assessed"
        return found
