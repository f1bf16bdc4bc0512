"""Mass actions with a preview and a confirmation, that never send or issue anything twice (issue 12, ADR 16).

``action_preview`` says how many, to whom and for how much, and why it cannot run yet (the domain's own
refusal). ``mass_action_confirm`` records the confirmed action once per idempotency key (the preview's) and
queues its task; ``mass_action_run`` does the work, resumably:

- e-mails (invitations, reminders, invoice e-mails) go one by one: each item is claimed first (``ItemDone``,
  unique per kind, year, round and item, committed before the message leaves), sent through the domain's
  service, then marked sent. A second run, a concurrent worker or a run after a crash skips every claimed item;
  one claimed but never marked (the process died in between) is reported as uncertain and never re-sent; one
  that failed may be tried again by a later action.
- invoices and corrections go through billing's services, which take the year's lock and look again at who is
  billed (ADR 8); the database refuses a second first invoice per year, kind and operator.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from famhp.billing.documents import invoices_send
from famhp.billing.models import Invoice, InvoiceKind, YearSettings
from famhp.billing.selectors import InterestUnconfirmed, corrections_pending, live_invoices
from famhp.billing.services import corrections_apply, invoice_lines, invoices_issue, latest_run
from famhp.billing.services.invoices import interest_for, issue_refusal
from famhp.declarations.models import Campaign, Invitation
from famhp.declarations.selectors import invitations_to_remind, operators_to_invite
from famhp.declarations.services import campaign_send_invitations, campaign_send_reminders
from famhp.mailing import SendFailure
from famhp.registry.models import Operator
from famhp.rules.money import ZERO_EUR
from famhp.workplace.models import ActionKind, ActionState, ItemDone, ItemState, MassAction

logger = logging.getLogger("famhp.workplace")


#: The staff permission each action needs (docs/roles.md).
PERMISSION = {
    ActionKind.INVITATIONS: "manage_campaign",
    ActionKind.REMINDERS: "manage_campaign",
    ActionKind.NOTICES: "issue_invoices",
    ActionKind.LEVY_INVOICES: "issue_invoices",
    ActionKind.CORRECTIONS: "issue_invoices",
    ActionKind.INVOICE_EMAILS: "issue_invoices",
    # docs/roles.md: support resends one invitation; the finance officer runs the campaign
    ActionKind.RESEND: "manage_contacts",
}
#: Other staff permissions that also allow an action.
ALSO = {ActionKind.RESEND: ("manage_campaign",)}


def may_run(user: Any, kind: str) -> bool:
    codenames = (PERMISSION[ActionKind(kind)], *ALSO.get(ActionKind(kind), ()))
    return any(user.has_perm(f"accounts.{codename}") for codename in codenames)


INVOICE_KIND = {ActionKind.NOTICES: InvoiceKind.ACTIVITY_TAX, ActionKind.LEVY_INVOICES: InvoiceKind.TURNOVER_LEVY}


@dataclass(frozen=True)
class Recipient:
    name: str
    detail: str
    amount: Decimal | None = None
    operator_id: int | None = None


@dataclass
class Preview:
    kind: str
    year: int
    round: int = 0
    operator: Operator | None = None
    recipients: list[Recipient] = field(default_factory=list)
    refusal: str | None = None

    @property
    def count(self) -> int:
        return len(self.recipients)

    @property
    def amount(self) -> Decimal | None:
        amounts = [r.amount for r in self.recipients if r.amount is not None]
        return sum(amounts, ZERO_EUR) if amounts else None

    def as_json(self) -> dict[str, Any]:
        return {"count": self.count, "amount": None if self.amount is None else str(self.amount)}


# --- what each action would do ---------------------------------------------------------------------------------


def _campaign(year: int) -> Campaign | None:
    return Campaign.objects.filter(year=year).first()


def next_reminder_round(year: int) -> int:
    last = MassAction.objects.filter(kind=ActionKind.REMINDERS, year=year).aggregate(m=Max("round"))["m"]
    return (last or 0) + 1


def _pending_invitations(campaign: Campaign) -> list[Operator]:
    claimed = ItemDone.objects.filter(kind=ActionKind.INVITATIONS, year=campaign.year).exclude(state=ItemState.FAILED)
    return list(
        operators_to_invite(campaign)
        .exclude(pk__in=[int(i.split(":")[1]) for i in claimed.values_list("item", flat=True)])
        .order_by("name", "pk")
    )


def _pending_reminders(campaign: Campaign) -> list[Invitation]:
    return list(invitations_to_remind(campaign).select_related("operator").order_by("operator__name", "pk"))


def _unsent_invoices(year: int) -> list[Invoice]:
    sent = ItemDone.objects.filter(kind=ActionKind.INVOICE_EMAILS, year=year).exclude(state=ItemState.FAILED)
    done = {int(i.split(":")[1]) for i in sent.values_list("item", flat=True)}
    return [i for i in live_invoices(year).select_related("operator").order_by("kind", "sequence") if i.pk not in done]


def _invoice_preview(preview: Preview, kind: str, today: datetime.date) -> None:
    settings = YearSettings.objects.filter(year=preview.year).first()
    run = latest_run(preview.year)
    if settings is None or run is None:
        preview.refusal = _("Run the assessment of %(year)s first.") % {"year": preview.year}
        return
    refusal = issue_refusal(settings, run, kind)
    if refusal:
        preview.refusal = refusal
        return
    try:
        interest = interest_for(preview.year) if kind == InvoiceKind.TURNOVER_LEVY else None
    except InterestUnconfirmed as unconfirmed:
        preview.refusal = unconfirmed.messages[0]
        return
    billed = set(
        Invoice.objects.filter(year=preview.year, kind=kind, follows=None).values_list("operator_id", flat=True)
    )
    for result in run.results.select_related("operator").order_by("operator__name", "operator_id"):
        if result.operator_id in billed:
            continue
        lines = invoice_lines(result, kind, issued_on=today, interest=interest)
        amount = sum((Decimal(line["amount"]) for line in lines), ZERO_EUR)
        if amount:
            preview.recipients.append(
                Recipient(result.operator.name, result.operator.identifier, amount, result.operator_id)
            )


def _resend_preview(preview: Preview, operator: Operator) -> None:
    campaign = _campaign(preview.year)
    invitation = Invitation.objects.filter(campaign=campaign, operator=operator).first() if campaign else None
    if invitation is None:
        preview.refusal = _("%(operator)s has no invitation of %(year)s: send the invitations instead.") % {
            "operator": operator.name,
            "year": preview.year,
        }
    elif operator.declarations.filter(campaign=campaign).exists():
        preview.refusal = _(
            "%(operator)s has declared for %(year)s: its users reach the declaration from the portal."
        ) % {
            "operator": operator.name,
            "year": preview.year,
        }
    else:
        preview.recipients.append(Recipient(operator.name, operator.contact_email, operator_id=operator.pk))


def action_preview(
    kind: str, year: int, *, today: datetime.date | None = None, operator: Operator | None = None
) -> Preview:
    today = today or timezone.localdate()
    preview = Preview(kind=kind, year=year, operator=operator)
    if kind == ActionKind.RESEND:
        if operator is None:
            raise ValueError("resending needs its operator")
        _resend_preview(preview, operator)
    elif kind in {ActionKind.INVITATIONS, ActionKind.REMINDERS}:
        campaign = _campaign(year)
        if campaign is None:
            preview.refusal = _("The campaign of %(year)s is not open.") % {"year": year}
            return preview
        if kind == ActionKind.INVITATIONS:
            for pending in _pending_invitations(campaign):
                preview.recipients.append(Recipient(pending.name, pending.contact_email, operator_id=pending.pk))
        else:
            preview.round = next_reminder_round(year)
            for invitation in _pending_reminders(campaign):
                invited = invitation.operator
                preview.recipients.append(Recipient(invited.name, invited.contact_email, operator_id=invited.pk))
    elif kind in INVOICE_KIND:
        _invoice_preview(preview, INVOICE_KIND[ActionKind(kind)], today)
    elif kind == ActionKind.CORRECTIONS:
        for correction in corrections_pending(year):
            preview.recipients.append(
                Recipient(
                    correction.operator.name,
                    f"{correction.invoice.number}: {correction.reason}",
                    correction.invoice.total,
                    correction.operator.pk,
                )
            )
    elif kind == ActionKind.INVOICE_EMAILS:
        for invoice in _unsent_invoices(year):
            preview.recipients.append(
                Recipient(
                    invoice.operator.name,
                    f"{invoice.number} → {invoice.debtor.get('email', '')}",
                    invoice.total,
                    invoice.operator_id,
                )
            )
    if not preview.refusal and not preview.recipients:
        preview.refusal = _("Nothing to do: every item of this action is done already.")
    return preview


# --- confirming and running ---------------------------------------------------------------------------------------


def mass_action_confirm(*, kind: str, year: int, key: uuid.UUID, by: Any, preview: Preview) -> tuple[MassAction, bool]:
    """Record the confirmed action once per key; returns it and whether it is new. A reminder round is confirmed
    once: a second confirmation of the same round (another tab) finds the first."""
    existing = MassAction.objects.filter(key=key).first()
    if existing is not None:
        return existing, False
    if preview.refusal:
        raise ValidationError(preview.refusal)
    try:
        with transaction.atomic():
            action = MassAction.objects.create(
                key=key,
                kind=kind,
                year=year,
                operator=preview.operator,
                round=preview.round,
                total=preview.count,
                preview=preview.as_json(),
                created_by=by,
            )
    except IntegrityError:
        found = (
            MassAction.objects.filter(key=key).first()
            or MassAction.objects.filter(kind=kind, year=year, round=preview.round).first()
        )
        if found is None:
            raise
        return found, False
    return action, True


def _progress(action: MassAction) -> Callable[[int, int], None]:
    def report(done: int, total: int) -> None:
        MassAction.objects.filter(pk=action.pk).update(done=done, total=total)

    return report


def _round(action: MassAction) -> int:
    """The items' round: the reminder round, or the action itself for a deliberate resend (each confirmed
    resend sends once; a double click is the same action)."""
    return action.pk if action.kind == ActionKind.RESEND else action.round


def _claim(action: MassAction, item: str) -> bool:
    """Take the item for this action, committed before anything is sent: False if it is claimed or done."""
    try:
        with transaction.atomic():
            ItemDone.objects.create(kind=action.kind, year=action.year, round=_round(action), item=item, action=action)
        return True
    except IntegrityError:
        # an item that failed before may be tried again: taken back by one update, which only one run wins
        return bool(
            ItemDone.objects.filter(
                kind=action.kind, year=action.year, round=_round(action), item=item, state=ItemState.FAILED
            ).update(state=ItemState.CLAIMED, action=action, detail="")
        )


def _mark(action: MassAction, item: str, state: str, detail: str = "") -> None:
    ItemDone.objects.filter(kind=action.kind, year=action.year, round=_round(action), item=item).update(
        state=state, detail=detail[:500]
    )


def _one_by_one(action: MassAction, items: list[tuple[str, str, Callable[[list[SendFailure]], int]]]) -> dict[str, Any]:
    """Each item claimed, sent by ``send(failures)`` (returns how many went out) and marked."""
    counts = {"sent": 0, "skipped": 0, "failed": 0}
    failures: list[str] = []
    report = _progress(action)
    for index, (item, name, send) in enumerate(items, start=1):
        if not _claim(action, item):
            counts["skipped"] += 1
        else:
            failed: list[SendFailure] = []
            try:
                sent = send(failed)
            except Exception as error:  # one item never stops the others; it is reported and may be retried
                logger.exception("mass action %s: %s not sent", action.pk, item)
                failed.append(SendFailure(name, str(error) or type(error).__name__))
                sent = 0
            if sent:
                counts["sent"] += 1
                _mark(action, item, ItemState.SENT)
            elif failed:
                counts["failed"] += 1
                failures.append(str(failed[0]))
                _mark(action, item, ItemState.FAILED, failed[0].reason)
            else:  # the domain found it done already (sent from elsewhere)
                counts["skipped"] += 1
                _mark(action, item, ItemState.SENT, "already done")
        report(index, len(items))
    return {**counts, "failures": failures}


def _to_each_operator(
    action: MassAction, campaign: Campaign, send_service: Callable[..., int], operators: Iterable[Operator]
) -> dict[str, Any]:
    """The campaign's e-mail to each operator, one by one under the action's per-item record."""

    def send(operator: Operator) -> Callable[[list[SendFailure]], int]:
        return lambda failed: send_service(campaign=campaign, operator_ids=[operator.pk], batch=1, failures=failed)

    return _one_by_one(action, [(f"operator:{o.pk}", str(o), send(o)) for o in operators])


def _run_invitations(action: MassAction) -> dict[str, Any]:
    campaign = Campaign.objects.get(year=action.year)
    pending = operators_to_invite(campaign).order_by("name", "pk")
    return _to_each_operator(action, campaign, campaign_send_invitations, pending)


def _run_reminders(action: MassAction) -> dict[str, Any]:
    campaign = Campaign.objects.get(year=action.year)
    pending = [invitation.operator for invitation in _pending_reminders(campaign)]
    return _to_each_operator(action, campaign, campaign_send_reminders, pending)


def _run_resend(action: MassAction) -> dict[str, Any]:
    """The operator's personal link again, by the campaign's reminder e-mail (it carries the link)."""
    campaign = Campaign.objects.get(year=action.year)
    assert action.operator is not None
    return _to_each_operator(action, campaign, campaign_send_reminders, [action.operator])


def _run_invoice_emails(action: MassAction) -> dict[str, Any]:
    def send(invoice: Invoice) -> Callable[[list[SendFailure]], int]:
        def go(failed: list[SendFailure]) -> int:
            sent, failures = invoices_send([invoice])
            failed.extend(failures)
            return sent

        return go

    invoices = list(live_invoices(action.year).select_related("operator").order_by("kind", "sequence"))
    return _one_by_one(action, [(f"invoice:{i.pk}", i.number, send(i)) for i in invoices])


def _run_invoices(action: MassAction) -> dict[str, Any]:
    run = latest_run(action.year)
    if run is None:
        raise ValidationError(_("Run the assessment of %(year)s first.") % {"year": action.year})
    issued = invoices_issue(run=run, kind=INVOICE_KIND[ActionKind(action.kind)], progress=_progress(action))
    return {"sent": len(issued), "amount": str(sum((i.total for i in issued), ZERO_EUR)), "skipped": 0, "failed": 0}


def _run_corrections(action: MassAction) -> dict[str, Any]:
    done = corrections_apply(year=action.year)
    MassAction.objects.filter(pk=action.pk).update(done=F("total"))
    return {"sent": len(done), "skipped": 0, "failed": 0}


RUNNERS: dict[str, Callable[[MassAction], dict[str, Any]]] = {
    ActionKind.INVITATIONS: _run_invitations,
    ActionKind.REMINDERS: _run_reminders,
    ActionKind.NOTICES: _run_invoices,
    ActionKind.LEVY_INVOICES: _run_invoices,
    ActionKind.CORRECTIONS: _run_corrections,
    ActionKind.INVOICE_EMAILS: _run_invoice_emails,
    ActionKind.RESEND: _run_resend,
}


def uncertain_items(action: MassAction) -> list[str]:
    """Items claimed by this action and never marked: the process stopped between sending and recording."""
    return list(action.items.filter(state=ItemState.CLAIMED).values_list("item", flat=True))


def mass_action_run(*, action_id: int) -> MassAction:
    """Do (or resume) a confirmed action. A finished one is left as it is."""
    with transaction.atomic():
        action = MassAction.objects.select_for_update().get(pk=action_id)
        if action.finished:
            return action
        if action.state == ActionState.RUNNING:
            # resumed after a crash: what it claimed and never marked stays unsent, reported as uncertain
            ItemDone.objects.filter(action=action, state=ItemState.CLAIMED).update(detail="uncertain")
        action.state, action.started_at = ActionState.RUNNING, action.started_at or timezone.now()
        action.save(update_fields=["state", "started_at"])
    try:
        result = RUNNERS[action.kind](action)
        state = ActionState.DONE
    except ValidationError as refused:
        result, state = {"message": " ".join(refused.messages)}, ActionState.FAILED
    except Exception as error:
        logger.exception("mass action %s stopped", action.pk)
        result, state = (
            {"message": _("Stopped by an unexpected error: %(error)s") % {"error": error}},
            ActionState.FAILED,
        )
    result["uncertain"] = uncertain_items(action)
    MassAction.objects.filter(pk=action.pk).update(state=state, result=result, finished_at=timezone.now())
    action.refresh_from_db()
    return action
