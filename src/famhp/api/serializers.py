"""What the API reads and writes. Amounts are decimal strings ("1234.56"), never floats."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from famhp.declarations.models import CertifierCapacity
from famhp.rules import Line
from famhp.text import validate_one_line

if TYPE_CHECKING:
    Serializer = serializers.Serializer[Any]
else:
    Serializer = serializers.Serializer


#: An amount as the money columns hold it (euro, two decimals).
AMOUNT: dict[str, Any] = {"max_digits": 14, "decimal_places": 2}
#: An amount a caller sends: never below zero.
MONEY: dict[str, Any] = {**AMOUNT, "min_value": Decimal(0)}


def line_json(line: Line) -> dict[str, Any]:
    """An explanation line: the rule it applies, its template and arguments, and its text in the caller's
    language (amounts as famhp.rules writes them)."""
    return {
        "rule": line.rule,
        "template": line.template,
        "args": line.args,
        "text": gettext(line.template).format_map(line.args),
    }


class LineSerializer(Serializer):
    rule = serializers.CharField()
    template = serializers.CharField()
    args = serializers.DictField(child=serializers.CharField())
    text = serializers.CharField()


class CompanySerializer(Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    identifier = serializers.CharField(help_text="Enterprise number, or the foreign identifier.")
    role = serializers.CharField(help_text="Your role: manager (main access manager) or enterprise_user.")


class CompanyCampaignSerializer(Serializer):
    company = serializers.IntegerField()
    must_declare = serializers.BooleanField()
    versions = serializers.IntegerField(help_text="Declaration versions submitted (0: not declared yet).")


class CampaignSerializer(Serializer):
    year = serializers.IntegerField()
    deadline = serializers.DateField()
    late_filing_until = serializers.DateField()
    open = serializers.BooleanField()
    companies = CompanyCampaignSerializer(many=True)


class FiguresSerializer(Serializer):
    total_turnover = serializers.DecimalField(**MONEY, help_text="Figure 1, euro.")
    levied_turnover = serializers.DecimalField(**MONEY, help_text="Figure 2 (the invoiced one), euro.")
    below_threshold = serializers.BooleanField(default=False)
    not_liable = serializers.BooleanField(default=False)


class CertifiedSerializer(FiguresSerializer):
    """The certifier and certificate are required, unless the company declares itself not liable (FAQ 7)."""

    certifier_name = serializers.CharField(max_length=200, validators=[validate_one_line], required=False, default="")
    certifier_capacity = serializers.ChoiceField(
        choices=CertifierCapacity.choices, required=False, allow_blank=True, default=""
    )
    certifier_membership_number = serializers.CharField(
        max_length=64, required=False, default="", allow_blank=True, validators=[validate_one_line]
    )
    CERTIFIED = ("certifier_name", "certifier_capacity", "certificate")

    def to_internal_value(self, data: Any) -> Any:
        # checked beside the fields' own errors, so that every problem is named at once
        not_liable = data.get("not_liable") in serializers.BooleanField.TRUE_VALUES
        missing = {
            name: [self.fields[name].error_messages["required"]]
            for name in self.CERTIFIED
            if not not_liable and data.get(name) in (None, "")
        }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as error:
            detail: dict[str, Any] = error.detail if isinstance(error.detail, dict) else {}
            raise serializers.ValidationError({**missing, **detail}) from None
        if missing:
            raise serializers.ValidationError(missing)
        return value


class SubmitSerializer(CertifiedSerializer):
    certificate = serializers.FileField(
        required=False, help_text=str(_("The signed certificate, a PDF of at most 5 MB (not when not liable)."))
    )


class EstimateSerializer(Serializer):
    available = serializers.BooleanField(help_text="False while the year's cost per entity or rate is not known.")
    liable = serializers.BooleanField(required=False)
    exempt = serializers.BooleanField(required=False)
    entities = serializers.IntegerField(required=False)
    activity_tax = serializers.DecimalField(**AMOUNT, required=False)
    turnover_levy = serializers.DecimalField(**AMOUNT, required=False)
    total = serializers.DecimalField(**AMOUNT, required=False)
    parameters_unconfirmed = serializers.ListField(child=serializers.CharField())
    explanation = LineSerializer(many=True)


class VersionSerializer(Serializer):
    number = serializers.IntegerField()
    total_turnover = serializers.DecimalField(**AMOUNT)
    levied_turnover = serializers.DecimalField(**AMOUNT)
    below_threshold = serializers.BooleanField()
    not_liable = serializers.BooleanField()
    certifier_name = serializers.CharField(allow_blank=True)
    certifier_capacity = serializers.CharField(allow_blank=True)
    certifier_membership_number = serializers.CharField(allow_blank=True)
    submitted_at = serializers.DateTimeField()
    submitted_by = serializers.CharField()
    late = serializers.BooleanField()


class DeclarationSerializer(Serializer):
    year = serializers.IntegerField()
    company = serializers.IntegerField()
    open = serializers.BooleanField()
    may_submit = serializers.BooleanField()
    versions = VersionSerializer(many=True)


class InvoiceLineSerializer(Serializer):
    description = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    amount = serializers.DecimalField(**AMOUNT)
    rule = serializers.CharField(allow_blank=True)


class InvoiceSerializer(Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    kind = serializers.CharField()
    year = serializers.IntegerField()
    company = serializers.IntegerField()
    issued_on = serializers.DateField()
    due_on = serializers.DateField()
    total = serializers.DecimalField(**AMOUNT)
    structured_communication = serializers.CharField()
    credits = serializers.CharField(allow_null=True, help_text="A credit note: the number of the invoice it credits.")
    status = serializers.CharField()
    lines = InvoiceLineSerializer(many=True)


class StatementRowSerializer(Serializer):
    date = serializers.DateField()
    kind = serializers.CharField()
    reference = serializers.CharField(allow_blank=True)
    debit = serializers.DecimalField(**AMOUNT)
    credit = serializers.DecimalField(**AMOUNT)
    balance = serializers.DecimalField(**AMOUNT)
    status = serializers.CharField(allow_blank=True)


class InterestLineSerializer(Serializer):
    invoice = serializers.CharField()
    base = serializers.DecimalField(**AMOUNT)
    until = serializers.DateField()
    periods = serializers.IntegerField()
    amount = serializers.DecimalField(**AMOUNT)
    explanation = serializers.CharField()


class StatementSerializer(Serializer):
    company = serializers.IntegerField()
    today = serializers.DateField()
    balance = serializers.DecimalField(**AMOUNT, help_text="Positive: owed to the FAMHP.")
    outstanding = serializers.DecimalField(**AMOUNT)
    interest = serializers.DecimalField(**AMOUNT)
    interest_blocked = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Years whose interest parameters the agency has not confirmed yet, with their names.",
    )
    rows = StatementRowSerializer(many=True)
    interest_lines = InterestLineSerializer(many=True)


class OperatorSerializer(Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    identifier = serializers.CharField()
    country = serializers.CharField()
    established_in_belgium = serializers.BooleanField()
    active_in_belgium = serializers.BooleanField()


class AssessmentSerializer(Serializer):
    company = serializers.IntegerField()
    liable = serializers.BooleanField()
    exempt = serializers.BooleanField()
    entities = serializers.IntegerField()
    default_assessment = serializers.BooleanField()
    levy_pending = serializers.BooleanField()
    activity_tax = serializers.DecimalField(**AMOUNT)
    turnover_levy = serializers.DecimalField(**AMOUNT)
    fine = serializers.DecimalField(**AMOUNT)
    total = serializers.DecimalField(**AMOUNT)


class AssessmentRunSerializer(Serializer):
    year = serializers.IntegerField()
    run = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField(allow_null=True)
    results = AssessmentSerializer(many=True)


class PaymentSerializer(Serializer):
    id = serializers.IntegerField()
    booked_on = serializers.DateField()
    amount = serializers.DecimalField(**AMOUNT)
    payer_name = serializers.CharField(allow_blank=True)
    invoice = serializers.CharField(allow_null=True)
    company = serializers.IntegerField(allow_null=True)


class BulkSerializer(Serializer):
    declarations = serializers.FileField(
        help_text="CSV (header row) or JSON (a list of objects) with the columns of docs/api.md; each row's "
        "`certificate` names the multipart field (or the file name) of its PDF."
    )


class BulkResultSerializer(Serializer):
    submitted = serializers.IntegerField()
    versions = serializers.ListField(child=serializers.DictField())
