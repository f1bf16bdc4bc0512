"""Reads for "My companies" (issue 13): each company's declaration status, balance and next deadline at a glance."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from famhp.declarations.models import Campaign, DeclarationVersion
from famhp.declarations.selectors import latest_version
from famhp.payments.selectors import account_balance, invoice_rows
from famhp.registry.models import Operator


@dataclass(frozen=True)
class CampaignState:
    campaign: Campaign
    latest: DeclarationVersion | None


@dataclass(frozen=True)
class Deadline:
    date: datetime.date
    what: str
    overdue: bool


@dataclass(frozen=True)
class CompanyOverview:
    operator: Operator
    campaigns: list[CampaignState]
    balance: Decimal
    open_invoices: int
    next_deadline: Deadline | None


def company_overview(*, operator: Operator, campaigns: list[Campaign], today: datetime.date) -> CompanyOverview:
    """The open campaigns with the company's latest version in each, its account balance (D12: positive is owed
    to the FAMHP) and the first date it must act by: a declaration not yet made, or an invoice still open."""
    states = [CampaignState(c, latest_version(campaign=c, operator=operator)) for c in campaigns]
    deadlines = []
    for state in states:
        if state.latest is None:
            on_time = today <= state.campaign.deadline
            deadlines.append(
                Deadline(
                    state.campaign.deadline if on_time else state.campaign.late_filing_until,
                    _("declaration %(year)s") % {"year": state.campaign.year},
                    not on_time,
                )
            )
    open_rows = [row for row in invoice_rows(operator) if row.open > 0]
    for row in open_rows:
        deadlines.append(
            Deadline(
                row.invoice.due_on,
                _("payment of %(number)s") % {"number": row.invoice.number},
                row.invoice.due_on < today,
            )
        )
    first = min(deadlines, key=lambda d: (not d.overdue, d.date), default=None)
    return CompanyOverview(operator, states, account_balance(operator), len(open_rows), first)
