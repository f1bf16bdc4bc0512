"""The portal's pages byte for byte as they were before the field snippet, the language list and the texts of
``{% translate %}`` were written by the project's tags (issue 15): each page rendered with today's templates and
with the templates as they were (the includes of includes/field.html, the loop over the languages in base.html,
Django's own ``translate``), in nl, fr and en, the CSRF tokens aside (each rendering masks the token anew)."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse

from famhp.billing.services import credit_note_issue
from tests.accounts.conftest import OIDC, manager_of, person
from tests.portal.factories import belgian, campaign, invoice_for, with_activity

pytestmark = pytest.mark.django_db
TEMPLATES = Path(settings.BASE_DIR) / "templates"
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
LANGUAGE_LOOP = """          {% get_available_languages as LANGUAGES %}{% get_language_info_list for LANGUAGES as languages %}
          {% for language in languages %}
          <option value="{{ language.code }}" lang="{{ language.code }}"{% if language.code == LANGUAGE_CODE %} selected{% endif %}>{{ language.name_local }}</option>
          {% endfor %}
"""


CHANGED = ("base.html", "home.html", "declarations/figures.html", "declarations/confirm.html", "billing/invoices.html")


def _as_they_were() -> dict[str, str]:
    templates = {}
    for name in CHANGED:
        source = (TEMPLATES / name).read_text(encoding="utf-8")
        assert " famhp_i18n %}" in source.splitlines()[0]
        source = source.replace(" famhp_i18n %}", " %}", 1)
        source = source.replace("          {% language_options LANGUAGE_CODE %}\n", LANGUAGE_LOOP)
        templates[name] = re.sub(
            r"\{% form_field (form\.\w+) %\}", r'{% include "includes/field.html" with field=\1 %}', source
        )
    assert LANGUAGE_LOOP in templates["base.html"] and "{% form_field" not in "".join(templates.values())
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
    campaign()
    invoice = invoice_for(operator, "1662.96", year=2025)
    credit_note_issue(invoice=invoice, reason="a <corrected> declaration & more", issued_on=datetime.date(2026, 1, 5))
    invoice_for(operator, "120.50", sequence=2, year=2024)
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(manager_of(operator, person("pages", "pages@medilab.example")), backend=OIDC)
    figures = reverse("declarations:figures", args=[2025, operator.pk])
    confirm = reverse("declarations:confirm", args=[2025, operator.pk])
    wrong = {"total_turnover": "1000", "levied_turnover": "2000x", "below_threshold": "on"}
    pages: list[Callable[[], bytes]] = [
        lambda: client.get(reverse("home")).content,
        lambda: Client(HTTP_ACCEPT_LANGUAGE=language).get(reverse("home")).content,  # no one logged in
        lambda: client.get(reverse("billing:invoices", args=[operator.pk])).content,
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
