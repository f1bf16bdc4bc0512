"""Template helpers of the portal."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext

from famhp.rules import Line

register = template.Library()


@register.filter
def explain(line: Line) -> str:
    """An explanation line of famhp.rules in the reader's language: its template is the message id."""
    return gettext(line.template).format_map(line.args)
