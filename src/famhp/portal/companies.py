"""Choosing a company ("My companies") and the main access manager's page (FAQ 22–25)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from famhp.accounts.models import Access, AccessRole, Person
from famhp.accounts.selectors import (
    accesses_of,
    operators_for,
    people_with_authenticator,
    roles_of,
    strongly_authenticated,
)
from famhp.accounts.services import (
    access_claim,
    access_from_claim,
    access_grant,
    access_revoke,
    foreign_account_create,
    is_manager,
    send_access_notice,
    send_claim_link,
    send_password_link,
    totp_reset,
)
from famhp.declarations.models import Campaign
from famhp.declarations.overview import company_overview
from famhp.declarations.services import declaration_open
from famhp.portal.account_forms import AccountForm, GrantForm
from famhp.portal.pages import denied
from famhp.registry.models import Operator


def _person(request: HttpRequest) -> Person | HttpResponse:
    if not request.user.is_authenticated:
        return redirect(f"{reverse_lazy('accounts:login')}?next={request.path}")
    if not strongly_authenticated(request):
        return denied(
            request, _("Log in with eID or itsme, or with your authenticator app, to reach your contributions.")
        )
    return request.user


def companies(request: HttpRequest) -> HttpResponse:
    person = _person(request)
    if isinstance(person, HttpResponse):
        return person
    campaigns = [c for c in Campaign.objects.order_by("-year")[:3] if declaration_open(campaign=c)]
    roles = roles_of(person)
    today = timezone.localdate()
    return render(
        request,
        "accounts/companies.html",
        {
            "rows": [
                (o, AccessRole(roles[o.pk]).label, company_overview(operator=o, campaigns=campaigns, today=today))
                for o in operators_for(person)
                if o.pk in roles
            ],
            "campaigns": campaigns,
            "managed": {pk for pk, role in roles.items() if role == AccessRole.MANAGER},
        },
    )


@require_http_methods(["GET", "POST"])
def claim(request: HttpRequest, token: str) -> HttpResponse:
    """The link of a pending grant: the logged-in person receives it (issue 10: one identity, not an e-mail)."""
    person = _person(request)
    if isinstance(person, HttpResponse):
        return person
    access = access_from_claim(token)
    error = ""
    if access is not None and request.method == "POST":
        try:
            access_claim(access=access, person=person)
        except ValidationError as failure:
            error = " ".join(failure.messages)
        else:
            return redirect("accounts:companies")
    status = 404 if access is None else 400 if error else 200
    return render(request, "accounts/claim.html", {"access": access, "error": error}, status=status)


def _managed_operator(request: HttpRequest, operator_id: int) -> tuple[Person, Operator] | HttpResponse:
    person = _person(request)
    if isinstance(person, HttpResponse):
        return person
    operator = Operator.objects.filter(pk=operator_id).first()
    if operator is None or not is_manager(person, operator):
        return denied(request, _("Only the company's main access manager manages its users."))
    return person, operator


def _users_page(
    request: HttpRequest, operator: Operator, grant_form: GrantForm, account_form: AccountForm, status: int = 200
) -> HttpResponse:
    accesses = list(accesses_of(operator))
    return render(
        request,
        "accounts/company_users.html",
        {
            "operator": operator,
            "accesses": accesses,
            "with_authenticator": people_with_authenticator([a.person_id for a in accesses if a.person_id]),
            "grant_form": grant_form,
            "account_form": account_form,
        },
        status=status,
    )


def _confirm(
    request: HttpRequest, operator: Operator, question: str, action: str, fields: dict[str, str]
) -> HttpResponse:
    """Grant, revoke and reset change who reaches a company's money: each is asked once more (issue 13)."""
    return render(
        request,
        "accounts/confirm_action.html",
        {"operator": operator, "question": question, "action": action, "fields": fields},
    )


@require_http_methods(["GET", "POST"])
def company_users(request: HttpRequest, operator_id: int) -> HttpResponse:
    found = _managed_operator(request, operator_id)
    if isinstance(found, HttpResponse):
        return found
    person, operator = found
    grant_form = GrantForm(request.POST if request.POST.get("action") == "grant" else None, prefix="grant")
    account_form = AccountForm(request.POST if request.POST.get("action") == "account" else None, prefix="account")
    if request.method == "POST":
        try:
            if request.POST.get("action") == "grant" and grant_form.is_valid():
                email, role = grant_form.cleaned_data["email"], grant_form.cleaned_data["role"]
                if request.POST.get("confirmed") != "yes":
                    return _confirm(
                        request,
                        operator,
                        _("Give %(email)s the access “%(role)s” to the contributions of %(company)s?")
                        % {"email": email, "role": AccessRole(role).label, "company": operator.name},
                        "",
                        {"action": "grant", "grant-email": email, "grant-role": role},
                    )
                access = access_grant(operator=operator, email=email, role=role, granted_by=person)
                if access.person is None:
                    send_claim_link(access, operator.language)
                    messages.success(
                        request,
                        _("Access granted to %(email)s: we e-mailed them the link to receive it.") % {"email": email},
                    )
                else:
                    send_access_notice(access, "granted", operator.language)
                    messages.success(
                        request, _("Access granted to %(email)s; we told them by e-mail.") % {"email": email}
                    )
                return redirect("accounts:company_users", operator_id=operator.pk)
            if request.POST.get("action") == "account" and account_form.is_valid():
                new, link = foreign_account_create(
                    operator=operator,
                    username=account_form.cleaned_data["username"],
                    email=account_form.cleaned_data["email"],
                    created_by=person,
                )
                # the link is the person's own: e-mailed to them, never shown to the manager
                send_password_link(new, link, operator.language)
                messages.success(
                    request,
                    _("Account %(username)s created: we e-mailed %(email)s the link to set the password.")
                    % {"username": new.username, "email": new.email},
                )
                return redirect("accounts:company_users", operator_id=operator.pk)
        except ValidationError as error:
            target = grant_form if request.POST.get("action") == "grant" else account_form
            for field, field_messages in error.message_dict.items():
                target.add_error(field if field in target.fields else None, field_messages)
        except PermissionDenied as error:
            return denied(request, str(error))
    return _users_page(request, operator, grant_form, account_form)


def _access_of(
    request: HttpRequest, operator_id: int, access_id: int
) -> tuple[Person, Operator, Access] | HttpResponse:
    found = _managed_operator(request, operator_id)
    if isinstance(found, HttpResponse):
        return found
    person, operator = found
    access = Access.objects.filter(pk=access_id, operator=operator).first()
    if access is None:
        return denied(request, _("Only the company's main access manager manages its users."))
    return person, operator, access


@require_POST
def access_revoke_view(request: HttpRequest, operator_id: int, access_id: int) -> HttpResponse:
    found = _access_of(request, operator_id, access_id)
    if isinstance(found, HttpResponse):
        return found
    person, operator, access = found
    if request.POST.get("confirmed") != "yes":
        return _confirm(
            request,
            operator,
            _("Revoke the access of %(email)s to the contributions of %(company)s?")
            % {"email": access.email, "company": operator.name},
            reverse("accounts:access_revoke", args=[operator.pk, access.pk]),
            {},
        )
    try:
        access_revoke(access=access, revoked_by=person)
    except ValidationError as error:
        grant_form, account_form = GrantForm(prefix="grant"), AccountForm(prefix="account")
        for message in error.messages:
            messages.error(request, message)
        return _users_page(request, operator, grant_form, account_form, status=400)
    send_access_notice(access, "revoked", operator.language)
    messages.success(
        request, _("The access of %(email)s is revoked; we told them by e-mail.") % {"email": access.email}
    )
    return redirect("accounts:company_users", operator_id=operator.pk)


@require_POST
def authenticator_reset_view(request: HttpRequest, operator_id: int, access_id: int) -> HttpResponse:
    found = _access_of(request, operator_id, access_id)
    if isinstance(found, HttpResponse):
        return found
    person, operator, access = found
    if access.person is None or access.person.pk not in people_with_authenticator([access.person.pk]):
        messages.error(request, _("This person has no authenticator app to reset."))
        return redirect("accounts:company_users", operator_id=operator.pk)
    if request.POST.get("confirmed") != "yes":
        return _confirm(
            request,
            operator,
            _("Reset the authenticator of %(email)s? They set up their app again at their next login.")
            % {"email": access.email},
            reverse("accounts:authenticator_reset", args=[operator.pk, access.pk]),
            {},
        )
    totp_reset(person=access.person, reset_by=person, operator=operator)
    messages.success(
        request,
        _("The authenticator of %(email)s is reset: they set up their app again at their next login.")
        % {"email": access.email},
    )
    return redirect("accounts:company_users", operator_id=operator.pk)
