"""The OpenAPI schema (drf-spectacular): every operation documents the problems it may answer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from drf_spectacular.authentication import SessionScheme as SpectacularSessionScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

from famhp.api.problems import PROBLEM_JSON

if TYPE_CHECKING:
    Serializer = serializers.Serializer[Any]
else:
    Serializer = serializers.Serializer


class FieldErrorSerializer(Serializer):
    field = serializers.CharField(help_text="The field, '' when the problem is the request's as a whole.")
    row = serializers.IntegerField(required=False, help_text="Bulk upload: the row, 1 for the first declaration.")
    message = serializers.CharField()


class ProblemSerializer(Serializer):
    """RFC 9457 problem details."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    instance = serializers.CharField()
    errors = FieldErrorSerializer(many=True)  # type: ignore[assignment]


PROBLEM_STATUSES = ("400", "401", "403", "404", "405", "406", "415", "429")


class ProblemAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction: Literal["request", "response"] = "response") -> dict[str, Any]:
        bodies: dict[str, Any] = super()._get_response_bodies(direction)
        for code in PROBLEM_STATUSES:
            if code not in bodies:
                bodies[code] = self._get_response_for_code(  # type: ignore[no-untyped-call]
                    ProblemSerializer, code, media_types=[PROBLEM_JSON], direction=direction
                )
        return bodies


class BearerScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "famhp.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "famhp_<prefix>_<secret>"}


class SessionScheme(SpectacularSessionScheme):  # type: ignore[no-untyped-call]
    """famhp's session authentication (its CSRF refusal translated) is DRF's to the schema: the same cookie."""

    target_class = "famhp.api.authentication.SessionAuthentication"
