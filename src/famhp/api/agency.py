"""The agency's read-only endpoints (operators, assessment results, invoices, payments), per the role matrix:
each needs the view permission of what it lists (docs/roles.md: every agency role reads everything), a strong
login, and through a token an agency token."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, permissions, serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from famhp.api import access
from famhp.api.serializers import AssessmentRunSerializer, InvoiceSerializer, OperatorSerializer, PaymentSerializer
from famhp.api.views import invoice_json, statuses
from famhp.billing.models import Invoice, OperatorAssessment
from famhp.billing.services import latest_run
from famhp.payments.models import Allocation
from famhp.payments.selectors import with_paid
from famhp.registry.models import Operator


class Bounded(LimitOffsetPagination):
    default_limit = 100
    max_limit = 500
    #: past any table's end, and within the database's integers (a huge offset is an empty page, not an error)
    max_offset = 10**12

    def get_offset(self, request: Request) -> int:
        return min(int(super().get_offset(request)), self.max_offset)


class AgencyPermission(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return access.agency_may(request, view.agency_permission)


class AgencyList(generics.ListAPIView):  # type: ignore[type-arg]
    permission_classes = (permissions.IsAuthenticated, AgencyPermission)
    pagination_class = Bounded
    agency_permission = ""


class Operators(AgencyList):
    agency_permission = "registry.view_operator"
    serializer_class = OperatorSerializer

    def get_queryset(self) -> QuerySet[Operator]:
        return Operator.objects.order_by("name", "pk")


@extend_schema(parameters=[OpenApiParameter("year", int, required=False, description="Contribution year.")])
class Invoices(AgencyList):
    agency_permission = "billing.view_invoice"
    serializer_class = InvoiceSerializer

    def get_queryset(self) -> QuerySet[Invoice]:
        invoices = with_paid(Invoice.objects.select_related("credits")).order_by("-year", "kind", "sequence")
        year = self.request.query_params.get("year", "")
        return invoices.filter(year=int(year)) if year.isdigit() and len(year) == 4 else invoices

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset()) or []
        status_of_ = statuses(page)
        rows = [invoice_json(invoice, status_of_[invoice.pk]) for invoice in page]
        return self.get_paginated_response(InvoiceSerializer(rows, many=True).data)


class PaymentAsJson(serializers.BaseSerializer):  # type: ignore[type-arg]
    def to_representation(self, instance: Allocation) -> dict[str, Any]:
        return {
            "id": instance.pk,
            "booked_on": instance.bank_line.booked_on.isoformat(),
            "amount": f"{instance.amount:.2f}",
            "payer_name": instance.payer_name,
            "invoice": instance.invoice.number if instance.invoice else None,
            "company": instance.operator_id,
        }


class Payments(AgencyList):
    agency_permission = "payments.view_allocation"

    def get_serializer_class(self) -> Any:
        return PaymentSerializer if getattr(self, "swagger_fake_view", False) else PaymentAsJson

    def get_queryset(self) -> QuerySet[Allocation]:
        return Allocation.objects.select_related("bank_line", "invoice").order_by("-bank_line__booked_on", "-pk")


class Assessments(APIView):
    permission_classes = (permissions.IsAuthenticated, AgencyPermission)
    agency_permission = "billing.view_operatorassessment"

    @extend_schema(responses=AssessmentRunSerializer, summary="The year's latest assessment run, per operator")
    def get(self, request: Request, year: int) -> Response:
        run = latest_run(year)
        results = (
            OperatorAssessment.objects.filter(run=run).order_by("operator__name", "operator_id")
            if run is not None
            else OperatorAssessment.objects.none()
        )
        data = {
            "year": year,
            "run": run.pk if run else None,
            "created_at": run.created_at if run else None,
            "results": [
                {
                    "company": r.operator_id,
                    "liable": r.liable,
                    "exempt": r.exempt,
                    "entities": r.entities,
                    "default_assessment": r.default_assessment,
                    "levy_pending": r.levy_pending,
                    "activity_tax": r.activity_tax,
                    "turnover_levy": r.turnover_levy,
                    "fine": r.fine,
                    "total": r.total,
                }
                for r in results
            ],
        }
        return Response(AssessmentRunSerializer(data).data)
