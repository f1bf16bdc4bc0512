"""The portal's pages byte for byte as they were before the field snippet and the language list were written by
tags (issue 15): each page rendered with today's templates and with the templates as they were (the includes of
includes/field.html, the loop over the languages in base.html), in nl, fr and en, the CSRF tokens aside (each
rendering masks the token anew)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse

from famhp.declarations.services import invitation_token
from tests.portal.factories import belgian, campaign, with_activity

pytestmark = pytest.mark.django_db
TEMPLATES = Path(settings.BASE_DIR) / "templates"
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
LANGUAGE_LOOP = """          {% get_available_languages as LANGUAGES %}{% get_language_info_list for LANGUAGES as languages %}
          {% for language in languages %}
          <option value="{{ language.code }}" lang="{{ language.code }}"{% if language.code == LANGUAGE_CODE %} selected{% endif %}>{{ language.name_local }}</option>
          {% endfor %}
"""


def _as_they_were() -> dict[str, str]:
    base = (TEMPLATES / "base.html").read_text(encoding="utf-8")
    assert "          {% language_options LANGUAGE_CODE %}\n" in base
    templates = {"base.html": base.replace("          {% language_options LANGUAGE_CODE %}\n", LANGUAGE_LOOP)}
    for name in ("declarations/figures.html", "declarations/confirm.html"):
        source = (TEMPLATES / name).read_text(encoding="utf-8")
        assert "{% form_field form." in source
        templates[name] = re.sub(
            r"\{% form_field (form\.\w+) %\}", r'{% include "includes/field.html" with field=\1 %}', source
        )
    return templates


def _before_templates() -> list[dict[str, object]]:
    engine = dict(settings.TEMPLATES[0])
    options = dict(engine["OPTIONS"])  # type: ignore[call-overload]
    loaders = [
        ("django.template.loaders.locmem.Loader", _as_they_were()),
        "django.template.loaders.filesystem.Loader",
        "django.template.loaders.app_directories.Loader",
    ]
    options["loaders"] = [("django.template.loaders.cached.Loader", loaders)]  # as in production
    return [{**engine, "APP_DIRS": False, "OPTIONS": options}]


def _both(ask: Callable[[], bytes]) -> tuple[str, str]:
    now = TOKEN.sub("csrf", ask().decode())
    with override_settings(TEMPLATES=_before_templates()):
        before = TOKEN.sub("csrf", ask().decode())
    return now, before


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_the_pages_are_written_as_before(language: str) -> None:
    operator = with_activity(belgian())
    c = campaign()
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    assert client.get(reverse("declarations:invitation", args=[invitation_token(campaign=c, operator=operator)]))
    figures = reverse("declarations:figures", args=[2025, operator.pk])
    confirm = reverse("declarations:confirm", args=[2025, operator.pk])
    wrong = {"total_turnover": "1000", "levied_turnover": "2000x", "below_threshold": "on"}
    pages: list[Callable[[], bytes]] = [
        lambda: client.get(reverse("home")).content,
        lambda: client.get(figures).content,
        lambda: client.post(figures, wrong).content,
        lambda: client.post(figures, {"total_turnover": "1000", "levied_turnover": "2000"}).content,
    ]
    for ask in pages:
        now, before = _both(ask)
        assert now == before
        assert 'id="language-select"' in now and "<!DOCTYPE html>" in now
    # the figures taken, the certification step and its errors
    taken = client.post(figures, {"total_turnover": "100000", "levied_turnover": "100000"})
    assert taken.status_code == 302, taken.content.decode()[:2000]
    for ask in (lambda: client.get(confirm).content, lambda: client.post(confirm, {"certifier_name": "<A&B>"}).content):
        now, before = _both(ask)
        assert now == before
        assert 'class="error"' in now or 'name="confirm"' in now
    now, _before = _both(lambda: client.post(figures, wrong).content)
    assert 'class="field has-error"' in now and f'<html lang="{language}">' in now
    assert now.count("<option ") == 3 and now.count(" selected>") == 1
