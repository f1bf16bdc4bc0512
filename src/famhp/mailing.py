"""Sending a batch of e-mails (invitations, reminders, invoices) so that one bad record never stops the rest
(issue 10, ADR 14): each message is built and sent on its own; one that cannot be (a name that breaks a header,
an address the server refuses, a template that fails) is logged with its operator and reported to the caller,
and the batch goes on."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from django.core.mail import EmailMessage, get_connection
from django.utils.translation import gettext as _

from famhp.text import one_line

logger = logging.getLogger("famhp.mailing")
T = TypeVar("T")


@dataclass(frozen=True)
class SendFailure:
    """A message not sent: to whom (the operator, named) and why."""

    recipient: str
    reason: str

    def __str__(self) -> str:
        return _("%(recipient)s: not sent (%(reason)s)") % {"recipient": self.recipient, "reason": self.reason}


def send_each(items: Iterable[tuple[str, Callable[[], tuple[EmailMessage, T]]]]) -> tuple[list[T], list[SendFailure]]:
    """Build and send each message on one SMTP connection. ``items`` pairs a recipient's name (for the report)
    with a builder returning the message and what to keep when it is sent (an operator, a reminder to record).
    Returns what was kept for the messages sent, and a failure per message not sent."""
    kept: list[T] = []
    failures: list[SendFailure] = []
    with get_connection() as connection:
        for recipient, build in items:
            try:
                message, keep = build()
                # a header holds one line: a name with a line break or a control character is written flat
                message.subject = one_line(message.subject)
                if connection.send_messages([message]) != 1:
                    raise RuntimeError(_("the mail server accepted no message"))
            except Exception as error:  # one record, whatever is wrong with it, never stops the batch
                logger.exception("e-mail to %s not sent", one_line(recipient))
                failures.append(SendFailure(one_line(recipient), one_line(str(error)) or type(error).__name__))
                connection.close()  # a conversation broken off is opened again for the next message
            else:
                kept.append(keep)
    return kept, failures


def failures_report(failures: list[SendFailure]) -> str:
    """One message for the staff member who ran the batch: how many were not sent, to whom and why."""
    return _("%(count)s e-mails were not sent, the others were: %(list)s. The details are in the log.") % {
        "count": len(failures),
        "list": "; ".join(str(failure) for failure in failures),
    }
