"""Schemathesis against the API's own OpenAPI schema, through the Django WSGI application, with a valid
read-write token (an agency token for the agency's endpoints): no server error, and no answer that breaks the
schema (status code, content type, body).

Each operation of the schema gets its own bounded Hypothesis run. Half of the generated cases are pointed at
the caller's own company, year and invoice (by the parity of the generated id), so that the fuzzing reaches
past the 404 of unknown objects into the checks of real ones. Within a minute on two cores.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from famhp.accounts.models import AuditEvent
from famhp.accounts.roles import AUDITOR
from famhp.api.services import TOKEN_USED, token_create
from tests.accounts.conftest import staff
from tests.api.conftest import IN_A_YEAR, World

pytestmark = pytest.mark.django_db
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 10


@pytest.fixture
def connections_kept() -> Iterator[None]:
    """As Django's test client does: a request's end must not close the test's connection (its transaction holds
    the test data; on PostgreSQL a request inside it would close it)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_the_api_keeps_to_its_schema(world: World, settings: Any, connections_kept: None) -> None:
    settings.FAMHP_API_RATE = "1000000/min"
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", get_wsgi_application())
    own = {"company": world.a.pk, "year": 2025, "pk": world.a_invoice.pk}
    _row, agency = token_create(
        person=staff("audrey", AUDITOR), name="audit", companies=[], read_write=False, agency=True, expires_on=IN_A_YEAR
    )
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 15

    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: Any) -> None:
            for name, value in own.items():
                if name in (case.path_parameters or {}) and int(case.path_parameters[name]) % 2 == 0:
                    case.path_parameters[name] = value
            token = agency if "/agency/" in case.path else world.token  # the agency's reads with an agency token
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

        run()
    # every operation was called, many times (each call through the token is in the audit log)
    assert AuditEvent.objects.filter(kind=TOKEN_USED).count() >= 5 * len(operations)


def test_stateful_links_from_lists_to_their_objects(world: World, settings: Any, connections_kept: None) -> None:
    """Stateful: schemathesis follows the links it infers (my companies → their invoices, statement and
    declarations; an invoice → its PDF and UBL) with the ids the API really answered."""
    settings.FAMHP_API_RATE = "1000000/min"
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", get_wsgi_application())
    machine = schema.as_state_machine()
    token = world.token

    class Workflow(machine):  # type: ignore[misc,valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": {"Authorization": f"Bearer {token}"}}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS)

    assert len([name for name in dir(Workflow) if name.startswith("GET_api_v1_companies___200")]) >= 3
    Workflow.run(
        settings=hypothesis_settings(
            max_examples=20,
            stateful_step_count=4,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
    )
