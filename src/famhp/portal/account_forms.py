from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from famhp.accounts.models import AccessRole


class PasswordLoginForm(forms.Form):
    username = forms.CharField(
        label=_("Username"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username"})
    )
    password = forms.CharField(
        label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


class CodeForm(forms.Form):
    token = forms.CharField(
        label=_("Code from your authenticator app, or a recovery code"),
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class EnrolForm(forms.Form):
    token = forms.CharField(
        label=_("Six-digit code from your authenticator app"),
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class GrantForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address of the person"), max_length=254)  # the model's length
    role = forms.ChoiceField(label=_("Role"), choices=AccessRole.choices, initial=AccessRole.ENTERPRISE_USER)


class AccountForm(forms.Form):
    username = forms.RegexField(
        label=_("Username"),
        max_length=150,
        regex=r"^[\w.@+-]+$",
        help_text=_("Letters, digits and . @ + - _ only."),
    )
    email = forms.EmailField(label=_("E-mail address"), max_length=254)  # the model's length
