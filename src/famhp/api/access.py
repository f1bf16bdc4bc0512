"""Who may do what through the API: the portal's access module decides (famhp.portal.access), and a
token narrows it to its companies, to reading unless it may write, and to its life.

A session (a logged-in browser reading the API and its docs) is the portal request itself. A token stands for
its person logged in strongly, without any browser session: an invitation link opened in a browser never
widens what a token reaches.
"""

from __future__ import annotations

from django.contrib.sessions.backends.base import SessionBase
from django.db.models import QuerySet
from django.http import HttpRequest
from rest_framework.request import Request

from famhp.accounts.compiled import compiled_list
from famhp.accounts.models import Person
from famhp.accounts.selectors import operators_for, strongly_authenticated
from famhp.api.authentication import token_of
from famhp.api.models import ApiToken
from famhp.declarations.models import Campaign
from famhp.portal import access
from famhp.registry.models import Operator


def portal_request(request: Request) -> HttpRequest:
    """The request as the portal's access module sees it."""
    token = token_of(request)
    if token is None:
        return request._request
    stand_in = HttpRequest()
    stand_in.user = request.user
    stand_in.session = SessionBase()  # empty, never saved
    return stand_in


def _in_scope(request: Request, operator: Operator) -> bool:
    token = token_of(request)
    if token is None:
        return True
    ids: set[int] | None = getattr(token, "_company_ids", None)
    if ids is None:
        # the link table alone: no join to the companies, no ordering by name, compiled once (issue 15)
        links = compiled_list(
            "api.token_companies",
            lambda token_id: ApiToken.companies.through.objects.filter(apitoken_id=token_id).only("operator_id"),
            [token.pk],
        )
        ids = {link.operator_id for link in links}
        token._company_ids = ids  # type: ignore[attr-defined]
    return operator.pk in ids


def may_write(request: Request) -> bool:
    token = token_of(request)
    return token is None or token.read_write


def may_act_for(request: Request, *, campaign: Campaign, operator: Operator) -> bool:
    """Declare for ``operator``: the portal's rule, within the token's companies, with a token that may write."""
    return (
        may_write(request)
        and _in_scope(request, operator)
        and access.may_act_for(portal_request(request), campaign=campaign, operator=operator)
    )


def may_view(request: Request, *, campaign: Campaign, operator: Operator) -> bool:
    return _in_scope_or_agency(request, operator) and access.may_view(
        portal_request(request), campaign=campaign, operator=operator
    )


def may_see_accounts(request: Request, operator: Operator) -> bool:
    return _in_scope_or_agency(request, operator) and access.may_see_accounts(portal_request(request), operator)


def _in_scope_or_agency(request: Request, operator: Operator) -> bool:
    token = token_of(request)
    return (token is not None and token.agency) or _in_scope(request, operator)


def companies(request: Request) -> QuerySet[Operator]:
    """The companies the caller acts for: the person's grants, logged in strongly, within the token's scope."""
    person = request.user
    if not isinstance(person, Person) or not strongly_authenticated(portal_request(request)):
        return Operator.objects.none()
    found = operators_for(person)
    token = token_of(request)
    if token is not None:
        found = found.filter(pk__in=token.companies.values("pk"))
    return found


def agency_may(request: Request, permission: str) -> bool:
    """Agency staff reading per the role matrix (docs/roles.md): the view permission of what they read, logged
    in strongly; through a token only an agency token."""
    user = request.user
    token = token_of(request)
    if token is not None and not token.agency:
        return False
    return bool(
        user.is_authenticated
        and user.is_staff
        and user.has_perm(permission)
        and strongly_authenticated(portal_request(request))
    )
