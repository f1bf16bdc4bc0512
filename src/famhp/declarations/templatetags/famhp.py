"""Template helpers of the portal: amounts and dates the Belgian way, and explanation lines for companies."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.forms import BoundField
from django.template.base import render_value_in_context
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, mark_safe
from django.utils.translation import get_language, gettext

from famhp.declarations.amounts import format_amount, format_day, format_euro
from famhp.registry.models import Role
from famhp.rules import Line

register = template.Library()

# famhp.rules formats amounts as "1,234.56 EUR" and rates as "0.3073 %" (explanation.eur and .percent); the
# portal shows them the reader's way: "1.234,56 €" in Dutch, "1 234,56 €" in French.
AMOUNT = re.compile(r"^(\d{1,3}(?:,\d{3})*\.\d{2}) EUR$")
RATE = re.compile(r"^(\d+\.\d+) %$")
#: the reference at the end of a line: "(D5; law of 20 July 2006 art. 14/2; FAQ 5, 20)."
REFERENCE = re.compile(r"\s*\(([^()]*)\)(\.?)\s*$")
#: references a company cannot look up: RULES.md's decision codes and sections stay for staff and tests
INTERNAL = re.compile(r"^(?:D\d+|RULES\s*§\s*\d+)$")
#: "1 entities": the rules' templates have one plural form; the reader gets the singular where it is due
SINGULAR = {
    "en": (re.compile(r"(?<![\d.,])\b1 entities\b"), "1 entity"),
    "nl": (re.compile(r"(?<![\d.,])\b1 entiteiten\b"), "1 entiteit"),
    "fr": (re.compile(r"(?<![\d.,])\b([01]) entités\b"), r"\1 entité"),
    "de": (re.compile(r"(?<![\d.,])\b1 Einheiten\b"), "1 Einheit"),
}


def localise(name: str, value: str) -> str:
    if name == "role" and value in Role.values:
        return str(Role(value).label)
    if match := AMOUNT.match(value):
        return format_euro(Decimal(match.group(1).replace(",", "")))
    if match := RATE.match(value):
        number = match.group(1)
        decimals = len(number.split(".")[1])
        shown = format_amount(Decimal(number)) if decimals == 2 else _decimals(Decimal(number), decimals)
        return f"{shown}\u00a0%"
    return value


def _decimals(value: Decimal, decimals: int) -> str:
    from babel.numbers import format_decimal

    from famhp.declarations.amounts import belgian_locale

    return format_decimal(value, format="#,##0." + "0" * decimals, locale=belgian_locale())


def public_references(text: str) -> str:
    """The line's closing reference without the internal codes: "(D5; law of 20 July 2006 art. 14/2; FAQ 5)"
    becomes "(law of 20 July 2006 art. 14/2; FAQ 5)"; a reference of internal codes only disappears."""
    match = REFERENCE.search(text)
    if match is None:
        return text
    kept = [part.strip() for part in match.group(1).split(";") if part.strip() and not INTERNAL.match(part.strip())]
    separator = " ; " if (get_language() or "").startswith("fr") else "; "
    tail = f" ({separator.join(kept)})" if kept else ""
    return f"{text[: match.start()]}{tail}{match.group(2)}"


def singular(text: str) -> str:
    language = (get_language() or "en").split("-")[0]
    if language in SINGULAR:
        pattern, replacement = SINGULAR[language]
        return pattern.sub(replacement, text)
    return text


@register.filter
def explain(line: Line) -> str:
    """An explanation line of famhp.rules in the reader's language, as a company reads it: its template is the
    message id, its amounts and rates are written the reader's way, and it cites only what a company can look
    up (the law and its article, the FAQ question); the rule code stays in ``line.rule`` for staff and tests."""
    text = gettext(line.template).format_map({name: localise(name, value) for name, value in line.args.items()})
    return singular(public_references(text))


@register.filter
def euro(value: Decimal | int | str | None) -> str:
    """An amount in euro the Belgian way: 1.234,56 € (nl, en), 1 234,56 € (fr)."""
    if value is None or value == "":
        return ""
    try:
        return format_euro(Decimal(value))
    except (InvalidOperation, TypeError, ValueError):
        return str(value)


@register.filter
def amount(value: Decimal | int | str | None) -> str:
    """An amount without the currency sign, the Belgian way."""
    if value is None or value == "":
        return ""
    try:
        return format_amount(Decimal(value))
    except (InvalidOperation, TypeError, ValueError):
        return str(value)


@register.filter
def day(value: datetime.date | datetime.datetime | None) -> str:
    """A date in full as the Belgian locale writes it: 3 februari 2026, 3 février 2026, 3 February 2026."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        from django.utils import timezone

        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return format_day(value)


@register.simple_tag
def described_widget(field: BoundField) -> str:
    """The field's input, described by its help text and, when there is one, its error message (the ids that
    includes/field.html writes; Django by itself names only the help text)."""
    ids = [f"{field.auto_id}_error"] if field.errors else []
    if field.help_text:
        ids.append(f"{field.auto_id}_helptext")
    attrs: dict[str, str | bool] = {"aria-describedby": " ".join(ids)} if ids else {}
    widget = field.field.widget
    if not _plain_input(widget, field.form.renderer):
        return field.as_widget(attrs=attrs)
    # BoundField.as_widget up to the widget's render, then what Django's input.html and attrs.html write: the same
    # bytes without a template per input (issue 15: the figures page's two amounts were a sixth of its CPU)
    if field.field.localize:
        widget.is_localized = True
    attrs = field.build_widget_attrs(attrs, widget)
    if field.auto_id and "id" not in widget.attrs:
        attrs.setdefault("id", field.auto_id)
    context = widget.get_context(field.html_name, field.value(), attrs)["widget"]
    html = [f'<input type="{conditional_escape(context["type"])}" name="{conditional_escape(context["name"])}"']
    if context["value"] is not None:
        html.append(f' value="{_attribute(context["value"])}"')
    for name, value in context["attrs"].items():
        if value is not False:
            html.append(
                f" {conditional_escape(name)}"
                if value is True
                else f' {conditional_escape(name)}="{_attribute(value)}"'
            )
    html.append(">")
    return mark_safe("".join(html))  # every part escaped above, as the templates escape it


@register.simple_tag(takes_context=True)
def form_field(context: template.Context, field: BoundField) -> str:
    """What ``{% include "includes/field.html" with field=… %}`` writes, byte for byte, without a template (issue
    15: the four includes were a fifth of the figures page's CPU): the label, the help text, the input described
    by them and by the error, the error (an alert unless the page shows an error summary). includes/field.html
    stays the reference: tests/portal/test_field_html.py renders both for every kind of field, value and error."""

    def text(value: Any) -> str:
        return str(render_value_in_context(value, context))

    id_ = text(field.auto_id)
    errors, help_text = field.errors, field.help_text
    checkbox = getattr(field.field.widget, "input_type", None) == "checkbox"
    html = [
        '\n<div class="field',
        " has-error" if errors else "",
        " checkbox" if checkbox else "",
        f'" id="{id_}_field">\n  ',
    ]
    helped = f'<p class="help" id="{id_}_helptext">{text(help_text)}</p>' if help_text else ""
    if checkbox:
        html.append(f'\n    <input type="checkbox" name="{text(field.html_name)}" id="{id_}"')
        if field.value():
            html.append(" checked")
        if field.field.required:
            html.append(" required")
        if errors:
            html.append(' aria-invalid="true"')
        if errors or help_text:
            described = [f"{id_}_error"] if errors else []
            if help_text:
                described.append(f"{id_}_helptext")
            html.append(f' aria-describedby="{" ".join(described)}"')
        html.append(f'>\n    <label for="{id_}">{text(field.label)}</label>\n    {helped}\n  ')
    else:
        required = f' <span class="required">({text(gettext("required"))})</span>' if field.field.required else ""
        widget = text(described_widget(field))
        html.append(f'\n    <label for="{id_}">{text(field.label)}{required}</label>\n    {helped}\n    {widget}\n  ')
    html.append("\n  ")
    if errors:
        alert = "" if context.get("error_summary") else ' role="alert"'
        html.append(f'<p class="error" id="{id_}_error"{alert}>{"".join(f"{text(error)} " for error in errors)}</p>')
    html.append("\n</div>\n")
    return mark_safe("".join(html))  # every value escaped by text(), as the template escapes it


#: (the site's languages, the current one) → the language list's options, as base.html wrote them
_LANGUAGE_OPTIONS: dict[tuple[tuple[str, ...], str], str] = {}


@register.simple_tag
def language_options(current: str) -> str:
    """The options of base.html's language list, the current language selected: what ``{% get_available_languages
    %}``, ``{% get_language_info_list %}`` and a loop over them wrote at every page (issue 15), built once per
    language (each language is named in its own language: nothing else changes)."""
    from django.conf import settings
    from django.utils.translation import get_language_info

    codes = tuple(str(code) for code, _name in settings.LANGUAGES)
    key = (codes, str(current))
    if key not in _LANGUAGE_OPTIONS:
        options = ["\n          "]
        for code in codes:
            code_html = conditional_escape(code)
            selected = " selected" if code == current else ""
            name = conditional_escape(get_language_info(code)["name_local"])
            options.append(
                f'\n          <option value="{code_html}" lang="{code_html}"{selected}>{name}</option>\n          '
            )
        _LANGUAGE_OPTIONS[key] = "".join(options)
    return mark_safe(_LANGUAGE_OPTIONS[key])  # escaped above


#: Django's templates of a plain ``<input>``: each includes input.html, which includes attrs.html.
_INPUT_TEMPLATES = {
    f"django/forms/widgets/{name}.html"
    for name in ("input", "text", "email", "number", "url", "password", "tel", "search")
}
_DJANGOS_OWN: dict[str, bool] = {}


def _plain_input(widget: Any, renderer: Any) -> bool:
    """A widget Django renders with its own input templates, through the default form renderer, none of the three
    templates overridden, render() not overridden: the HTML is then what :func:`described_widget` writes."""
    from django import forms
    from django.forms.renderers import DjangoTemplates

    if (
        type(renderer) is not DjangoTemplates
        or widget.template_name not in _INPUT_TEMPLATES
        or type(widget).render is not forms.Widget.render
        or type(widget)._render is not forms.Widget._render  # type: ignore[attr-defined]
    ):
        return False
    for name in (widget.template_name, "django/forms/widgets/input.html", "django/forms/widgets/attrs.html"):
        if name not in _DJANGOS_OWN:
            origin = str(renderer.get_template(name).origin.name)
            _DJANGOS_OWN[name] = origin.replace("\\", "/").endswith(f"django/forms/templates/{name}")
        if not _DJANGOS_OWN[name]:
            return False
    return True


def _attribute(value: Any) -> str:
    """``{{ value|stringformat:'s' }}`` with autoescaping: text marked safe stays as it is."""
    return str(conditional_escape(value if isinstance(value, SafeData) else "%s" % (value,)))  # noqa: UP031


@register.simple_tag
def epc_qr(name: str, iban: str, bic: str, amount: Decimal, reference: str) -> str:
    """The EPC (SEPA credit transfer) QR code of one payment, as a PNG data URI (the CSP allows data: images)."""
    from segno import helpers

    code = helpers.make_epc_qr(name=name[:70], iban=iban, bic=bic, amount=Decimal(amount), reference=reference)
    return str(code.png_data_uri(scale=4, border=4))


@register.simple_tag
def demo_deadline(campaign: Any) -> bool:
    """Whether this campaign's deadline is a demo date: in `make demo` (settings.FAMHP_DEMO), a deadline other
    than 30 June of its year was set so that a company can still file on time (issue 13)."""
    from django.conf import settings

    return bool(getattr(settings, "FAMHP_DEMO", False)) and campaign.deadline != campaign.default_deadline(
        campaign.year
    )
