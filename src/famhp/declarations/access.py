"""Who may see and change an operator's declaration in the portal.

For now, the personal link of the invitation grants access to its one operator for the browser session
(FAQ 22); agency staff see everything. Logging in (issue 4) adds users acting for the companies that granted
them access: every portal view asks this module, and only this module.
"""

from __future__ import annotations

from django.http import HttpRequest

from famhp.declarations.models import Campaign
from famhp.registry.models import Operator

SESSION_KEY = "famhp_declaration_access"


def grant_invitation_access(request: HttpRequest, *, campaign: Campaign, operator: Operator) -> None:
    granted: list[list[int]] = request.session.get(SESSION_KEY, [])
    if [campaign.pk, operator.pk] not in granted:
        granted = [*granted, [campaign.pk, operator.pk]]
    request.session.cycle_key()  # a new session id whenever access widens
    request.session[SESSION_KEY] = granted


def may_act_for(request: HttpRequest, *, campaign: Campaign, operator: Operator) -> bool:
    """May this request declare for ``operator`` in ``campaign``?"""
    return [campaign.pk, operator.pk] in request.session.get(SESSION_KEY, [])


def may_view(request: HttpRequest, *, campaign: Campaign, operator: Operator) -> bool:
    """May this request see the operator's declarations, certificates and estimates for the campaign?"""
    user = request.user
    if user.is_authenticated and user.is_staff:
        return True
    return may_act_for(request, campaign=campaign, operator=operator)
