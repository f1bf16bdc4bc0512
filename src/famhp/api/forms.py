"""The portal's forms for personal access tokens and the bulk upload."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from famhp.registry.models import Operator
from famhp.text import validate_one_line


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        validators=[validate_one_line],
        help_text=_("To recognise the token later, e.g. the program or firm that uses it."),
    )
    companies = forms.ModelMultipleChoiceField(
        label=_("Companies"),
        queryset=Operator.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("The token acts only for these, and only while you still have their access."),
    )
    read_write = forms.BooleanField(label=_("May submit declarations (otherwise read only)"), required=False)
    agency = forms.BooleanField(
        label=_("Agency token: the agency's read-only endpoints, with your role's rights"), required=False
    )
    expires_on = forms.DateField(
        label=_("Expires on"),
        # ISO, what a date input reads, whatever the page's language formats dates as
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
        help_text=_("At most one year ahead."),
    )

    def __init__(self, *args: object, companies: QuerySet[Operator], staff: bool, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["companies"].queryset = companies  # type: ignore[attr-defined]
        self.fields["expires_on"].initial = timezone.localdate() + datetime.timedelta(days=90)
        if not staff:
            del self.fields["agency"]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's documented recipe)."""

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        one = super().clean
        if isinstance(data, list | tuple):
            return [one(item, initial) for item in data]
        return [one(data, initial)] if data else []


class BulkForm(forms.Form):
    declarations = forms.FileField(
        label=_("Declarations (CSV or JSON)"), help_text=_("One row per company and year; see the columns below.")
    )
    certificates = MultipleFileField(
        label=_("Signed certificates (PDF)"),
        widget=MultipleFileInput(attrs={"accept": "application/pdf,.pdf"}),
        required=False,
        help_text=_("Each row's certificate column names one of these files."),
    )
