"""Errors in one shape: RFC 9457 problem details (``application/problem+json``), in the caller's language.

    {"type": "urn:famhp:problem:invalid", "title": "…", "status": 400, "detail": "…", "instance": "/api/v1/…",
     "errors": [{"field": "levied_turnover", "row": 3, "message": "…"}]}

``errors`` names each field (and, in a bulk upload, its row, counted from 1 for the first declaration); it is
empty when the problem is not about a field. docs/api.md lists the types.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

PROBLEM_JSON = "application/problem+json"
NON_FIELD = "non_field_errors"


class FieldError(dict[str, Any]):
    """One entry of ``errors``: field, message, and row in a bulk upload."""

    def __init__(self, field: str, message: str, row: int | None = None) -> None:
        super().__init__(field=field, message=str(message))
        if row is not None:
            self["row"] = row


class Invalid(exceptions.APIException):
    """Field errors of our own checks (figures, certificates, bulk rows): a 400 naming each one."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, errors: Iterable[FieldError], detail: str | None = None) -> None:
        self.errors = list(errors)
        super().__init__(detail or _("The request has problems: see errors."))


def errors_of(detail: Any, field: str = "", row: int | None = None) -> list[FieldError]:
    """DRF's nested error detail (dicts of lists) or a Django ValidationError's messages, flattened."""
    if isinstance(detail, Mapping):
        found: list[FieldError] = []
        for key, value in detail.items():
            name = "" if key in {NON_FIELD, "__all__"} else str(key)
            found += errors_of(value, f"{field}.{name}" if field and name else (name or field), row)
        return found
    if isinstance(detail, list | tuple):
        return [error for item in detail for error in errors_of(item, field, row)]
    return [FieldError(field, str(detail), row)]


def django_errors(error: DjangoValidationError, row: int | None = None) -> list[FieldError]:
    if hasattr(error, "error_dict"):
        return errors_of(error.message_dict, row=row)
    return [FieldError("", message, row) for message in error.messages]


TITLES = {
    400: ("invalid", gettext_lazy("Your request has problems")),
    401: ("unauthenticated", gettext_lazy("Authentication needed")),
    403: ("forbidden", gettext_lazy("Not allowed")),
    404: ("not-found", gettext_lazy("Not found")),
    405: ("method-not-allowed", gettext_lazy("Method not allowed")),
    406: ("not-acceptable", gettext_lazy("Not acceptable")),
    413: ("too-large", gettext_lazy("Request too large")),
    415: ("unsupported-media-type", gettext_lazy("Unsupported media type")),
    429: ("too-many-requests", gettext_lazy("Too many requests")),
}


def problem(status_code: int, *, detail: str, instance: str, errors: list[FieldError] | None = None) -> dict[str, Any]:
    slug, title = TITLES.get(status_code, ("error", gettext_lazy("Error")))
    return {
        "type": f"urn:famhp:problem:{slug}",
        "title": str(title),
        "status": status_code,
        "detail": detail,
        "instance": instance,
        "errors": errors or [],
    }


def parse_problem(exc: exceptions.ParseError) -> str:
    """What is wrong with a request body, in the caller's language: DRF's parsers say it in English only
    ("JSON parse error - …", "Multipart form parse error - …"), with the decoder's error as the context."""
    cause = exc.__context__
    if isinstance(cause, json.JSONDecodeError):
        return _("The request body is not valid JSON (line %(line)s, column %(column)s).") % {
            "line": cause.lineno,
            "column": cause.colno,
        }
    if isinstance(cause, UnicodeDecodeError):
        return _("The request body is not UTF-8 text.")
    if isinstance(cause, MultiPartParserError):
        return _("The request body is not a valid multipart form.")
    return str(exc.detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    errors: list[FieldError] = []
    if isinstance(exc, DjangoValidationError):
        errors = django_errors(exc)
        exc = exceptions.ValidationError()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # an error no caller can cause: Django's 500, logged with its context
    if isinstance(exc, Invalid):
        errors, detail = exc.errors, str(exc.detail)
    elif isinstance(exc, exceptions.ValidationError):
        errors = errors or errors_of(exc.detail)
        detail = _("The request has problems: see errors.")
    elif isinstance(exc, exceptions.ParseError):
        detail = parse_problem(exc)
    elif isinstance(exc, exceptions.Throttled):
        detail = _("Too many requests: try again in %(seconds)s seconds.") % {
            "seconds": int(getattr(exc, "wait", None) or 1)
        }
    else:
        detail = str(getattr(exc, "detail", "")) or str(exc)
    request = context.get("request")
    response.data = problem(
        response.status_code,
        detail=detail,
        instance=request.get_full_path() if request is not None else "",
        errors=errors,
    )
    response.content_type = PROBLEM_JSON
    return response


@csrf_exempt  # it writes nothing: an unknown address is a 404 whatever the method, never the CSRF page
def not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Any other address under /api/v1/: a 404 in the same shape, not the portal's HTML page."""
    body = problem(404, detail=_("There is no such address in the API."), instance=request.get_full_path())
    return JsonResponse(body, status=404, content_type=PROBLEM_JSON)
