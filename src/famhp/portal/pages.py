"""The portal's front page, its one refusal page, which every portal page (and the API's portal pages) shows, and
the lookup by a unique field those pages start with."""

from __future__ import annotations

from typing import TypeVar

from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

M = TypeVar("M", bound=models.Model)


def denied(request: HttpRequest, reason: str) -> HttpResponse:
    return render(request, "access_denied.html", {"reason": reason}, status=403)


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


def found(model: type[M], **unique: object) -> M | None:
    """The row of ``model`` a unique lookup finds, or None: ``filter(...).first()`` without the ORDER BY that
    first() adds, which is cheaper to build and compile at every request (issue 15) and finds the same row."""
    try:
        return model._default_manager.get(**unique)
    except model.DoesNotExist:  # type: ignore[attr-defined]
        return None
