"""``{% translate "…" %}`` of a text written in the template, translated once per language (issue 15).

Loaded after Django's ``i18n`` (``{% load i18n famhp_i18n %}``), this library's ``translate`` (and ``trans``)
takes the place of Django's in that template: the tag is parsed by Django, and a text written in the template
(no variable, no filter; a context written in the template too) keeps what Django's tag wrote the first time,
for each language and escaping; anything else renders exactly as Django renders it. Django's tag looks the
text up in the catalogue at every page (14 µs each, a dozen in base.html alone); the catalogues do not change
while the server runs, and the cache is emptied when a test changes the settings they depend on. makemessages
still finds every text: it reads the templates' ``{% translate %}`` tags, whichever library renders them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.base import FilterExpression, Variable
from django.templatetags.i18n import TranslateNode, do_translate
from django.utils.autoreload import file_changed
from django.utils.translation import get_language

register = template.Library()

#: (language, autoescape, text, context, noop) → what Django's tag wrote
_written: dict[tuple[Any, ...], str] = {}


@receiver(setting_changed)
def _forget(*, setting: str, **_kwargs: Any) -> None:
    if setting in {"LANGUAGES", "LANGUAGE_CODE", "LOCALE_PATHS", "USE_I18N", "INSTALLED_APPS"}:
        _written.clear()


@receiver(file_changed)
def _forget_on_new_catalogue(*, file_path: Path, **_kwargs: Any) -> None:
    """runserver reloads a changed catalogue without restarting (Django's ``translation_file_changed``): the
    texts kept here are written again from it."""
    if file_path.suffix == ".mo":
        _written.clear()


def _written_in_template(expression: FilterExpression | None) -> str | None:
    """The text an expression writes as it is (a quoted string without filters), else None."""
    if expression is None or expression.filters:
        return None
    value = expression.var
    if isinstance(value, Variable):
        literal = value.literal
        return str(literal) if isinstance(literal, str) else None
    return value if isinstance(value, str) else None


class WrittenTranslateNode(TranslateNode):
    def __init__(self, node: TranslateNode) -> None:
        super().__init__(node.filter_expression, node.noop, node.asvar, node.message_context)
        text = _written_in_template(self.filter_expression)
        context = _written_in_template(self.message_context) if self.message_context else ""
        self.key = None if text is None or context is None else (text, context, bool(self.noop))

    def render(self, context: template.Context) -> str:
        if self.key is None:
            return str(super().render(context))
        key = (get_language(), context.autoescape, *self.key)
        value = _written.get(key)
        if value is None:
            value = super().render(context)
            if self.asvar:
                value = context[self.asvar]
            _written[key] = value
        if self.asvar:
            context[self.asvar] = value
            return ""
        return value


@register.tag("translate")
@register.tag("trans")
def translate(parser: template.base.Parser, token: template.base.Token) -> WrittenTranslateNode:
    return WrittenTranslateNode(do_translate(parser, token))
