"""The portal's pages of the API: a person makes and revokes personal access tokens, and uploads bulk
declarations (the same check and submission as the API's)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from famhp.accounts.models import Person
from famhp.accounts.selectors import operators_for, strongly_authenticated
from famhp.api.bulk import COLUMNS, BulkInvalid, bulk_check, bulk_submit
from famhp.api.forms import BulkForm, TokenForm
from famhp.api.models import ApiToken
from famhp.api.selectors import tokens_of
from famhp.api.services import token_create, token_revoke
from famhp.portal import access
from famhp.portal.pages import denied

NEW_TOKEN = "famhp_api_new_token"


def _person(request: HttpRequest) -> Person | HttpResponse:
    if not request.user.is_authenticated:
        return redirect(f"{reverse('accounts:login')}?next={request.path}")
    if not strongly_authenticated(request):
        return denied(request, _("Log in with eID or itsme, or with your authenticator app, to use the API."))
    return request.user


@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    person = _person(request)
    if isinstance(person, HttpResponse):
        return person
    form = TokenForm(request.POST or None, companies=operators_for(person), staff=person.is_staff)
    if request.method == "POST" and form.is_valid():
        try:
            _token, text = token_create(
                person=person,
                name=form.cleaned_data["name"],
                companies=form.cleaned_data["companies"],
                read_write=form.cleaned_data["read_write"],
                agency=form.cleaned_data.get("agency", False),
                expires_on=form.cleaned_data["expires_on"],
            )
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                form.add_error(field if field in form.fields else None, messages)
        else:
            # shown once, after a redirect (a reload never makes a second token): kept in the server-side
            # session only until that page is rendered
            request.session[NEW_TOKEN] = text
            return redirect("api:tokens")
    shown: str | None = request.session.pop(NEW_TOKEN, None) if request.method == "GET" else None
    response = render(
        request,
        "api/tokens.html",
        {"form": form, "tokens": tokens_of(person), "shown": shown},
    )
    response["Cache-Control"] = "private, no-store"  # the token is shown once: never kept by a cache
    return response


@require_POST
def token_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    person = _person(request)
    if isinstance(person, HttpResponse):
        return person
    token = ApiToken.objects.filter(pk=pk).first()
    if token is None or token.person_id != person.pk:
        return denied(request, _("This is not your token."))
    try:
        token_revoke(token=token, person=person)
    except PermissionDenied as error:
        return denied(request, str(error))
    return redirect("api:tokens")


@require_http_methods(["GET", "POST"])
def bulk(request: HttpRequest) -> HttpResponse:
    person = _person(request)
    if isinstance(person, HttpResponse):
        return person
    form = BulkForm(request.POST or None, request.FILES or None)
    problems, versions = [], []
    if request.method == "POST" and form.is_valid():
        files = [("certificates", f) for f in request.FILES.getlist("certificates")]
        try:
            rows = bulk_check(
                upload=form.cleaned_data["declarations"],
                files=files,
                may_act_for=lambda campaign, operator: access.may_act_for(
                    request, campaign=campaign, operator=operator
                ),
            )
            versions = bulk_submit(rows=rows, submitted_by=access.submitter(request))
        except BulkInvalid as invalid:
            problems = invalid.errors
    return render(
        request,
        "api/bulk.html",
        {"form": form, "problems": problems, "versions": versions, "columns": COLUMNS},
    )
