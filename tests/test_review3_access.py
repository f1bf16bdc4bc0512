"""Review 3: access rules that must hold twice in a row and twice at once."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from famhp.accounts.models import Access, AccessRole
from famhp.accounts.services import access_revoke
from tests.accounts.conftest import manager_of, person
from tests.portal.factories import belgian
from tests.test_review3_money import POSTGRESQL, at_once


def _two_managers() -> tuple[Access, Access]:
    company = belgian("Managers NV")
    first = manager_of(company, person("first", "first@managers.example"))
    second = manager_of(company, person("second", "second@managers.example"))
    return Access.objects.get(person=first), Access.objects.get(person=second)


@pytest.mark.django_db
def test_a_company_keeps_one_main_access_manager_twice_in_a_row() -> None:
    first, second = _two_managers()
    access_revoke(access=second, revoked_by=first.person)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="at least one main access manager"):
        access_revoke(access=first, revoked_by=first.person)  # type: ignore[arg-type]
    with pytest.raises(PermissionDenied):  # a revoked manager manages nothing any more
        access_revoke(access=first, revoked_by=second.person)  # type: ignore[arg-type]
    assert list(Access.objects.filter(role=AccessRole.MANAGER, revoked_at=None)) == [first]


@POSTGRESQL
@pytest.mark.django_db(transaction=True)
def test_two_managers_revoking_each_other_at_once_leave_one() -> None:
    """FAQ 23, the service's own rule: a company keeps at least one main access manager, also when its two
    managers revoke each other at the same moment."""
    first, second = _two_managers()
    results, errors = at_once(
        lambda: access_revoke(access=second, revoked_by=first.person),  # type: ignore[arg-type]
        lambda: access_revoke(access=first, revoked_by=second.person),  # type: ignore[arg-type]
    )
    assert len(results) == 1 and len(errors) == 1, errors
    assert isinstance(errors[0], PermissionDenied | ValidationError)
    assert Access.objects.filter(role=AccessRole.MANAGER, revoked_at=None).count() == 1
    assert connection.vendor == "postgresql"
