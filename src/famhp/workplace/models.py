"""What the workplace remembers of its mass actions, so that none sends or issues anything twice (ADR 16).

- ``MassAction``: one confirmed action. Its ``key`` comes from the preview the staff member confirmed (a hidden
  field): a double click, a second tab posting the same preview, or a retried request find the same action
  (unique). A reminder round is numbered per campaign and confirmed once (unique kind, year, round).
- ``ItemDone``: one record per item of an action's kind (an operator's invitation of a campaign, its reminder of
  round N, an invoice's e-mail), claimed under a unique constraint *before* the message goes out and marked
  sent after: a second run, a concurrent worker or a run resumed after a crash skips a claimed item. An item
  claimed but never marked (the process died between the two) is reported as uncertain, never re-sent.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ActionKind(models.TextChoices):
    INVITATIONS = "invitations", _("Send the invitations")
    REMINDERS = "reminders", _("Remind those who have not declared")
    NOTICES = "notices", _("Issue the activity-tax payment notices")
    LEVY_INVOICES = "levy_invoices", _("Issue the turnover-levy invoices")
    CORRECTIONS = "corrections", _("Apply the corrections after invoicing")
    INVOICE_EMAILS = "invoice_emails", _("E-mail the invoices with their PDF")
    RESEND = "resend", _("Send one operator its personal link again")


class ActionState(models.TextChoices):
    QUEUED = "queued", _("waiting for the worker")
    RUNNING = "running", _("running")
    DONE = "done", _("done")
    FAILED = "failed", _("stopped with an error")


class MassAction(models.Model):
    key = models.UUIDField(_("idempotency key"), unique=True)
    kind = models.CharField(_("action"), max_length=20, choices=ActionKind.choices)
    year = models.PositiveIntegerField(_("contribution year"))
    #: a reminder round (1, 2, …); 0 for the other kinds
    round = models.PositiveIntegerField(_("round"), default=0)
    #: the one operator of an action about one operator (resending its personal link)
    operator = models.ForeignKey("registry.Operator", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    state = models.CharField(_("state"), max_length=10, choices=ActionState.choices, default=ActionState.QUEUED)
    total = models.PositiveIntegerField(_("items"), default=0)
    done = models.PositiveIntegerField(_("items handled"), default=0)
    #: what the preview announced (count and amount), kept to compare with the result
    preview = models.JSONField(default=dict)
    #: counts (sent, skipped, failed, uncertain), failures and a message
    result = models.JSONField(default=dict)
    task_id = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("mass action")
        verbose_name_plural = _("mass actions")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "year", "round"], condition=models.Q(round__gt=0), name="one_action_per_round"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.year}"

    @property
    def percent(self) -> int:
        return 100 * self.done // self.total if self.total else (100 if self.finished_at else 0)

    @property
    def finished(self) -> bool:
        return self.state in {ActionState.DONE, ActionState.FAILED}


class ItemState(models.TextChoices):
    CLAIMED = "claimed", _("claimed (being sent)")
    SENT = "sent", _("sent")
    FAILED = "failed", _("not sent")


class ItemDone(models.Model):
    kind = models.CharField(max_length=20, choices=ActionKind.choices)
    year = models.PositiveIntegerField()
    round = models.PositiveIntegerField(default=0)
    #: "operator:<pk>" or "invoice:<pk>"
    item = models.CharField(max_length=40)
    action = models.ForeignKey(MassAction, on_delete=models.PROTECT, related_name="items")
    state = models.CharField(max_length=10, choices=ItemState.choices, default=ItemState.CLAIMED)
    detail = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "year", "round", "item"], name="one_item_done_per_kind_round")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.year}/{self.round} {self.item}: {self.state}"


class BankImport(models.Model):
    """One bank statement file handed to the workplace (issue 12): imported at once when small, by the
    background worker when large. The file is kept only until it is read; what it brought is the payments
    app's ``StatementFile`` (``new`` false: the same file was imported before and nothing was added)."""

    class State(models.TextChoices):
        QUEUED = "queued", _("waiting for the worker")
        RUNNING = "running", _("being imported")
        DONE = "done", _("imported")
        FAILED = "failed", _("refused: nothing imported")

    name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveIntegerField(_("size in bytes"))
    #: the uploaded file until the import has read it (emptied afterwards: the bank lines are the facts)
    data = models.BinaryField(default=bytes)
    #: the language of whoever uploaded it: the refusal's words are in it
    language = models.CharField(max_length=8, default="en")
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    statement = models.ForeignKey(
        "payments.StatementFile", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    new = models.BooleanField(_("new file"), default=False)
    #: the refusal in words (which statement, line and figure), or what stopped the import
    message = models.TextField(_("message"), blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("bank statement upload")
        verbose_name_plural = _("bank statement uploads")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_state_display()})"

    @property
    def finished(self) -> bool:
        return self.state in {self.State.DONE, self.State.FAILED}
