"""``{% translate %}`` of famhp_i18n (issue 15): what Django's own tag writes, for every form of the tag, in nl, fr
and en, the first time and from its cache, with escaping on and off."""

from __future__ import annotations

import pytest
from django.template import engines
from django.test import override_settings
from django.utils.translation import override

from famhp.declarations.templatetags import famhp_i18n

FORMS = [
    '{% translate "Log out" %}',
    "{% translate 'Language' %}",
    '{% trans "Change" %}',
    '{% translate "Log out" noop %}',
    '{% translate "Log out" as out %}[{{ out }}]',
    '{% translate "May" context "month name" %}',
    '{% translate "May" context "month name" as may %}{{ may }}',
    '{% translate "Your declarations" context "form section: the statements a company makes by ticking a box '
    '(below the threshold, not liable)" %}',
    '{% translate "100%% <sure> & \\"quoted\\"" %}',
    '{% translate "Log out"|upper %}',
    "{% translate text %}",
    "{% translate text context where %}",
    '{% translate "May" context where %}',
    '{% translate "Log out" as out %}{% translate "Change" as out %}{{ out }}',
]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("autoescape", ["on", "off"])
def test_every_form_of_the_tag_writes_what_djangos_writes(form: str, autoescape: str) -> None:
    source = f"{{% autoescape {autoescape} %}}{form}|{form}{{% endautoescape %}}"
    django_s = engines["django"].from_string("{% load i18n %}" + source)
    ours = engines["django"].from_string("{% load i18n famhp_i18n %}" + source)
    for language in ("nl", "fr", "en", "nl"):
        with override(language):
            for text in ("Log out", "a <b> & c", "Change"):
                context = {"text": text, "where": "month name"}
                for _twice in range(2):
                    assert ours.render(context) == django_s.render(context), (form, language, text)


def test_the_texts_are_written_once_per_language_and_forgotten_with_the_settings() -> None:
    ours = engines["django"].from_string('{% load i18n famhp_i18n %}{% translate "Log out" %}')
    famhp_i18n._written.clear()
    with override("nl"):
        dutch = ours.render({})
    with override("fr"):
        french = ours.render({})
    assert dutch != french and len(famhp_i18n._written) == 2
    with override_settings(LANGUAGES=[("nl", "Dutch"), ("fr", "French"), ("en", "English")]):
        assert famhp_i18n._written == {}
    with override("nl"):
        assert ours.render({}) == dutch


def test_a_catalogue_reloaded_by_runserver_is_read_again() -> None:
    from pathlib import Path

    from django.utils.autoreload import file_changed

    ours = engines["django"].from_string('{% load i18n famhp_i18n %}{% translate "Log out" %}')
    with override("nl"):
        ours.render({})
    assert famhp_i18n._written
    # runserver's autoreloader sends file_changed for a changed .mo (Django then reloads its catalogues)
    file_changed.send(sender=None, file_path=Path("src/famhp/locale/nl/LC_MESSAGES/django.py"))
    assert famhp_i18n._written  # another kind of file: kept
    file_changed.send(sender=None, file_path=Path("src/famhp/locale/nl/LC_MESSAGES/django.mo"))
    assert famhp_i18n._written == {}
