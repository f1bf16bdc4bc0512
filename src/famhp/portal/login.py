"""The portal's login pages: federal authentication or password + authenticator app (FAQ 22–25)."""

from __future__ import annotations

import time
from base64 import b32encode

import segno
from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import PasswordResetConfirmView
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import devices_for_user, match_token
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from famhp.accounts.models import Person
from famhp.accounts.second_factor import NEXT, PENDING, safe_next, second_factor_redirect
from famhp.accounts.services import (
    logout_everywhere,
    totp_confirm,
    totp_device_new,
)
from famhp.portal.account_forms import CodeForm, EnrolForm, PasswordLoginForm

PASSWORD_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _after_login(request: HttpRequest, person: Person) -> str:
    target = safe_next(request, request.session.pop(NEXT, None))
    if target is not None:
        return target
    return reverse("admin:index") if person.is_staff else reverse("accounts:companies")


def login_choice(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/login.html")


@require_http_methods(["GET", "POST"])
def password_login(request: HttpRequest) -> HttpResponse:
    form = PasswordLoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        person = authenticate(request, username=form.cleaned_data["username"], password=form.cleaned_data["password"])
        if getattr(request, "axes_locked_out", False):
            return render(request, "accounts/locked.html", status=429)
        if person is None:
            form.add_error(None, _("This username and password do not match an account."))
        else:
            request.session.cycle_key()
            return second_factor_redirect(request, person, request.GET.get("next"))
    return render(request, "accounts/password_login.html", {"form": form})


def _pending(request: HttpRequest) -> Person | None:
    pk = request.session.get(PENDING)
    return Person.objects.filter(pk=pk, is_active=True).first() if pk else None


def _pending_unlocked(request: HttpRequest) -> Person | HttpResponse:
    """The person half-way through logging in, unless there is none (back to the password) or it is locked."""
    person = _pending(request)
    if person is None:
        return redirect("accounts:password_login")
    if _locked(request, person):
        return render(request, "accounts/locked.html", status=429)
    return person


def _complete_login(request: HttpRequest, person: Person, device: object) -> None:
    login(request, person, backend=PASSWORD_BACKEND)
    otp_login(request, device)


@require_http_methods(["GET", "POST"])
def code(request: HttpRequest) -> HttpResponse:
    person = _pending_unlocked(request)
    if isinstance(person, HttpResponse):
        return person
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        _wait_out_first_lock(person)
        if _throttled(person):
            form.add_error("token", _("Too many attempts in a row: wait a few seconds, then enter your code again."))
            return render(request, "accounts/code.html", {"form": form})
        device = match_token(person, form.cleaned_data["token"].replace(" ", ""))
        if device is None:
            user_login_failed.send(sender=__name__, credentials={"username": person.username}, request=request)
            if getattr(request, "axes_locked_out", False):
                return render(request, "accounts/locked.html", status=429)
            form.add_error("token", _("This code is not valid. Check your phone's clock and try again."))
        else:
            del request.session[PENDING]
            target = _after_login(request, person)
            _complete_login(request, person, device)
            return redirect(target)
    return render(request, "accounts/code.html", {"form": form})


#: django-otp locks a person's codes for 1 s after a first wrong one; a person who then types the right code at
#: once waits that second out on the server instead of being told "too many attempts" (issue 13). From the
#: second wrong code in a row the lock (2 s, 4 s…) is answered as before, and django-axes counts every failure.
FIRST_LOCK_SECONDS = 2.0


def _wait_out_first_lock(person: Person) -> None:
    for device in devices_for_user(person):
        allowed, data = device.verify_is_allowed()
        if allowed or not data or data.get("failure_count") != 1 or data.get("locked_until") is None:
            continue
        delay = (data["locked_until"] - timezone.now()).total_seconds()
        if 0 < delay <= FIRST_LOCK_SECONDS:
            time.sleep(delay)


def _locked(request: HttpRequest, person: Person) -> bool:
    """django-axes' lockout holds at every step of the login, not only at the password."""
    return bool(AxesProxyHandler.is_locked(request, credentials={"username": person.username}))


def _throttled(person: Person) -> bool:
    """django-otp locks a person's codes for a growing moment after each wrong one (1 s, 2 s, 4 s…)."""
    return any(not device.verify_is_allowed()[0] for device in devices_for_user(person))


@require_http_methods(["GET", "POST"])
def enrol(request: HttpRequest) -> HttpResponse:
    person = _pending_unlocked(request)
    if isinstance(person, HttpResponse):
        return person
    if TOTPDevice.objects.filter(user=person, confirmed=True).exists():
        return redirect("accounts:code")
    device = TOTPDevice.objects.filter(
        user=person, confirmed=False, pk=request.session.get("famhp_enrol_device")
    ).first()
    if device is None:
        device = totp_device_new(person)
        request.session["famhp_enrol_device"] = device.pk
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = totp_confirm(device=device, token=form.cleaned_data["token"].replace(" ", ""))
        except ValidationError as error:
            form.add_error("token", error.message_dict["token"])
        else:
            del request.session[PENDING]
            request.session.pop("famhp_enrol_device", None)
            target = _after_login(request, person)
            _complete_login(request, person, device)
            return render(
                request, "accounts/recovery_codes.html", {"codes": codes, "next": target, "staff": person.is_staff}
            )
    secret = b32encode(device.bin_key).decode()
    qr = segno.make(device.config_url, error="m").svg_inline(
        scale=4, title=_("QR code to scan with your authenticator app")
    )
    return render(request, "accounts/enrol.html", {"form": form, "qr": qr, "secret": secret})


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("home")


@require_POST
def logout_everywhere_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        logout_everywhere(person=request.user, actor=request.user)
    logout(request)
    return redirect("home")


class SetPasswordView(PasswordResetConfirmView):
    template_name = "accounts/set_password.html"
    success_url = reverse_lazy("accounts:password_login")
    post_reset_login = False
