"""Reads of the campaign."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet

from famhp.accounts.compiled import compiled_list
from famhp.declarations.models import Campaign, Declaration, DeclarationVersion, Invitation
from famhp.registry.models import Operator
from famhp.registry.selectors import operators_must_declare


def operators_not_declared(campaign: Campaign) -> QuerySet[Operator]:
    """Who must declare for the campaign and has not (the agency's chase list)."""
    declared = Declaration.objects.filter(campaign=campaign, operator=OuterRef("pk"))
    return operators_must_declare(campaign.year).filter(~Exists(declared))


def operators_to_invite(campaign: Campaign) -> QuerySet[Operator]:
    """Who must declare for the campaign (RULES §3) and has no invitation to it yet."""
    return operators_must_declare(campaign.year).exclude(invitations__campaign=campaign)


def invitations_to_remind(campaign: Campaign) -> QuerySet[Invitation]:
    """The campaign's invitations whose operator has not declared yet."""
    return Invitation.objects.filter(campaign=campaign).exclude(operator__declarations__campaign=campaign)


def latest_version(*, campaign: Campaign, operator: Operator) -> DeclarationVersion | None:
    # read at every request of the figures page: the query compiled once (issue 15)
    found = compiled_list(
        "declarations.latest_version",
        lambda campaign_id, operator_id: DeclarationVersion.objects.filter(
            declaration__campaign_id=campaign_id, declaration__operator_id=operator_id
        ).order_by("-number")[:1],
        [campaign.pk, operator.pk],
    )
    return found[0] if found else None


def versions_of(*, campaign: Campaign, operator: Operator) -> QuerySet[DeclarationVersion]:
    return DeclarationVersion.objects.filter(declaration__campaign=campaign, declaration__operator=operator).order_by(
        "-number"
    )
