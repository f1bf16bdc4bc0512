"""The portal's front page and its one refusal page, which every portal page (and the API's portal pages) shows."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def denied(request: HttpRequest, reason: str) -> HttpResponse:
    return render(request, "access_denied.html", {"reason": reason}, status=403)


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")
