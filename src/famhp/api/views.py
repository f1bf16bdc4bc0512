"""The API's company endpoints: thin views over the domain's selectors and services, asking famhp.api.access."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from famhp.accounts.compiled import compiled_list
from famhp.accounts.selectors import roles_of
from famhp.api import access, serializers
from famhp.api import schema as _schema  # noqa: F401 - registers the bearer scheme with drf-spectacular
from famhp.api.authentication import token_of
from famhp.api.bulk import BulkInvalid, bulk_check, bulk_submit
from famhp.api.parsers import JSONParser
from famhp.api.problems import FieldError, Invalid, django_errors
from famhp.billing.documents import invoice_pdf
from famhp.billing.models import LINE_LABELS, Invoice
from famhp.billing.ubl import invoice_ubl
from famhp.declarations.models import Campaign, Declaration, DeclarationVersion
from famhp.declarations.selectors import versions_of
from famhp.declarations.services import (
    Figures,
    certificate_check,
    declaration_estimate,
    declaration_open,
    declaration_submit,
    figures_check,
)
from famhp.payments.selectors import account_statement, invoice_status, status_of, with_carried, with_paid
from famhp.portal import access as portal_access
from famhp.portal.pages import found
from famhp.registry.models import Operator
from famhp.registry.selectors import operators_must_declare


def _denied() -> exceptions.APIException:
    # one answer whether the object exists or not: nothing to learn about other companies
    return exceptions.NotFound(_("No such object among those you may reach."))


def accounts_of(request: Request, company: int) -> Operator:
    """A company whose invoices and account the caller may see (the portal's rule), else 404."""
    operator = found(Operator, pk=company)
    if operator is None or not access.may_see_accounts(request, operator):
        raise _denied()
    return operator


def campaign_for(request: Request, company: int, year: int) -> tuple[Campaign, Operator]:
    campaign = found(Campaign, year=year)
    operator = found(Operator, pk=company)
    if campaign is None or operator is None or not access.may_view(request, campaign=campaign, operator=operator):
        raise _denied()
    return campaign, operator


class Companies(APIView):
    @extend_schema(responses=serializers.CompanySerializer(many=True), summary="My companies and my role there")
    def get(self, request: Request) -> Response:
        roles = roles_of(request.user)  # type: ignore[arg-type]
        rows = [
            {"id": o.pk, "name": o.name, "identifier": o.identifier, "role": roles.get(o.pk, "")}
            for o in access.companies(request)
        ]
        return Response(serializers.CompanySerializer(rows, many=True).data)


class Campaigns(APIView):
    @extend_schema(
        responses=serializers.CampaignSerializer(many=True),
        summary="Campaigns, and what each of my companies must still declare",
    )
    def get(self, request: Request) -> Response:
        mine = list(access.companies(request))
        rows = []
        for campaign in Campaign.objects.order_by("-year")[:5]:
            must = set(
                operators_must_declare(campaign.year).filter(pk__in=[o.pk for o in mine]).values_list("pk", flat=True)
            )
            counts = dict(
                Declaration.objects.filter(campaign=campaign, operator__in=mine)
                .values_list("operator_id")
                .annotate(n=Count("versions"))
            )
            rows.append(
                {
                    "year": campaign.year,
                    "deadline": campaign.deadline,
                    "late_filing_until": campaign.late_filing_until,
                    "open": declaration_open(campaign=campaign),
                    "companies": [
                        {"company": o.pk, "must_declare": o.pk in must, "versions": counts.get(o.pk, 0)} for o in mine
                    ],
                }
            )
        return Response(serializers.CampaignSerializer(rows, many=True).data)


def version_json(version: DeclarationVersion) -> dict[str, Any]:
    return {
        "number": version.number,
        "total_turnover": version.total_turnover,
        "levied_turnover": version.levied_turnover,
        "below_threshold": version.below_threshold,
        "not_liable": version.not_liable,
        "certifier_name": version.certifier_name,
        "certifier_capacity": version.certifier_capacity,
        "certifier_membership_number": version.certifier_membership_number,
        "submitted_at": version.submitted_at,
        "submitted_by": version.submitted_by,
        "late": version.late,
    }


def figures_of(data: dict[str, Any]) -> Figures:
    return Figures(
        total_turnover=data["total_turnover"],
        levied_turnover=data["levied_turnover"],
        below_threshold=bool(data["below_threshold"]),
        not_liable=bool(data["not_liable"]),
    )


def submitter(request: Request) -> str:
    """As the portal records it, and which token carried it."""
    token = token_of(request)
    via = f" via API token {token.prefix}" if token is not None else " via API"
    return (portal_access.submitter(access.portal_request(request)) + via)[:200]


class DeclarationView(APIView):
    parser_classes = (MultiPartParser,)

    @extend_schema(responses=serializers.DeclarationSerializer, summary="A declaration: its versions")
    def get(self, request: Request, company: int, year: int) -> Response:
        campaign, operator = campaign_for(request, company, year)
        data = {
            "year": campaign.year,
            "company": operator.pk,
            "open": declaration_open(campaign=campaign),
            "may_submit": access.may_act_for(request, campaign=campaign, operator=operator),
            "versions": [version_json(v) for v in versions_of(campaign=campaign, operator=operator)],
        }
        return Response(serializers.DeclarationSerializer(data).data)

    @extend_schema(
        request=serializers.SubmitSerializer,
        responses={201: serializers.VersionSerializer},
        summary="Submit a declaration, or its correction (the next version), with its certificate",
    )
    def post(self, request: Request, company: int, year: int) -> Response:
        campaign, operator = campaign_for(request, company, year)
        if not access.may_act_for(request, campaign=campaign, operator=operator):
            raise exceptions.PermissionDenied(_("You may not declare for this company with this access."))
        given = serializers.SubmitSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        certificate = data.get("certificate") if not data["not_liable"] else None
        if certificate is not None:
            try:
                certificate_check(certificate)  # named as the certificate's problem (the service checks it too)
            except ValidationError as error:
                raise Invalid([FieldError("certificate", message) for message in error.messages]) from None
        try:
            version = declaration_submit(
                campaign=campaign,
                operator=operator,
                figures=figures_of(data),
                certifier_name=data["certifier_name"],
                certifier_capacity=data["certifier_capacity"],
                certifier_membership_number=data["certifier_membership_number"],
                certificate=certificate,
                submitted_by=submitter(request),
            )
        except ValidationError as error:
            raise Invalid(django_errors(error)) from None
        return Response(serializers.VersionSerializer(version_json(version)).data, status=status.HTTP_201_CREATED)


class Estimate(APIView):
    parser_classes = (JSONParser,)

    @extend_schema(
        request=serializers.FiguresSerializer,
        responses=serializers.EstimateSerializer,
        summary="Estimate: the contribution these figures give, with its explanation (nothing is recorded)",
    )
    def post(self, request: Request, company: int, year: int) -> Response:
        campaign, operator = campaign_for(request, company, year)
        given = serializers.FiguresSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        figures = figures_of(given.validated_data)
        problems = figures_check(campaign=campaign, operator=operator, figures=figures)
        if problems:
            raise ValidationError(problems)
        estimate = declaration_estimate(campaign=campaign, operator=operator, figures=figures)
        if estimate is None:
            data: dict[str, Any] = {"available": False, "parameters_unconfirmed": [], "explanation": []}
        else:
            result = estimate.result
            data = {
                "available": True,
                "liable": result.liable,
                "exempt": result.exempt,
                "entities": result.entities,
                "activity_tax": result.activity_tax,
                "turnover_levy": result.turnover_levy,
                "total": result.total,
                "parameters_unconfirmed": list(estimate.parameters_unconfirmed),
                "explanation": [serializers.line_json(line) for line in estimate.lines],
            }
        return Response(serializers.EstimateSerializer(data).data)


def statuses(invoices: Sequence[Invoice]) -> dict[int, str]:
    """Each invoice's status (derived from allocations and credit notes), for invoices read ``with_paid``: one
    query for the page, not two per invoice."""
    if all(hasattr(i, "credited") for i in invoices):  # the invoices' query said it (an EXISTS): no second query
        return {i.pk: status_of(i, i.paid, i.credited) for i in with_carried(invoices)}  # type: ignore[attr-defined]
    ids = [i.pk for i in invoices]
    notes = compiled_list(
        "api.credit_notes_of", lambda *ids: Invoice.objects.filter(credits__in=ids).order_by().only("credits_id"), ids
    )
    credited = {note.credits_id for note in notes}
    return {i.pk: status_of(i, i.paid, i.pk in credited) for i in with_carried(invoices)}  # type: ignore[attr-defined]


def invoice_json(invoice: Invoice, status: str) -> dict[str, Any]:
    return {
        "id": invoice.pk,
        "number": invoice.number,
        "kind": invoice.kind,
        "year": invoice.year,
        "company": invoice.operator_id,
        "issued_on": invoice.issued_on,
        "due_on": invoice.due_on,
        "total": invoice.total,
        "structured_communication": invoice.structured_communication,
        "credits": invoice.credits.number if invoice.credits_id else None,  # type: ignore[union-attr]
        "status": status,
        "lines": [
            {
                "description": str(line.get("description", "")),
                "label": str(LINE_LABELS.get(line.get("description", ""), line.get("description", ""))),
                "amount": line.get("amount", "0"),
                "rule": str(line.get("rule", "")),
            }
            for line in invoice.lines
        ],
    }


#: the serializer of the company invoice list's rows, made once: DRF copies a serializer's fields each time one is
#: made (0.25 ms a call); writing a row keeps no state in it (what ``InvoiceSerializer(rows, many=True).data`` writes)
_INVOICE_ROW = serializers.InvoiceSerializer()


class CompanyInvoices(APIView):
    @extend_schema(responses=serializers.InvoiceSerializer(many=True), summary="A company's invoices and credit notes")
    def get(self, request: Request, company: int) -> Response:
        operator = accounts_of(request, company)
        # at every call of a program: the query compiled once (issue 15)
        invoices = compiled_list(
            "api.company_invoices",
            lambda operator_id: (
                with_paid(Invoice.objects.filter(operator_id=operator_id).select_related("credits"))
                .annotate(credited=Exists(Invoice.objects.filter(credits=OuterRef("pk"))))
                .order_by("-issued_on", "-pk")
            ),
            [operator.pk],
        )
        status_of_ = statuses(invoices)
        rows = [invoice_json(i, status_of_[i.pk]) for i in invoices]
        return Response([_INVOICE_ROW.to_representation(row) for row in rows])


def invoice_or_404(request: Request, pk: int) -> Invoice:
    invoice = Invoice.objects.select_related("operator", "credits").filter(pk=pk).first()
    if invoice is None or not access.may_see_accounts(request, invoice.operator):
        raise _denied()
    return invoice


class InvoiceDetail(APIView):
    @extend_schema(responses=serializers.InvoiceSerializer, summary="An invoice or credit note")
    def get(self, request: Request, pk: int) -> Response:
        invoice = invoice_or_404(request, pk)
        return Response(serializers.InvoiceSerializer(invoice_json(invoice, invoice_status(invoice))).data)


class InvoicePdf(APIView):
    @extend_schema(
        responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY)},
        summary="The invoice as PDF",
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        invoice = invoice_or_404(request, pk)
        response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
        response["Cache-Control"] = "private, no-store"
        return response


class InvoiceUbl(APIView):
    @extend_schema(
        responses={(200, "application/xml"): OpenApiResponse(OpenApiTypes.BINARY)},
        summary="The invoice as Peppol BIS Billing 3.0 UBL (companies with a Belgian enterprise number)",
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        invoice = invoice_or_404(request, pk)
        if not invoice.debtor.get("enterprise_number"):
            raise exceptions.NotFound(
                _("A Peppol e-invoice exists only for a company with a Belgian enterprise number.")
            )
        response = HttpResponse(invoice_ubl(invoice), content_type="application/xml")
        response["Content-Disposition"] = f'attachment; filename="{invoice.number}.xml"'
        response["Cache-Control"] = "private, no-store"
        return response


class Statement(APIView):
    @extend_schema(responses=serializers.StatementSerializer, summary="A company's account statement (D10 interest)")
    def get(self, request: Request, company: int) -> Response:
        operator = accounts_of(request, company)
        statement = account_statement(operator, today=timezone.localdate())
        data = {
            "company": operator.pk,
            "today": statement.today,
            "balance": statement.balance,
            "outstanding": statement.outstanding,
            "interest": statement.interest,
            "interest_blocked": {str(year): names for year, names in statement.interest_blocked.items()},
            "rows": [vars(row) for row in statement.rows],
            "interest_lines": [
                {
                    "invoice": line.invoice.number,
                    "base": line.base,
                    "until": line.until,
                    "periods": line.periods,
                    "amount": line.amount,
                    "explanation": line.explanation,
                }
                for line in statement.interest_lines
            ],
        }
        return Response(serializers.StatementSerializer(data).data)


class Bulk(APIView):
    parser_classes = (MultiPartParser,)

    @extend_schema(
        request={"multipart/form-data": serializers.BulkSerializer},
        responses={201: serializers.BulkResultSerializer},
        summary="Declarations for many companies in one upload (CSV or JSON) with their certificates: all or nothing",
    )
    def post(self, request: Request) -> Response:
        upload = request.FILES.get("declarations")
        if upload is None:
            raise Invalid([FieldError("declarations", _("Upload the declarations as a CSV or JSON file."))])
        files = [(name, f) for name, many in request.FILES.lists() if name != "declarations" for f in many]
        try:
            rows = bulk_check(
                upload=upload,
                files=files,
                may_act_for=lambda campaign, operator: access.may_act_for(
                    request, campaign=campaign, operator=operator
                ),
            )
            versions = bulk_submit(rows=rows, submitted_by=submitter(request))
        except BulkInvalid as invalid:
            raise Invalid(invalid.errors, _("Nothing was recorded: the upload has problems, see errors.")) from None
        data = {
            "submitted": len(versions),
            "versions": [
                {"year": v.declaration.campaign.year, "company": v.declaration.operator_id, "number": v.number}
                for v in versions
            ],
        }
        return Response(serializers.BulkResultSerializer(data).data, status=status.HTTP_201_CREATED)
