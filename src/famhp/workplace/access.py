"""Who enters the workplace, and what each page needs (issue 12, docs/roles.md).

The workplace is the admin's sibling: the same door (staff, after the second factor: ``StaffAdminSite.
has_permission``, issue 10) and the same role matrix. Each page names what it needs: a model's view permission
to read (every role reads everything), a staff permission (``accounts.<codename>``) to act. Without it: 403.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse

View = Callable[..., HttpResponseBase]


def staff_page(*permissions: str) -> Callable[[View], View]:
    """Only for staff after the second factor, holding every one of ``permissions`` (full names such as
    ``"billing.view_invoice"`` or ``"accounts.issue_invoices"``)."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            user = request.user
            if user.is_authenticated and not user.is_staff:
                raise PermissionDenied  # a company's user: the workplace is not its door
            if not admin.site.has_permission(request):
                # the admin's login sends staff to the password and authenticator steps, then back here
                return redirect(f"{reverse('admin:login')}?{urlencode({'next': request.get_full_path()})}")
            if not all(request.user.has_perm(permission) for permission in permissions):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        guarded.permissions = permissions  # type: ignore[attr-defined]
        return guarded

    return decorate


def may(request: HttpRequest, codename: str) -> bool:
    """Whether the staff member holds ``accounts.<codename>`` (to show an action's button)."""
    return bool(request.user.has_perm(f"accounts.{codename}"))
