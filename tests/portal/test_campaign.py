"""The campaign: invitations and reminders, the personal link, estimates and versioned declarations."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from famhp.declarations.models import DeclarationVersion, Invitation
from famhp.declarations.selectors import operators_not_declared
from famhp.declarations.services import (
    Figures,
    InvitationInvalid,
    campaign_send_invitations,
    campaign_send_reminders,
    declaration_estimate,
    invitation_read,
    invitation_token,
)
from tests.portal.factories import belgian, campaign, declare, foreign, with_activity

pytestmark = pytest.mark.django_db

FIGURES = Figures(Decimal("100000.00"), Decimal("100000.00"), False, False)


def test_invitations_go_once_to_who_must_declare_in_their_language() -> None:
    nl = with_activity(belgian("Medilab NV", language="nl", email="nl@example.be"))
    fr = with_activity(belgian("Médical SA", language="fr", email="fr@example.be"))
    de = with_activity(foreign("Orthotec GmbH", language="de"))
    with_activity(belgian("Gesloten BV", email="closed@example.be"), closed_on=datetime.date(2022, 1, 1))
    c = campaign()
    assert campaign_send_invitations(campaign=c) == 3
    by_recipient = {m.to[0]: m for m in mail.outbox}
    assert set(by_recipient) == {"nl@example.be", "fr@example.be", de.contact_email}
    assert "omzetaangifte" in by_recipient["nl@example.be"].subject.lower()
    assert "déclaration" in by_recipient["fr@example.be"].subject.lower()
    assert "umsatzerklärung" in by_recipient[de.contact_email].subject.lower()  # German: the e-mails only
    assert "Guten Tag Orthotec GmbH," in str(by_recipient[de.contact_email].body)
    link = re.search(r"http://testserver/invitation/\S+/", str(by_recipient["nl@example.be"].body))
    assert link is not None
    assert campaign_send_invitations(campaign=c) == 0  # nobody invited twice
    assert Invitation.objects.filter(operator=nl).count() == 1 and fr.invitations.count() == 1


def test_reminders_go_only_to_those_who_have_not_declared() -> None:
    declared, silent = with_activity(belgian("A")), with_activity(belgian("B", email="b@example.be"))
    c = campaign()
    campaign_send_invitations(campaign=c)
    declare(c, declared)
    mail.outbox.clear()
    assert campaign_send_reminders(campaign=c) == 1
    assert [m.to for m in mail.outbox] == [["b@example.be"]]
    assert Invitation.objects.get(operator=silent).reminders_sent == 1
    assert list(operators_not_declared(c)) == [silent]


def test_the_personal_link_is_signed_and_expires_with_the_campaign() -> None:
    operator = with_activity(belgian())
    c = campaign()
    token = invitation_token(campaign=c, operator=operator)
    assert invitation_read(token) == (c, operator)
    with pytest.raises(InvitationInvalid):
        invitation_read(token[:-2] + "xx")
    with pytest.raises(InvitationInvalid):
        invitation_read(token, today=c.late_filing_until + datetime.timedelta(days=1))


def test_estimate_uses_the_rules_engine_with_the_year_parameters() -> None:
    # 2025: manufacturer MDR IIa = 4 entities × 415.74 = 1662.96; 100,000.00 × 0.3073 % = 307.30 → 1970.26.
    operator = with_activity(belgian(), role="manufacturer", category="MDR IIa")
    estimate = declaration_estimate(campaign=campaign(), operator=operator, figures=FIGURES)
    assert estimate is not None
    assert (
        estimate.result.entities,
        estimate.result.activity_tax,
        estimate.result.turnover_levy,
        estimate.result.total,
    ) == (4, Decimal("1662.96"), Decimal("307.30"), Decimal("1970.26"))
    assert {line.rule for line in estimate.lines} >= {"D1", "D3", "D4", "D5"}


def test_no_estimate_for_a_year_without_published_parameters() -> None:
    operator = with_activity(belgian(), registered_on=datetime.date(2020, 1, 1))
    assert declaration_estimate(campaign=campaign(2031), operator=operator, figures=FIGURES) is None


def test_a_correction_is_a_new_version_and_earlier_ones_are_kept() -> None:
    operator = with_activity(belgian())
    c = campaign()
    first = declare(c, operator, now=datetime.datetime(2025, 5, 2, 9, tzinfo=datetime.UTC))
    second = declare(
        c,
        operator,
        Figures(Decimal("120000.00"), Decimal("90000.00"), False, False),
        now=datetime.datetime(2025, 7, 15, 9, tzinfo=datetime.UTC),
    )
    assert (first.number, second.number) == (1, 2)
    assert (first.late, second.late) == (False, True)
    assert DeclarationVersion.objects.filter(declaration__operator=operator).count() == 2
    first.refresh_from_db()
    assert first.total_turnover == Decimal("100000.00")
    assert first.certificate.read().startswith(b"%PDF-")


@pytest.mark.parametrize(
    ("figures", "field"),
    [
        (Figures(Decimal("50000.00"), Decimal("60000.00"), False, False), "levied_turnover"),
        (Figures(Decimal("50290.17"), Decimal("100.00"), True, False), "below_threshold"),  # D4: equal is not below
        (Figures(Decimal("0.00"), Decimal("0.00"), False, True), "not_liable"),  # Belgian: liable anyway (FAQ 15)
    ],
)
def test_inconsistent_declarations_are_refused_and_nothing_is_written(figures: Figures, field: str) -> None:
    operator = with_activity(belgian())
    with pytest.raises(ValidationError) as raised:
        declare(campaign(), operator, figures)
    assert field in raised.value.message_dict
    assert not DeclarationVersion.objects.exists()


def test_below_threshold_box_is_accepted_below_the_threshold() -> None:
    version = declare(
        campaign(), with_activity(belgian()), Figures(Decimal("50290.16"), Decimal("100.00"), True, False)
    )
    assert version.below_threshold


@pytest.mark.parametrize(
    "upload",
    [
        SimpleUploadedFile("certificate.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf"),
        SimpleUploadedFile("big.pdf", b"%PDF-" + b"0" * (5 * 1024 * 1024), content_type="application/pdf"),
    ],
)
def test_certificate_must_be_a_small_pdf(upload: SimpleUploadedFile) -> None:
    with pytest.raises(ValidationError):
        declare(campaign(), with_activity(belgian()), certificate=upload)
    assert not DeclarationVersion.objects.exists()


def test_a_closed_campaign_refuses_declarations() -> None:
    c = campaign()
    c.late_filing_until = datetime.date(2025, 9, 30)
    c.save()
    with pytest.raises(ValidationError):
        declare(c, with_activity(belgian()), now=datetime.datetime(2025, 10, 1, 9, tzinfo=datetime.UTC))


def test_the_estimate_follows_the_agency_settings_once_set() -> None:
    from famhp.billing.services import year_settings_from_builtin

    operator = with_activity(belgian(), role="manufacturer", category="MDR IIa")
    settings = year_settings_from_builtin(2025)
    settings.cost_per_entity = Decimal("400.00")  # the agency fixed another figure than the secondary source's
    settings.save()
    estimate = declaration_estimate(campaign=campaign(), operator=operator, figures=FIGURES)
    assert estimate is not None
    assert estimate.result.activity_tax == Decimal("1600.00")  # 4 entities × 400.00
