"""Every login and failed login is recorded (issue 4), whatever path it took."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from famhp.accounts.models import AuditEvent, Person


@receiver(user_logged_in)
def record_login(sender: Any, request: HttpRequest, user: Person, **kwargs: Any) -> None:
    AuditEvent.objects.create(
        kind=AuditEvent.Kind.LOGIN,
        actor=user,
        person=user,
        detail={"backend": getattr(user, "backend", ""), "ip": request.META.get("REMOTE_ADDR", "")},
    )


@receiver(user_login_failed)
def record_failed_login(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    AuditEvent.objects.create(
        kind=AuditEvent.Kind.LOGIN_FAILED,
        detail={
            "username": str(credentials.get("username", ""))[:150],
            "ip": request.META.get("REMOTE_ADDR", "") if request is not None else "",
        },
    )
