"""The companies' declaration portal: invitation link → figures → estimate and certification → versions."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from famhp.billing.selectors import operator_invoiced
from famhp.declarations.models import Campaign, DeclarationVersion
from famhp.declarations.selectors import latest_version, versions_of
from famhp.declarations.services import (
    Figures,
    InvitationInvalid,
    declaration_acknowledge,
    declaration_estimate,
    declaration_open,
    declaration_submit,
    figures_check,
    invitation_read,
)
from famhp.portal import access
from famhp.portal.declaration_forms import CertificationForm, FiguresForm
from famhp.portal.pages import denied, found
from famhp.registry.models import Operator


@require_http_methods(["GET"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    try:
        campaign, operator = invitation_read(token)
    except InvitationInvalid as error:
        return denied(request, str(error))
    access.grant_invitation_access(request, campaign=campaign, operator=operator)
    return redirect("declarations:figures", year=campaign.year, operator_id=operator.pk)


def _subject(request: HttpRequest, year: int, operator_id: int) -> tuple[Campaign, Operator] | HttpResponse:
    campaign = found(Campaign, year=year)
    operator = found(Operator, pk=operator_id)
    # The same refusal whether the objects exist or not: nothing to learn about other companies.
    if campaign is None or operator is None or not access.may_view(request, campaign=campaign, operator=operator):
        return denied(request, _("You have no access to this declaration."))
    return campaign, operator


def _figures_key(campaign: Campaign, operator: Operator) -> str:
    return f"famhp_figures_{campaign.pk}_{operator.pk}"


@require_http_methods(["GET", "POST"])
def figures(request: HttpRequest, year: int, operator_id: int) -> HttpResponse:
    found = _subject(request, year, operator_id)
    if isinstance(found, HttpResponse):
        return found
    campaign, operator = found
    is_open = declaration_open(campaign=campaign)
    previous = latest_version(campaign=campaign, operator=operator)
    if request.method == "POST" and is_open and access.may_act_for(request, campaign=campaign, operator=operator):
        form = FiguresForm(request.POST)
        if form.is_valid():
            values = Figures(**form.cleaned_data)
            for field, message in figures_check(campaign=campaign, operator=operator, figures=values).items():
                form.add_error(field, message)
            if form.is_valid():
                request.session[_figures_key(campaign, operator)] = {
                    "total_turnover": str(values.total_turnover),
                    "levied_turnover": str(values.levied_turnover),
                    "below_threshold": values.below_threshold,
                    "not_liable": values.not_liable,
                }
                return redirect("declarations:confirm", year=year, operator_id=operator.pk)
    else:
        stored = request.session.get(_figures_key(campaign, operator))
        initial = stored or (
            {
                "total_turnover": previous.total_turnover,
                "levied_turnover": previous.levied_turnover,
                "below_threshold": previous.below_threshold,
                "not_liable": previous.not_liable,
            }
            if previous
            else {}
        )
        form = FiguresForm(initial=initial)
    return render(
        request,
        "declarations/figures.html",
        {
            "campaign": campaign,
            "operator": operator,
            "form": form,
            "previous": previous,
            "is_open": is_open,
            "past_deadline": timezone.localdate() > campaign.deadline,
            "error_summary": True,  # the summary at the top is the alert; field messages are not announced twice
            "may_act": access.may_act_for(request, campaign=campaign, operator=operator),
        },
    )


@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, year: int, operator_id: int) -> HttpResponse:
    found = _subject(request, year, operator_id)
    if isinstance(found, HttpResponse):
        return found
    campaign, operator = found
    if not access.may_act_for(request, campaign=campaign, operator=operator):
        return denied(request, _("You have no access to this declaration."))
    stored = request.session.get(_figures_key(campaign, operator))
    if not stored:
        return redirect("declarations:figures", year=year, operator_id=operator.pk)
    values = Figures(
        total_turnover=Decimal(stored["total_turnover"]),
        levied_turnover=Decimal(stored["levied_turnover"]),
        below_threshold=bool(stored["below_threshold"]),
        not_liable=bool(stored["not_liable"]),
    )
    estimate = declaration_estimate(campaign=campaign, operator=operator, figures=values)
    lost_upload = ""
    if request.method == "POST":
        form = CertificationForm(request.POST, request.FILES, not_liable=values.not_liable)
        if form.is_valid():
            try:
                version = declaration_submit(
                    campaign=campaign,
                    operator=operator,
                    figures=values,
                    certifier_name=form.cleaned_data.get("certifier_name", ""),
                    certifier_capacity=form.cleaned_data.get("certifier_capacity", ""),
                    certifier_membership_number=form.cleaned_data.get("certifier_membership_number", ""),
                    certificate=form.cleaned_data.get("certificate"),
                    submitted_by=access.submitter(request),
                )
            except ValidationError as error:
                if hasattr(error, "error_dict"):
                    for messages in error.message_dict.values():
                        form.add_error(None, " ".join(messages))
                else:
                    form.add_error("certificate" if "certificate" in form.fields else None, error)
            else:
                del request.session[_figures_key(campaign, operator)]
                declaration_acknowledge(version=version)  # a failure is logged; the declaration is recorded
                return redirect(
                    reverse("declarations:versions", kwargs={"year": year, "operator_id": operator.pk})
                    + f"?submitted={version.number}"
                )
        upload = request.FILES.get("certificate")
        if upload is not None and "certificate" not in form.errors:
            # a browser never fills a file box again: the page says so and names the file to choose again
            lost_upload = upload.name or ""
    else:
        previous = latest_version(campaign=campaign, operator=operator)
        form = CertificationForm(
            not_liable=values.not_liable,
            initial={
                "certifier_name": previous.certifier_name,
                "certifier_capacity": previous.certifier_capacity,
                "certifier_membership_number": previous.certifier_membership_number,
            }
            if previous
            else {},
        )
    return render(
        request,
        "declarations/confirm.html",
        {
            "campaign": campaign,
            "operator": operator,
            "figures": values,
            "estimate": estimate,
            "form": form,
            "lost_upload": lost_upload,
            "error_summary": True,
            # D8: a correction of an invoiced declaration is followed by a credit note and a new invoice
            "corrects_invoiced": operator_invoiced(campaign.year, operator.pk),
        },
    )


@require_http_methods(["GET"])
def versions(request: HttpRequest, year: int, operator_id: int) -> HttpResponse:
    found = _subject(request, year, operator_id)
    if isinstance(found, HttpResponse):
        return found
    campaign, operator = found
    all_versions = list(versions_of(campaign=campaign, operator=operator))
    submitted = next((v for v in all_versions if str(v.number) == request.GET.get("submitted", "")), None)
    receipt_estimate = (
        declaration_estimate(
            campaign=campaign,
            operator=operator,
            figures=Figures(
                submitted.total_turnover, submitted.levied_turnover, submitted.below_threshold, submitted.not_liable
            ),
        )
        if submitted is not None
        else None
    )
    return render(
        request,
        "declarations/versions.html",
        {
            "campaign": campaign,
            "operator": operator,
            "versions": all_versions,
            "submitted": submitted,
            "estimate": receipt_estimate,
            "any_late": any(v.late for v in all_versions),
            "may_act": access.may_act_for(request, campaign=campaign, operator=operator),
            "is_open": declaration_open(campaign=campaign),
        },
    )


@require_http_methods(["GET"])
def certificate(request: HttpRequest, pk: int) -> HttpResponse | FileResponse:
    version = (
        DeclarationVersion.objects.select_related("declaration__campaign", "declaration__operator")
        .filter(pk=pk)
        .first()
    )
    if version is None or not access.may_view(
        request, campaign=version.declaration.campaign, operator=version.declaration.operator
    ):
        return denied(request, _("You have no access to this certificate."))
    if not version.certificate:
        return denied(request, _("This version has no certificate: the company declared itself not liable (FAQ 7)."))
    response = FileResponse(
        version.certificate.open("rb"),
        content_type="application/pdf",
        as_attachment=True,
        filename=f"certificate-{version.declaration.campaign.year}-{version.declaration.operator.identifier}-v{version.number}.pdf",
    )
    response["Cache-Control"] = "private, no-store"
    return response
