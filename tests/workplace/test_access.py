"""Who reaches the workplace: staff after the second factor, each page and action by the role matrix."""

from __future__ import annotations

import pytest
from django.test import Client

from famhp.accounts.roles import AUDITOR, FINANCE_OFFICER, SUPPORT
from tests.accounts.conftest import person, staff, staff_client
from tests.portal.factories import belgian, campaign, with_activity

pytestmark = pytest.mark.django_db


@pytest.fixture
def year() -> int:
    campaign(2025)
    with_activity(belgian("Alpha NV"), role="manufacturer", category="MDR IIa")
    return 2025


def test_a_visitor_is_sent_to_the_staff_login(year: int) -> None:
    response = Client().get("/workplace/2025/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_staff_without_the_second_factor_does_not_see_the_workplace(year: int) -> None:
    member = staff("half-logged", FINANCE_OFFICER)
    client = Client()
    client.force_login(member, backend="django.contrib.auth.backends.ModelBackend")  # password only
    response = client.get("/workplace/2025/")
    assert response.status_code == 302
    assert "Dashboard" not in response.content.decode()


@pytest.mark.parametrize(
    ("role", "invitations", "notices", "run"),
    [(FINANCE_OFFICER, 200, 200, 302), (AUDITOR, 403, 403, 403), (SUPPORT, 200, 403, 403)],
)
def test_each_role_reads_everything_and_acts_by_the_matrix(
    year: int, role: str, invitations: int, notices: int, run: int
) -> None:
    client = staff_client(staff(f"m-{role}", role))
    for url in (
        "/workplace/2025/",
        "/workplace/lists/operators/",
        "/workplace/lists/invoices/",
        "/workplace/2025/runs/",
    ):
        assert client.get(url).status_code == 200, url
    assert client.get("/workplace/2025/actions/invitations/").status_code == invitations
    assert client.get("/workplace/2025/actions/notices/").status_code == notices
    assert client.post("/workplace/2025/runs/new/").status_code == run


def test_an_unknown_action_or_list_is_not_found(year: int) -> None:
    client = staff_client(staff("officer", FINANCE_OFFICER))
    assert client.get("/workplace/2025/actions/delete_everything/").status_code == 404
    assert client.get("/workplace/lists/secrets/").status_code == 404


def workplace_patterns() -> list[str]:
    from django.urls import URLPattern, URLResolver, get_resolver

    names = []
    for entry in get_resolver().url_patterns:
        if isinstance(entry, URLResolver) and entry.namespace == "workplace":
            names += [f"workplace:{p.name}" for p in entry.url_patterns if isinstance(p, URLPattern)]
    return sorted(names)


def test_a_company_user_is_refused_every_workplace_page(year: int) -> None:
    from django.urls import reverse

    from famhp.billing.models import AssessmentRun
    from famhp.declarations.models import DeclarationVersion
    from famhp.registry.models import Operator
    from famhp.workplace.models import BankImport, MassAction

    operator = Operator.objects.get()
    arguments: dict[str, list[object]] = {
        "workplace:dashboard": [],
        "workplace:dashboard_year": [2025],
        "workplace:operator": [operator.pk],
        "workplace:resend": [operator.pk, 2025],
        "workplace:correct": [operator.pk, 2025],
        "workplace:credit": [1],
        "workplace:list": ["operators"],
        "workplace:runs": [2025],
        "workplace:run_assessment": [2025],
        "workplace:run": [1],
        "workplace:closing": [2025],
        "workplace:settings": [2025],
        "workplace:settings_edit": [2025],
        "workplace:settings_prepare": [2025],
        "workplace:settings_campaign": [2025],
        "workplace:whatif": [2025],
        "workplace:whatif_save": [2025],
        "workplace:action": [2025, "invitations"],
        "workplace:progress": [1],
        "workplace:result": [1],
        "workplace:resume": [1],
        "workplace:certificate": [1],
        "workplace:bank_import": [],
        "workplace:bank_import_progress": [1],
        "workplace:bank_import_result": [1],
        "workplace:bank_import_again": [1],
        "workplace:bank_duplicates": [1],
        "workplace:bank_queue": [],
        "workplace:bank_line": [1],
        "workplace:bank_allocate": [1],
        "workplace:bank_handled": [1],
        "workplace:bank_refunds": [],
        "workplace:bank_refund_record": [],
        "workplace:bank_refunds_export": [],
        "workplace:bank_refund_cancel": [1],
        "workplace:bank_export_sent": [1],
        "workplace:bank_export_file": [1],
    }
    assert sorted(arguments) == workplace_patterns()  # a new page must be added here
    company = Client()
    company.force_login(person("boss", "boss@medilab.example"), backend="django.contrib.auth.backends.ModelBackend")
    for name, args in arguments.items():
        for method in ("get", "post"):
            response = getattr(company, method)(reverse(name, args=args))
            assert response.status_code in {403, 405}, (name, method, response.status_code)
            assert "Alpha" not in response.content.decode(errors="replace")
    assert not AssessmentRun.objects.exists() and not MassAction.objects.exists() and not BankImport.objects.exists()
    assert not DeclarationVersion.objects.exists()
