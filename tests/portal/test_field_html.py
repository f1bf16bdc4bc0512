"""The field snippet written by the ``form_field`` tag (issue 15): byte for byte what includes/field.html writes,
for every kind of field (inputs, check boxes, a file, a choice, a text area), value, help text and error, with and
without the page's error summary, in nl, fr and en; and the figures and certification pages as they were."""

from __future__ import annotations

from typing import Any

import pytest
from django import forms
from django.template import engines
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy, override

from famhp.portal.declaration_forms import CertificationForm, FiguresForm
from tests.portal.test_widget_html import Sample

INCLUDE = engines["django"].from_string('{% include "includes/field.html" with field=field %}')
TAG = engines["django"].from_string("{% load famhp %}{% form_field field %}")


class Ticks(forms.Form):
    agree = forms.BooleanField(help_text=gettext_lazy("Tick to agree"))
    optional = forms.BooleanField(required=False, label=mark_safe("<i>Optional</i> & more"))
    plain = forms.BooleanField(required=False, help_text='Say <yes> & "no"')
    file = forms.FileField(required=False, help_text=mark_safe("PDF <b>only</b>"))
    number = forms.CharField(label='Number "N°" <1>', help_text="One & two")


def _renders(form: forms.Form, summary: Any) -> None:
    for name in form.fields:
        field = form[name]
        context = {"field": field} if summary is None else {"field": field, "error_summary": summary}
        assert TAG.render(context) == INCLUDE.render(context), name


@pytest.mark.parametrize(
    "data",
    [
        None,
        {},
        {"name": 'Tom "&" <Jerry>', "email": "no e-mail", "count": "11", "ratio": "1,5", "agree": "on", "plain": "1"},
        {"name": "x" * 30, "count": "3", "ratio": "abc", "choice": "a", "text": "<t>", "optional": "on"},
        {"total_turnover": "1.234,56", "levied_turnover": "2.000", "below_threshold": "on", "confirm": "on"},
        {"total_turnover": "abc", "certifier_name": "A <b>", "certifier_capacity": "&"},
    ],
)
@pytest.mark.parametrize("summary", [None, True, False])
@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_every_field_as_the_include_writes_it(data: dict[str, str] | None, summary: Any, language: str) -> None:
    with override(language):
        for kind in (Sample, Ticks, FiguresForm, CertificationForm):
            form = kind(data)
            if data is not None:
                form.is_valid()
            _renders(form, summary)
            _renders(kind(data, auto_id=False), summary)
            _renders(kind(data, auto_id="id-%s-x"), summary)


def test_the_previous_figures_and_an_error_added_by_the_view() -> None:
    form = FiguresForm(initial={"total_turnover": "1234567.89", "levied_turnover": "0.50", "not_liable": True})
    _renders(form, True)
    form = FiguresForm({"total_turnover": "10", "levied_turnover": "20"})
    form.is_valid()
    form.add_error("levied_turnover", "Higher than the total <turnover> & more")
    form.add_error("levied_turnover", mark_safe("A <b>second</b> one"))
    for language in ("nl", "fr", "en"):
        with override(language):
            _renders(form, True)
            _renders(form, None)
    assert 'role="alert"' not in TAG.render({"field": form["levied_turnover"], "error_summary": True})
