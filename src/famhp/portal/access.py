"""Who may see and change an operator's declaration in the portal: every portal view asks this module.

- The personal link of the campaign's invitation grants its one operator and campaign for the browser
  session (FAQ 22), whoever holds it, logged in or not.
- A person logged in strongly (federal authentication, or password and authenticator code) acts for the
  companies whose main access manager granted them the contributions access (FAQ 23).
- Agency staff with the right to view declarations see every company, and declare for none.
"""

from __future__ import annotations

from django.http import HttpRequest

from famhp.accounts.selectors import has_access, strongly_authenticated
from famhp.declarations.models import Campaign
from famhp.registry.models import Operator

SESSION_KEY = "famhp_declaration_access"


def grant_invitation_access(request: HttpRequest, *, campaign: Campaign, operator: Operator) -> None:
    granted: list[list[int]] = request.session.get(SESSION_KEY, [])
    if [campaign.pk, operator.pk] not in granted:
        granted = [*granted, [campaign.pk, operator.pk]]
    request.session.cycle_key()  # a new session id whenever access widens
    request.session[SESSION_KEY] = granted


#: The answers of :func:`has_access` for this request, by person and operator: a page that asks several times (the figures
#: page asks whether it may view, then whether it may act) reads the access once. No request changes an access and
#: then asks again (revoking is a service the portal's user pages call without asking this module).
_ANSWERS = "_famhp_company_access"


def _company_user(request: HttpRequest, operator: Operator) -> bool:
    if not strongly_authenticated(request):
        return False
    answers: dict[tuple[int | None, int], bool] = request.__dict__.setdefault(_ANSWERS, {})
    key = (request.user.pk, operator.pk)
    if key not in answers:
        answers[key] = has_access(request.user, operator)  # type: ignore[arg-type]
    return answers[key]


def _agency(request: HttpRequest, permission: str) -> bool:
    user = request.user
    return user.is_authenticated and user.is_staff and user.has_perm(permission)


def may_act_for(request: HttpRequest, *, campaign: Campaign, operator: Operator) -> bool:
    """May this request declare for ``operator`` in ``campaign``?"""
    return [campaign.pk, operator.pk] in request.session.get(SESSION_KEY, []) or _company_user(request, operator)


def may_view(request: HttpRequest, *, campaign: Campaign, operator: Operator) -> bool:
    """May this request see the operator's declarations, certificates and estimates for the campaign?"""
    return _agency(request, "declarations.view_declaration") or may_act_for(
        request, campaign=campaign, operator=operator
    )


def may_see_accounts(request: HttpRequest, operator: Operator) -> bool:
    """May this request see the operator's invoices and account statement? Its users, and agency staff who may
    view invoices; the invitation link does not reach them."""
    return _agency(request, "billing.view_invoice") or _company_user(request, operator)


def submitter(request: HttpRequest) -> str:
    """Who submits, as recorded on the declaration version: the person when logged in strongly, else the fact
    that the invitation link was used (a fixed, untranslated marker)."""
    user = request.user
    if strongly_authenticated(request):
        return f"{user.get_full_name() or user.get_username()} <{user.email}> (#{user.pk})"  # type: ignore[union-attr]
    return "invitation link"
