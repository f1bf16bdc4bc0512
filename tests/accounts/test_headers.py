"""Headers on every answer (issue 10): a strict Content-Security-Policy, no caching of pages with company data."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from famhp.accounts.roles import AUDITOR
from tests.accounts.conftest import OIDC, manager_of, person, staff, staff_client
from tests.portal.factories import belgian, campaign, with_activity

pytestmark = pytest.mark.django_db
SOURCE = Path(__file__).resolve().parents[2] / "src" / "famhp"


def strict(policy: str) -> None:
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"


def test_portal_pages_with_company_data_are_never_cached_and_carry_the_policy() -> None:
    operator = with_activity(belgian("Medilab NV"))
    c = campaign()
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(manager_of(operator, person("an", "an@medilab.be")), backend=OIDC)
    for url in (
        reverse("accounts:companies"),
        reverse("declarations:figures", args=[c.year, operator.pk]),
        reverse("accounts:company_users", args=[operator.pk]),
        reverse("home"),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url
        strict(response["Content-Security-Policy"])


def test_admin_pages_are_never_cached_and_carry_the_policy() -> None:
    client = staff_client(staff("auditor", AUDITOR))
    for url in (reverse("admin:index"), reverse("admin:registry_operator_changelist")):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"]
        strict(response["Content-Security-Policy"])


def test_no_template_has_inline_script_or_style() -> None:
    """Under the policy an inline script would not run: every script and style is a static file. (The PDF
    templates are rendered to PDF on the server, never served as pages.)"""
    offenders = []
    for template in SOURCE.rglob("templates/**/*.html"):
        if template.name.endswith("_pdf.html"):
            continue
        text = template.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=", text):
            offenders.append(str(template.relative_to(SOURCE)))
    assert offenders == []
