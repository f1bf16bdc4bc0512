"""The token page, the bulk page and the API's documentation page in Chromium, under the Content-Security-Policy;
axe-core on the portal's pages; the token shown once works against the live API."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from django.urls import reverse

from famhp.accounts.models import AccessRole
from famhp.accounts.services import access_grant
from tests.accounts.oidc_provider import oidc_provider
from tests.accounts.test_browser_login import oidc_login
from tests.browser import BROWSER, serious_violations
from tests.portal.factories import belgian

pytestmark = BROWSER
USER = ("accountant-1", {"email": "jan@medilab.example", "given_name": "Jan", "family_name": "Maes"})


@pytest.mark.django_db(transaction=True)
def test_a_person_makes_a_token_and_a_program_uses_it(browser: Any, live_server: Any) -> None:
    operator = belgian("Medilab NV", language="en")
    access_grant(operator=operator, email=USER[1]["email"], role=AccessRole.MANAGER, granted_by=None, subject=USER[0])
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    refused: list[str] = []
    page.on(
        "console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None
    )
    with oidc_provider(USER) as issuer:
        oidc_login(page, live_server, issuer, USER[0])
    page.goto(live_server.url + reverse("api:tokens"))
    violations = {"tokens": serious_violations(page)}
    page.get_by_label("Name").fill("Our bookkeeping")
    page.get_by_label("Medilab NV").check()
    page.get_by_role("button", name="Create the token").click()
    token = page.locator("#new-token").inner_text()
    assert token.startswith("famhp_")
    violations["token shown"] = serious_violations(page)

    request = urllib.request.Request(
        live_server.url + "/api/v1/companies/", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request) as response:
        assert [c["name"] for c in json.load(response)] == ["Medilab NV"]

    page.reload()
    assert token not in page.content()  # shown once
    page.get_by_role("button", name="Revoke Our bookkeeping").click()
    assert "Revoked" in page.get_by_role("table").inner_text()

    page.goto(live_server.url + reverse("api:bulk_upload"))
    violations["bulk"] = serious_violations(page)
    page.goto(live_server.url + reverse("api:docs"))
    page.wait_for_selector("#swagger-ui .information-container", timeout=20000)  # its script ran
    assert "FAMHP contributions API" in page.content()
    assert refused == []
    assert violations == {"tokens": [], "token shown": [], "bulk": []}
    context.close()
