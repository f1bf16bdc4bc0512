"""The declaration campaign: opening it, inviting and reminding, estimating, and submitting declarations."""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import EmailMessage
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from famhp.billing.models import Invoice, YearSettings
from famhp.billing.selectors import parameters_for_year
from famhp.declarations.amounts import format_amount
from famhp.declarations.models import Campaign, Declaration, DeclarationVersion, Invitation
from famhp.declarations.selectors import invitations_to_remind, operators_to_invite
from famhp.languages import email_language
from famhp.mailing import SendFailure, send_each
from famhp.registry.models import Operator
from famhp.registry.selectors import rules_operator
from famhp.rules import InvalidInput, Line, OperatorResult, assess_year, is_exempt
from famhp.text import validate_one_line

INVITATION_SALT = "famhp.declarations.invitation"
Progress = Callable[[int, int], None]
T = TypeVar("T")


def campaign_open(
    *, year: int, deadline: datetime.date | None = None, late_filing_until: datetime.date | None = None
) -> Campaign:
    deadline = deadline or Campaign.default_deadline(year)
    campaign = Campaign(year=year, deadline=deadline, late_filing_until=late_filing_until or deadline)
    campaign.full_clean()
    campaign.save()
    return campaign


# --- the personal link --------------------------------------------------------------------------------------


class InvitationInvalid(Exception):
    """The link is forged, damaged or past the campaign's late-filing date."""


def invitation_token(*, campaign: Campaign, operator: Operator) -> str:
    """A signed token naming the campaign and the operator, valid until the campaign's late-filing date."""
    return signing.dumps({"c": campaign.pk, "o": operator.pk}, salt=INVITATION_SALT, compress=True)


def invitation_url(*, campaign: Campaign, operator: Operator) -> str:
    token = invitation_token(campaign=campaign, operator=operator)
    return settings.FAMHP_BASE_URL + reverse("declarations:invitation", args=[token])


def invitation_read(token: str, *, today: datetime.date | None = None) -> tuple[Campaign, Operator]:
    try:
        payload = signing.loads(token, salt=INVITATION_SALT)
        campaign = Campaign.objects.get(pk=payload["c"])
        operator = Operator.objects.get(pk=payload["o"])
    except (signing.BadSignature, KeyError, TypeError, Campaign.DoesNotExist, Operator.DoesNotExist):
        raise InvitationInvalid(_("This link is not valid.")) from None
    if (today or timezone.localdate()) > campaign.late_filing_until:
        raise InvitationInvalid(
            _("This link has expired: the campaign closed on %(date)s.") % {"date": campaign.late_filing_until}
        )
    return campaign, operator


# --- invitations and reminders ------------------------------------------------------------------------------


def _message(*, campaign: Campaign, operator: Operator, kind: str) -> EmailMessage:
    language = email_language(operator.language)
    context = {
        "campaign": campaign,
        "operator": operator,
        "link": invitation_url(campaign=campaign, operator=operator),
        "support_email": settings.FAMHP_SUPPORT_EMAIL,
        "support_phone": settings.FAMHP_SUPPORT_PHONE,
    }
    with translation.override(language):
        subject = render_to_string(f"declarations/email/{kind}_subject.txt", context).strip()
        body = render_to_string(f"declarations/email/{kind}_body.txt", context)
    return EmailMessage(subject=subject, body=body, to=[operator.contact_email], headers={"Content-Language": language})


def _send_in_batches(
    *,
    campaign: Campaign,
    kind: str,
    pending: Sequence[tuple[Operator, T]],
    record: Callable[[list[T], datetime.datetime], None],
    progress: Progress | None,
    batch: int,
    failures: list[SendFailure] | None,
) -> int:
    """The e-mail ``kind`` to each pending operator; returns how many went out.

    Each message is built and sent on its own (``send_each``): one that cannot be sent (one bad record) is
    logged and added to ``failures``, the rest of the batch goes out. What a batch delivered (the item paired
    with each operator) is then recorded by ``record`` in one transaction, each item once: a failure leaves
    earlier batches recorded and later ones unsent, so that running it again sends only what is missing.
    """

    def builder(operator: Operator, item: T) -> Callable[[], tuple[EmailMessage, T]]:
        return lambda: (_message(campaign=campaign, operator=operator, kind=kind), item)

    sent = 0
    for start in range(0, len(pending), batch):
        chunk = pending[start : start + batch]
        delivered, failed = send_each((str(operator), builder(operator, item)) for operator, item in chunk)
        now = timezone.now()
        with transaction.atomic():
            record(delivered, now)
        sent += len(delivered)
        if failures is not None:
            failures.extend(failed)
        if progress:
            progress(start + len(chunk), len(pending))
    return sent


#: the first key of the PostgreSQL advisory lock a campaign's mailing of invitations takes (the campaign the second)
INVITATIONS_LOCK = 14_171
#: the same for a round of reminders
REMINDERS_LOCK = 14_172
#: a round of reminders (the admin's action, ``manage.py campaign remind``) skips whoever was reminded less than
#: this ago: a second click or a second command sends nothing twice
REMINDER_ROUND_INTERVAL = datetime.timedelta(days=1)


@contextlib.contextmanager
def _one_mailing_at_a_time(campaign: Campaign, key: int = INVITATIONS_LOCK) -> Iterator[None]:
    """Two mailings of a campaign's invitations at once (the admin action clicked twice, the command next to it)
    mail each operator once: the second waits for the first, then finds everyone invited. A session lock on
    PostgreSQL, outside any transaction (each batch commits on its own); SQLite writes one at a time anyway."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [key, campaign.pk])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [key, campaign.pk])


def campaign_send_invitations(
    *,
    campaign: Campaign,
    progress: Progress | None = None,
    batch: int = 50,
    failures: list[SendFailure] | None = None,
    operator_ids: Collection[int] | None = None,
) -> int:
    """Invite every operator that must declare (RULES §3) and has not been invited yet (of ``operator_ids`` only,
    when given: the workplace sends one by one under its own per-item record); returns how many. Sent and
    recorded batch by batch (``_send_in_batches``): running it again sends only what is missing.
    """
    candidates = operators_to_invite(campaign)
    if operator_ids is not None:
        candidates = candidates.filter(pk__in=operator_ids)

    def record(operators: list[Operator], now: datetime.datetime) -> None:
        Invitation.objects.bulk_create(
            Invitation(campaign=campaign, operator=o, email=o.contact_email, language=o.language, sent_at=now)
            for o in operators
        )

    with _one_mailing_at_a_time(campaign):  # who is still to invite is read once the lock is held
        return _send_in_batches(
            campaign=campaign,
            kind="invitation",
            pending=[(operator, operator) for operator in candidates],
            record=record,
            progress=progress,
            batch=batch,
            failures=failures,
        )


def campaign_send_reminders(
    *,
    campaign: Campaign,
    progress: Progress | None = None,
    batch: int = 50,
    failures: list[SendFailure] | None = None,
    operator_ids: Collection[int] | None = None,
    round_interval: datetime.timedelta | None = None,
) -> int:
    """Remind every invited operator that has not declared yet (of ``operator_ids`` only, when given); returns
    how many were reminded. A reminder that cannot be sent is logged and added to ``failures``; the others go
    out. ``round_interval``: a round (the admin's action, the command) skips whoever was reminded less than this
    ago, one round at a time (two clicks or two commands at once remind each operator once); the workplace's
    actions keep their own record of each operator, and a resend on request is sent each time."""
    if round_interval is not None:
        with _one_mailing_at_a_time(campaign, REMINDERS_LOCK):  # who is still to remind is read under the lock
            return _send_reminders(campaign, progress, batch, failures, operator_ids, round_interval)
    return _send_reminders(campaign, progress, batch, failures, operator_ids, None)


def _send_reminders(
    campaign: Campaign,
    progress: Progress | None,
    batch: int,
    failures: list[SendFailure] | None,
    operator_ids: Collection[int] | None,
    round_interval: datetime.timedelta | None,
) -> int:
    invitations = invitations_to_remind(campaign)
    if operator_ids is not None:
        invitations = invitations.filter(operator_id__in=operator_ids)
    if round_interval is not None:
        invitations = invitations.exclude(last_reminder_at__gt=timezone.now() - round_interval)

    def record(reminded: list[Invitation], now: datetime.datetime) -> None:
        for invitation in reminded:
            invitation.reminders_sent += 1
            invitation.last_reminder_at = now
        Invitation.objects.bulk_update(reminded, ["reminders_sent", "last_reminder_at"])

    return _send_in_batches(
        campaign=campaign,
        kind="reminder",
        pending=[(i.operator, i) for i in invitations.select_related("operator", "campaign").order_by("pk")],
        record=record,
        progress=progress,
        batch=batch,
        failures=failures,
    )


# --- estimate and submission --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """Step one of the declaration form: the two figures and the two tick boxes (RULES §5, §6)."""

    total_turnover: Decimal
    levied_turnover: Decimal
    below_threshold: bool
    not_liable: bool


def figures_check(*, campaign: Campaign, operator: Operator, figures: Figures) -> dict[str, str]:
    """The declaration's consistency rules (D4, RULES §3); returns an error message per field, empty if fine."""
    errors: dict[str, str] = {}
    if figures.levied_turnover > figures.total_turnover:
        errors["levied_turnover"] = _(
            "The turnover from supplies to retailers and end users is part of the total turnover: it cannot be higher."
        )
    parameters = parameters_for_year(campaign.year)
    threshold = parameters.exemption_threshold if parameters is not None else None
    if figures.below_threshold and threshold is not None and not is_exempt(figures.total_turnover, threshold):
        errors["below_threshold"] = _(
            "You ticked “below 40,000 euro indexed”, but your total turnover is not below the threshold of "
            "%(threshold)s euro for %(year)s."
        ) % {"threshold": format_amount(threshold), "year": campaign.year}
    elif (
        not figures.below_threshold
        and not figures.not_liable
        and threshold is not None
        and is_exempt(figures.total_turnover, threshold)
    ):
        # FAQ 6: below the threshold, the company still declares and ticks the box; never exempted silently
        errors["below_threshold"] = _(
            "Your total turnover is below the threshold of %(threshold)s euro for %(year)s: tick this box to "
            "declare it (FAQ 6), or correct the turnover."
        ) % {"threshold": format_amount(threshold), "year": campaign.year}
    if figures.not_liable and (operator.established_in_belgium or figures.total_turnover > 0):
        errors["not_liable"] = (
            _("Your company is registered as established in Belgium: it is liable even if it trades only abroad.")
            if operator.established_in_belgium
            else _(
                "You declare a turnover in Belgium: a company with a liable activity on Belgian territory is liable."
            )
        )
    return errors


@dataclass(frozen=True)
class Estimate:
    result: OperatorResult
    parameters_unconfirmed: tuple[str, ...]

    @property
    def lines(self) -> tuple[Line, ...]:
        return self.result.explanation


def declaration_estimate(*, campaign: Campaign, operator: Operator, figures: Figures) -> Estimate | None:
    """The contribution famhp.rules computes for these figures with the year's parameters (the agency's settings,
    else the built-in ones), or None when the cost per entity or rate is not known yet (never guessed)."""
    parameters = parameters_for_year(campaign.year)
    if parameters is None:
        return None
    subject = rules_operator(
        operator,
        campaign.year,
        total_turnover=figures.total_turnover,
        levied_turnover=figures.levied_turnover,
        declares_not_liable=figures.not_liable,
    )
    try:
        result = assess_year(parameters=parameters, operators=[subject])
    except InvalidInput:
        return None
    if parameters.cost_per_entity is None:
        return None  # a cost computed from this one operator would be meaningless
    return Estimate(result.operators[0], parameters.unconfirmed)


def certificate_check(upload: UploadedFile) -> None:
    """A signed certificate: a PDF file (by its content, not its name) of at most CERTIFICATE_MAX_BYTES."""
    if upload.size is None or upload.size > settings.CERTIFICATE_MAX_BYTES:
        raise ValidationError(
            _("The certificate is larger than %(size)s MB.") % {"size": settings.CERTIFICATE_MAX_BYTES // (1024 * 1024)}
        )
    upload.seek(0)
    head = upload.read(5)
    upload.seek(0)
    if head != b"%PDF-":
        raise ValidationError(_("The certificate must be a PDF file."))


def declaration_open(*, campaign: Campaign, today: datetime.date | None = None) -> bool:
    return (today or timezone.localdate()) <= campaign.late_filing_until


def _campaign_shared(campaign: Campaign) -> Campaign:
    """The campaign's dates as they are now, read under a shared row lock on PostgreSQL until the declaration is
    stored: a change of the dates (``campaign_dates_change`` locks the row for update) waits for the filings in
    progress, and a filing waits for a change in progress, so ``late`` is always judged by the dates in force.
    Filings do not wait for each other (FOR SHARE)."""
    if connection.vendor != "postgresql":
        campaign.refresh_from_db(fields=["deadline", "late_filing_until"])
        return campaign
    table = connection.ops.quote_name(Campaign._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT deadline, late_filing_until FROM {table} WHERE id = %s FOR SHARE", [campaign.pk])
        row = cursor.fetchone()
    if row is not None:
        campaign.deadline, campaign.late_filing_until = row
    return campaign


@transaction.atomic
def declaration_submit(
    *,
    campaign: Campaign,
    operator: Operator,
    figures: Figures,
    certifier_name: str,
    certifier_capacity: str,
    certifier_membership_number: str,
    certificate: UploadedFile | None,
    submitted_by: str,
    now: datetime.datetime | None = None,
) -> DeclarationVersion:
    """Record a declaration, or a correction as its next version; earlier versions are kept (RULES §6).

    A company declaring itself not liable (FAQ 7) ticks the box only: no certifier and no certificate."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    campaign = _campaign_shared(campaign)
    if not declaration_open(campaign=campaign, today=today):
        raise ValidationError(
            _("The campaign %(year)s closed on %(date)s.") % {"year": campaign.year, "date": campaign.late_filing_until}
        )
    errors = figures_check(campaign=campaign, operator=operator, figures=figures)
    if errors:
        raise ValidationError(errors)
    certified = not figures.not_liable
    if certified and certificate is None:
        raise ValidationError({"certificate": _("Add the signed certificate (PDF).")})
    if certificate is not None and certified:
        certificate_check(certificate)
    declaration, _created = Declaration.objects.get_or_create(campaign=campaign, operator=operator)
    declaration = Declaration.objects.select_for_update().get(pk=declaration.pk)
    number = (declaration.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = DeclarationVersion(
        declaration=declaration,
        number=number,
        total_turnover=figures.total_turnover,
        levied_turnover=figures.levied_turnover,
        below_threshold=figures.below_threshold,
        not_liable=figures.not_liable,
        certifier_name=certifier_name,
        certifier_capacity=certifier_capacity,
        certifier_membership_number=certifier_membership_number,
        submitted_at=now,
        submitted_by=submitted_by,
        late=today > campaign.deadline,
    )
    if not certified:
        version.certifier_name = version.certifier_capacity = version.certifier_membership_number = ""
    version.full_clean(
        exclude=["certificate"] if certified else ["certificate", "certifier_name", "certifier_capacity"]
    )
    if certified and certificate is not None:
        version.certificate.save(certificate.name or "certificate.pdf", certificate, save=False)
    try:
        version.save()
    except Exception:
        version.certificate.delete(save=False)  # nothing half-written: no file without its version
        raise
    return version


# --- the acknowledgement ------------------------------------------------------------------------------------


def receipt_pdf(*, version: DeclarationVersion, estimate: Estimate | None, language: str) -> bytes:
    """The PDF receipt of a submitted version: figures, certifier, version, time and estimate (issue 13)."""
    from weasyprint import HTML  # imported late: WeasyPrint loads Pango at import

    with translation.override(language):
        html = render_to_string(
            "declarations/receipt_pdf.html",
            {"version": version, "estimate": estimate, "LANGUAGE_CODE": language},
        )
    return bytes(HTML(string=html).write_pdf())


def _receipt_message(version: DeclarationVersion) -> EmailMessage:
    declaration = version.declaration
    operator, campaign = declaration.operator, declaration.campaign
    language = email_language(operator.language)
    figures = Figures(version.total_turnover, version.levied_turnover, version.below_threshold, version.not_liable)
    estimate = declaration_estimate(campaign=campaign, operator=operator, figures=figures)
    context = {
        "version": version,
        "campaign": campaign,
        "operator": operator,
        "estimate": estimate,
        "support_email": settings.FAMHP_SUPPORT_EMAIL,
        "support_phone": settings.FAMHP_SUPPORT_PHONE,
    }
    with translation.override(language):
        subject = render_to_string("declarations/email/receipt_subject.txt", context).strip()
        body = render_to_string("declarations/email/receipt_body.txt", context)
    message = EmailMessage(
        subject=subject, body=body, to=[operator.contact_email], headers={"Content-Language": language}
    )
    pdf_language = language if language in {code for code, _label in settings.LANGUAGES} else "en"
    message.attach(
        f"receipt-{campaign.year}-{operator.identifier}-v{version.number}.pdf",
        receipt_pdf(version=version, estimate=estimate, language=pdf_language),
        "application/pdf",
    )
    return message


def declaration_acknowledge(*, version: DeclarationVersion) -> list[SendFailure]:
    """Send the company its acknowledgement with the PDF receipt, in its language, after the version is recorded:
    a message that cannot be built or sent is logged and returned, and the declaration stays (issue 13)."""
    _sent, failures = send_each([(str(version.declaration.operator), lambda: (_receipt_message(version), version))])
    return failures


# --- the campaign's dates -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignDates:
    deadline: datetime.date
    late_filing_until: datetime.date


#: the reason kept in the campaign's history, one line
CAMPAIGN_REASON_LENGTH = 100


def campaign_dates_refusals(*, year: int, now: CampaignDates | None, new: CampaignDates) -> list[str]:
    """Why the campaign of ``year`` cannot take ``new`` dates (empty: it can), checked before anything is written.

    - the late-filing date is never before the deadline (RULES §6);
    - a closed year changes nothing;
    - the deadline stays once invoices of the year exist: it fixed their fines and the day interest runs from
      for non-filers (D7, D10);
    - the deadline does not move over a declaration already filed: whether it was filed late is kept with it."""
    refusals = []
    if new.late_filing_until < new.deadline:
        refusals.append(_("The late-filing date cannot be before the deadline."))
    if YearSettings.objects.filter(year=year, closed_on__isnull=False).exists():
        refusals.append(_("%(year)s is closed: its campaign no longer changes.") % {"year": year})
    if now is not None and new.deadline != now.deadline:
        if Invoice.objects.filter(year=year).exists():
            refusals.append(
                _(
                    "Invoices of %(year)s exist: the deadline fixed their fines and interest, so it no longer "
                    "changes. The late-filing date still can."
                )
                % {"year": year}
            )
        earlier, later = sorted((now.deadline, new.deadline))
        crossed = DeclarationVersion.objects.filter(
            declaration__campaign__year=year,
            submitted_at__date__gt=earlier,
            submitted_at__date__lte=later,
        ).count()
        if crossed:
            refusals.append(
                _(
                    "%(count)s declarations were filed between %(earlier)s and %(later)s: moving the deadline over "
                    "them would change whether they were late. Keep the deadline, or move it without crossing them."
                )
                % {"count": crossed, "earlier": earlier, "later": later}
            )
    return refusals


@transaction.atomic
def campaign_dates_change(
    *,
    year: int,
    dates: CampaignDates,
    by: object | None,
    reason: str,
    seen: CampaignDates | None = None,
    opening: bool = False,
) -> Campaign:
    """Set the campaign's deadline and late-filing date (opening the campaign if it does not exist yet): under
    the campaign's row lock, every check before anything is written, who, when and why kept in its history.

    ``seen``: the dates the page showed; if the campaign holds others now, someone changed them since, and
    nothing is saved. ``opening``: the page showed no campaign; if one exists now, nothing is saved either. Refused with a message, changing nothing: no reason; nothing would change (a second
    click finds the first one done); ``campaign_dates_refusals``."""
    reason = reason.strip()
    if not reason or len(reason) > CAMPAIGN_REASON_LENGTH:
        raise ValidationError(
            _("Give the reason of the change in one line of at most %(length)s characters.")
            % {"length": CAMPAIGN_REASON_LENGTH}
        )
    validate_one_line(reason)
    campaign = Campaign.objects.select_for_update().filter(year=year).first()
    now = CampaignDates(campaign.deadline, campaign.late_filing_until) if campaign else None
    if now == dates:
        raise ValidationError(_("Nothing to save: the campaign of %(year)s already has these dates.") % {"year": year})
    if opening and campaign is not None:  # the page showed no campaign: a colleague opened it meanwhile
        raise ValidationError(
            _("The campaign of %(year)s was opened meanwhile: nothing is saved. Look at its dates.") % {"year": year}
        )
    if seen is not None and now is not None and seen != now:
        raise ValidationError(
            _("The campaign's dates changed since this page was opened: nothing is saved. Look at the new dates.")
        )
    refusals = campaign_dates_refusals(year=year, now=now, new=dates)
    if refusals:
        raise ValidationError(refusals)
    if campaign is None:
        campaign = Campaign(year=year)
    campaign.deadline, campaign.late_filing_until = dates.deadline, dates.late_filing_until
    campaign.full_clean(validate_unique=False)
    campaign._change_reason = reason  # type: ignore[attr-defined]  # simple-history: why
    if getattr(by, "is_authenticated", False):
        campaign._history_user = by  # type: ignore[attr-defined]  # and who
    try:
        with transaction.atomic():
            campaign.save()
    except IntegrityError:  # two people opened the campaign at once: the other one did
        raise ValidationError(
            _("The campaign of %(year)s was opened meanwhile: nothing is saved. Look at its dates.") % {"year": year}
        ) from None
    return campaign
