"""The inputs of includes/field.html written without Django's widget templates (issue 15): byte for byte what
the templates write, for every kind of field, value and error."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django import forms
from django.forms import BoundField
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy, override

from famhp.declarations.templatetags.famhp import _plain_input, described_widget
from famhp.portal.declaration_forms import FiguresForm


def _reference(field: BoundField) -> str:
    """What described_widget wrote before: the same attributes through BoundField.as_widget."""
    ids = [f"{field.auto_id}_error"] if field.errors else []
    if field.help_text:
        ids.append(f"{field.auto_id}_helptext")
    return str(field.as_widget(attrs={"aria-describedby": " ".join(ids)} if ids else {}))


class Sample(forms.Form):
    name = forms.CharField(max_length=20, widget=forms.TextInput(attrs={"placeholder": gettext_lazy("Name")}))
    email = forms.EmailField(required=False, help_text="Where we write")
    count = forms.IntegerField(min_value=0, max_value=10)
    ratio = forms.DecimalField(max_digits=5, decimal_places=2, localize=True)
    web = forms.URLField(disabled=True, assume_scheme="https", initial="https://example.org/?a=1&b=<2>")
    secret = forms.CharField(widget=forms.PasswordInput(render_value=True))
    safe = forms.CharField(widget=forms.TextInput(attrs={"data-x": mark_safe("<b>&amp;</b>"), "data-y": 3}))
    choice = forms.ChoiceField(choices=[("a", "A & B")])
    text = forms.CharField(widget=forms.Textarea)


def _every_field(form: forms.Form) -> list[BoundField]:
    return [form[name] for name in form.fields]


@pytest.mark.parametrize(
    "data",
    [
        None,
        {"name": 'Tom "&" <Jerry>', "email": "not an e-mail", "count": "11", "ratio": "1,5", "secret": "s<3"},
        {"name": "x" * 30, "count": "3", "ratio": "abc", "safe": "'quoted'", "choice": "a", "text": "<t>"},
    ],
)
@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_every_input_as_the_templates_write_it(data: dict[str, str] | None, language: str) -> None:
    with override(language):
        for form in (Sample(data), FiguresForm(data)):
            if data is not None:
                form.is_valid()
            for field in _every_field(form):
                assert str(described_widget(field)) == _reference(field), field.name


def test_the_figures_form_with_the_previous_amounts() -> None:
    form = FiguresForm(initial={"total_turnover": Decimal("1234567.89"), "levied_turnover": Decimal("0.50")})
    for language in ("nl", "fr", "en"):
        with override(language):
            for field in _every_field(form):
                assert str(described_widget(field)) == _reference(field)
    assert 'value="1.234.567,89"' in str(described_widget(form["total_turnover"]))


def test_only_plain_inputs_are_written_directly() -> None:
    form = Sample()
    renderer: Any = form.renderer
    assert _plain_input(form.fields["name"].widget, renderer)
    assert _plain_input(FiguresForm().fields["total_turnover"].widget, renderer)
    assert not _plain_input(form.fields["choice"].widget, renderer)
    assert not _plain_input(form.fields["text"].widget, renderer)
