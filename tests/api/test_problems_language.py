"""What DRF says in English only is said in the caller's language, like every other problem: a request body the
API cannot read (DRF: "JSON parse error - …" with Python's decoder message) and a browser's write without its
CSRF token (DRF: "CSRF Failed: …")."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext

from tests.accounts.conftest import OIDC
from tests.api.conftest import World

pytestmark = pytest.mark.django_db


def _in(language: str, message: str, **values: object) -> str:
    with translation.override(language):
        return gettext(message) % values


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_a_body_that_is_no_json_is_named_in_the_callers_language(world: World, language: str) -> None:
    url = f"/api/v1/companies/{world.a.pk}/declarations/2025/estimate/"
    client = world.api(language=language)
    broken = client.post(url, '{"total_turnover": 1,\n bad}', content_type="application/json")
    not_utf8 = client.post(url, b"\xff\xfe{}", content_type="application/json")
    for response in (broken, not_utf8):
        assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
        assert response.json()["type"] == "urn:famhp:problem:invalid"
        assert "parse error" not in response.json()["detail"]
    # the second line, column 2: where "bad" starts
    where = {"line": 2, "column": 2}
    assert broken.json()["detail"] == _in(
        language, "The request body is not valid JSON (line %(line)s, column %(column)s).", **where
    )
    assert not_utf8.json()["detail"] == _in(language, "The request body is not UTF-8 text.")


def test_a_broken_multipart_body_is_named_in_the_callers_language(world: World) -> None:
    response = world.api(language="fr").post("/api/v1/declarations/bulk/", b"abc", content_type="multipart/form-data")
    assert response.status_code == 400
    assert response.json()["detail"] == _in("fr", "The request body is not a valid multipart form.")


def test_a_too_deeply_nested_body_keeps_its_own_message(world: World) -> None:
    url = f"/api/v1/companies/{world.a.pk}/declarations/2025/estimate/"
    response = world.api(language="nl").post(url, "[" * 5000 + "]" * 5000, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"] == "Het JSON-document is te diep genest."


def test_a_browser_write_without_its_csrf_token_is_refused_in_the_callers_language(world: World) -> None:
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="fr")
    client.force_login(world.alice, backend=OIDC)
    response = client.post(
        f"/api/v1/companies/{world.a.pk}/declarations/2025/estimate/",
        {"total_turnover": "1.00", "levied_turnover": "1.00"},
        content_type="application/json",
    )
    assert response.status_code == 403 and response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"] == _in(
        "fr",
        "CSRF check failed: a logged-in browser writes to the API only with its CSRF token (the X-CSRFToken "
        "header); a program uses a personal access token.",
    )
