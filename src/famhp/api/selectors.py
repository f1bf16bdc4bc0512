"""Reads of the API's tokens."""

from __future__ import annotations

from django.db.models import QuerySet

from famhp.accounts.compiled import compiled_list
from famhp.accounts.models import Person
from famhp.api.models import ApiToken


def tokens_of(person: Person) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(person=person).prefetch_related("companies").order_by("-created_at", "-pk")


def token_by_prefix(prefix: str) -> ApiToken | None:
    # at every call of a program: the query (first()'s, the model's ordering) compiled once (issue 15)
    found = compiled_list(
        "api.token_by_prefix", lambda key: ApiToken.objects.select_related("person").filter(prefix=key)[:1], [prefix]
    )
    return found[0] if found else None
