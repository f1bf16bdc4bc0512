"""The portal's front page, its one refusal page, which every portal page (and the API's portal pages) shows, and
the lookup by a unique field those pages start with."""

from __future__ import annotations

from typing import TypeVar

from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from famhp.accounts.compiled import unique_row

M = TypeVar("M", bound=models.Model)


def denied(request: HttpRequest, reason: str) -> HttpResponse:
    return render(request, "access_denied.html", {"reason": reason}, status=403)


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


def found(model: type[M], **unique: object) -> M | None:
    """The row of ``model`` a unique lookup finds, or None; its SQL compiled once per process (issue 15:
    building and compiling the query cost more than reading the row, at every request)."""
    return unique_row(model, **unique)
