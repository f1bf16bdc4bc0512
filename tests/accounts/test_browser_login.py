"""Logging in, in a real Chromium: password and authenticator app (TOTP) for a company established abroad, OpenID
Connect (eID or itsme; here oidc-provider-mock on loopback) for Belgian ones, and a main access manager granting
and revoking the contributions access."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyotp
import pytest
from django.core import mail
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from famhp.accounts.models import Access, AccessRole, AuditEvent, OidcIdentity, Person
from famhp.accounts.selectors import OIDC_BACKEND
from famhp.accounts.services import access_grant, foreign_account_create
from famhp.declarations.models import DeclarationVersion
from tests.accounts.oidc_provider import oidc_provider
from tests.browser import BROWSER, serious_violations
from tests.portal.factories import PDF, belgian, campaign, foreign, with_activity

pytestmark = BROWSER

PASSWORD = "Blue-Heron-Quarry-4821"
FIGURE_1 = "Total annual turnover of medical devices in Belgium (euro)"
FIGURE_2 = "Annual turnover from the sale and supply of medical devices to retailers and end users in Belgium (euro)"
CODE = "Code from your authenticator app, or a recovery code"
ENROL_CODE = "Six-digit code from your authenticator app"
SUPPORT_EMAIL = "support.portal@fagg-afmps.be"
SOFIE = "sofie.janssens@example.be"
#: Predefined users of the OpenID Connect provider: (subject, claims).
MANAGER = ("manager-1", {"email": "jan.maes@example.be", "given_name": "Jan", "family_name": "Maes"})
USER = ("user-2", {"email": SOFIE, "given_name": "Sofie", "family_name": "Janssens"})


def oidc_login(page: Any, live_server: Any, issuer: str, sub: str, *, typed: bool = False) -> None:
    """From the portal's login page through the mock's authorization page, back to "My companies"."""
    page.goto(live_server.url + reverse("accounts:login"))
    page.get_by_role("link", name="Log in with eID or itsme").click()
    page.wait_for_url(f"{issuer}/oauth2/authorize?*")
    if typed:
        page.get_by_placeholder("sub").fill(sub)
        page.get_by_role("button", name="Authorize").click()
    else:  # a predefined user: one button per subject
        page.get_by_role("button", name=sub, exact=True).click()
    page.wait_for_url(live_server.url + reverse("accounts:companies"))
    assert page.locator("h1").inner_text() == "My companies"


def password_login(page: Any, live_server: Any, username: str) -> None:
    page.goto(live_server.url + reverse("accounts:login"))
    page.get_by_role("link", name="Log in with a password and code").click()
    page.wait_for_url("**/login/password/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Next").click()


def log_out(page: Any, live_server: Any) -> None:
    page.get_by_role("navigation", name="Account").get_by_role("button", name="Log out", exact=True).click()
    page.wait_for_url(live_server.url + "/")
    assert page.get_by_role("navigation", name="Account").get_by_role("link", name="Log in").is_visible()


def companies_listed(page: Any) -> str:
    return str(page.get_by_role("table", name="Companies that granted you the contributions access").inner_text())


def declare(page: Any, certificate: Path) -> None:
    """From the figures page of a declaration to its submitted first version."""
    page.get_by_label(FIGURE_1).fill("100000.00")
    page.get_by_label(FIGURE_2).fill("100000.00")
    page.get_by_role("button", name="Next: see my estimate").click()
    page.wait_for_url("**/confirm/")
    page.get_by_label("Name of the company auditor or accountant").fill("An Peeters")
    page.get_by_label("Capacity").select_option("company_auditor")
    page.get_by_label("Signed certificate (PDF, at most 5 MB)").set_input_files(str(certificate))
    page.get_by_label("I confirm that these figures are correct and certified.").check()
    page.get_by_role("button", name="Submit my declaration").click()
    page.wait_for_url("**/versions/?submitted=1")
    assert "version 1" in page.get_by_role("status").inner_text()


def wait_until_codes_are_checked(person: Person, *, later_time_step: bool = False, timeout: float = 75.0) -> None:
    """django-otp throttles every device of a person for 2^(n-1) seconds after n failed codes (a failed code
    counts against each device it was tried on, recovery codes included), and refuses a code of a time step
    it already accepted: wait for the throttles to lift and, if asked, for a later 30-second time step."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        totp = TOTPDevice.objects.get(user=person, confirmed=True)
        devices = [totp, *StaticDevice.objects.filter(user=person)]
        later = (int(time.time()) - totp.t0) // totp.step > totp.last_t
        if all(device.verify_is_allowed()[0] for device in devices) and (later or not later_time_step):
            return
        time.sleep(0.25)
    raise AssertionError("the authenticator never became ready for a new code")


@pytest.mark.django_db(transaction=True)
def test_totp_enrolment_then_login_with_a_recovery_code_and_a_later_code(browser: Any, live_server: Any) -> None:
    operator = with_activity(foreign("Orthotec GmbH"))
    person, link = foreign_account_create(
        operator=operator,
        username="k.weber",
        email="k.weber@orthotec.example",
        created_by=None,
        role=AccessRole.MANAGER,
    )
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    checked: dict[str, list[str]] = {}

    # The link carries FAMHP_BASE_URL (the tests' http://testserver): its path on the live server.
    page.goto(live_server.url + urlsplit(link).path)
    assert page.locator("h1").inner_text() == "Choose your password"
    page.get_by_label(re.compile(r"^New password(?! confirmation)")).fill(PASSWORD)
    page.get_by_label("New password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Save my password").click()
    page.wait_for_url(live_server.url + reverse("accounts:password_login"))

    # First login: password, then the enrolment of an authenticator app.
    page.get_by_label("Username").fill("k.weber")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(live_server.url + reverse("accounts:enrol"))
    assert page.locator("h1").inner_text() == "Set up your authenticator app"
    assert page.get_by_role("img", name="QR code to scan with your authenticator app").is_visible()
    checked["enrolment"] = serious_violations(page)
    secret = page.locator("#totp-secret").inner_text().strip()
    enrolment_code = pyotp.TOTP(secret).now()
    page.get_by_label(ENROL_CODE).fill(enrolment_code)
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("heading", name="Your recovery codes").wait_for()
    assert page.get_by_role("status").inner_text() == "Your authenticator app is set up."
    recovery_codes = page.locator("ul.codes code").all_inner_texts()
    assert len(recovery_codes) == 10 and len(set(recovery_codes)) == 10, recovery_codes
    assert TOTPDevice.objects.filter(user=person, confirmed=True).count() == 1
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.TOTP_ENROLLED, person=person).count() == 1

    page.get_by_role("link", name="Continue to my companies").click()
    page.wait_for_url(live_server.url + reverse("accounts:companies"))
    assert "Orthotec GmbH" in companies_listed(page)
    assert page.get_by_role("link", name="Manage the users of Orthotec GmbH").is_visible()
    checked["companies"] = serious_violations(page)
    log_out(page, live_server)
    page.goto(live_server.url + reverse("accounts:companies"))
    page.wait_for_url("**/login/?next=/companies/")

    # Second login: the enrolment's code again is a replay (its time step is used up); a recovery code works once.
    password_login(page, live_server, "k.weber")
    page.wait_for_url(live_server.url + reverse("accounts:code"))
    page.get_by_label(CODE).fill(enrolment_code)
    page.get_by_role("button", name="Log in").click()
    assert "This code is not valid" in page.get_by_role("alert").inner_text()
    assert page.get_by_label(CODE).get_attribute("aria-invalid") == "true"
    wait_until_codes_are_checked(person)  # the refused code throttled the recovery codes too, for a second
    page.get_by_label(CODE).fill(recovery_codes[0])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_server.url + reverse("accounts:companies"))
    assert "Orthotec GmbH" in companies_listed(page)
    assert StaticToken.objects.filter(device__user=person).count() == 9
    assert not StaticToken.objects.filter(device__user=person, token=recovery_codes[0]).exists()
    log_out(page, live_server)

    # Third login: a code of a later time step.
    wait_until_codes_are_checked(person, later_time_step=True)
    password_login(page, live_server, "k.weber")
    page.wait_for_url(live_server.url + reverse("accounts:code"))
    page.get_by_label(CODE).fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_server.url + reverse("accounts:companies"))
    assert "Orthotec GmbH" in companies_listed(page)
    context.close()

    logins = AuditEvent.objects.filter(kind=AuditEvent.Kind.LOGIN, person=person)
    assert logins.count() == 3
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.LOGIN_FAILED, detail__username="k.weber").count() == 1
    assert checked == {name: [] for name in checked}, checked


@pytest.mark.django_db(transaction=True)
def test_oidc_login_binds_the_pending_access_and_opens_the_declaration(browser: Any, live_server: Any) -> None:
    operator = with_activity(belgian("Medilab NV", language="en"))
    campaign()
    access = access_grant(
        operator=operator,
        email="an.peeters@example.be",
        role=AccessRole.ENTERPRISE_USER,
        granted_by=None,
        subject="belgian-1",
    )
    assert access.person is None  # pending: bound at the first federal login of this subject
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    an = {"email": "an.peeters@example.be", "given_name": "An", "family_name": "Peeters"}

    with oidc_provider(("belgian-1", an)) as issuer:
        oidc_login(page, live_server, issuer, "belgian-1", typed=True)
        assert "Medilab NV" in companies_listed(page)
        assert "Logged in as An Peeters" in page.get_by_role("main").inner_text()
        assert page.get_by_role("link", name="Manage the users of Medilab NV").count() == 0
        assert serious_violations(page) == []

    identity = OidcIdentity.objects.select_related("person").get(subject="belgian-1")
    assert identity.issuer == issuer
    person = identity.person
    assert (person.email, person.first_name, person.last_name) == ("an.peeters@example.be", "An", "Peeters")
    assert not person.has_usable_password()
    access.refresh_from_db()
    assert access.person == person
    login = AuditEvent.objects.get(kind=AuditEvent.Kind.LOGIN, person=person)
    assert login.actor == person and login.detail["backend"] == OIDC_BACKEND

    # Logged in through the federal authentication service, the person may declare for the company.
    page.get_by_role("link", name="Declaration 2025 of Medilab NV").click()
    page.wait_for_url(live_server.url + reverse("declarations:figures", args=[2025, operator.pk]))
    assert page.locator("h1").inner_text() == "Turnover declaration 2025"
    assert page.get_by_label(FIGURE_1).is_editable()
    assert page.get_by_label(FIGURE_2).is_editable()
    assert page.get_by_role("button", name="Next: see my estimate").is_visible()
    context.close()


@pytest.mark.django_db(transaction=True)
def test_a_manager_grants_a_user_who_declares_then_revokes_the_access(
    browser: Any, live_server: Any, tmp_path: Path
) -> None:
    operator = with_activity(belgian("Medilab NV", language="en"))
    campaign()
    access_grant(
        operator=operator, email=MANAGER[1]["email"], role=AccessRole.MANAGER, granted_by=None, subject=MANAGER[0]
    )
    certificate = tmp_path / "certificate.pdf"
    certificate.write_bytes(PDF)
    figures_url = live_server.url + reverse("declarations:figures", args=[2025, operator.pk])

    with oidc_provider(MANAGER, USER) as issuer:
        # The main access manager grants the contributions access to an e-mail address.
        manager_context = browser.new_context(locale="en-GB")
        manager_page = manager_context.new_page()
        oidc_login(manager_page, live_server, issuer, "manager-1")
        manager_page.get_by_role("link", name="Manage the users of Medilab NV").click()
        manager_page.wait_for_url(live_server.url + reverse("accounts:company_users", args=[operator.pk]))
        manager_page.get_by_label("E-mail address of the person").fill(SOFIE)
        manager_page.get_by_label("Role").select_option(label="Enterprise User")
        manager_page.get_by_role("button", name="Grant access").click()
        manager_page.get_by_role("button", name="Yes, confirm").click()  # issue 13: asked once more
        manager_page.wait_for_url(live_server.url + reverse("accounts:company_users", args=[operator.pk]))
        row = manager_page.get_by_role("row").filter(has_text=SOFIE)
        assert "Enterprise User" in row.inner_text()
        assert "not yet opened" in row.inner_text()
        assert serious_violations(manager_page) == []
        log_out(manager_page, live_server)

        # The user logs in for the first time, opens the link mailed to her address, and declares.
        link = re.search(r"https?://\S+/access/\S+/", str(mail.outbox[-1].body))
        assert link is not None and mail.outbox[-1].to == [SOFIE]
        user_context = browser.new_context(locale="en-GB")
        page = user_context.new_page()
        oidc_login(page, live_server, issuer, "user-2")
        page.goto(live_server.url + urlsplit(link.group(0)).path)
        page.get_by_role("button", name="Receive the access").click()
        page.wait_for_url(live_server.url + reverse("accounts:companies"))
        assert "Medilab NV" in companies_listed(page)
        assert page.get_by_role("link", name="Manage the users of Medilab NV").count() == 0
        page.get_by_role("link", name="Declaration 2025 of Medilab NV").click()
        page.wait_for_url(figures_url)
        declare(page, certificate)
        assert page.locator("table.stack tbody tr").count() == 1
        assert DeclarationVersion.objects.get().declaration.operator == operator
        page.get_by_role("link", name="Correct my declaration").click()
        page.wait_for_url(figures_url)

        # The manager logs in again and revokes the access.
        oidc_login(manager_page, live_server, issuer, "manager-1")
        manager_page.get_by_role("link", name="Manage the users of Medilab NV").click()
        manager_page.wait_for_url(live_server.url + reverse("accounts:company_users", args=[operator.pk]))
        row = manager_page.get_by_role("row").filter(has_text=SOFIE)
        assert "Sofie Janssens" in row.inner_text() and "active" in row.inner_text()
        row.get_by_role("button", name=f"Revoke the access of {SOFIE}").click()
        manager_page.get_by_role("button", name="Yes, confirm").click()
        manager_page.wait_for_url(live_server.url + reverse("accounts:company_users", args=[operator.pk]))
        row = manager_page.get_by_role("row").filter(has_text=SOFIE)
        assert "revoked on" in row.inner_text()
        manager_context.close()

        # The user, still logged in, is refused at once.
        response = page.reload()
        assert response is not None and response.status == 403
        assert page.locator("h1").inner_text() == "Access refused"
        assert page.get_by_role("main").get_by_role("link", name=SUPPORT_EMAIL).is_visible()
        user_context.close()

    sofie = Person.objects.get(identities__subject="user-2")
    revoked = Access.objects.get(operator=operator, email=SOFIE)
    assert revoked.person == sofie and revoked.revoked_at is not None
    assert revoked.granted_by == revoked.revoked_by == Person.objects.get(identities__subject="manager-1")


# Two application bugs the browser found, fixed since: who submitted, and each company's role.


@pytest.mark.django_db(transaction=True)
def test_a_declaration_submitted_when_logged_in_records_who_submitted_it(
    browser: Any, live_server: Any, tmp_path: Path
) -> None:
    operator = with_activity(belgian("Medilab NV", language="en"))
    campaign()
    access_grant(operator=operator, email=SOFIE, role=AccessRole.ENTERPRISE_USER, granted_by=None, subject=USER[0])
    certificate = tmp_path / "certificate.pdf"
    certificate.write_bytes(PDF)
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    with oidc_provider(USER) as issuer:
        oidc_login(page, live_server, issuer, "user-2")
    page.get_by_role("link", name="Declaration 2025 of Medilab NV").click()
    page.wait_for_url(live_server.url + reverse("declarations:figures", args=[2025, operator.pk]))
    declare(page, certificate)
    context.close()
    submitted_by = DeclarationVersion.objects.get().submitted_by
    assert SOFIE in submitted_by or "Sofie Janssens" in submitted_by, submitted_by


@pytest.mark.django_db(transaction=True)
def test_a_main_access_manager_is_not_called_an_enterprise_user(browser: Any, live_server: Any) -> None:
    operator = with_activity(belgian("Medilab NV", language="en"))
    access_grant(
        operator=operator, email=MANAGER[1]["email"], role=AccessRole.MANAGER, granted_by=None, subject=MANAGER[0]
    )
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    with oidc_provider(MANAGER) as issuer:
        oidc_login(page, live_server, issuer, "manager-1")
    assert page.get_by_role("link", name="Manage the users of Medilab NV").is_visible()
    greeting = page.get_by_role("main").get_by_text("Logged in as").inner_text()
    context.close()
    assert "Jan Maes" in greeting
    assert "Enterprise User" not in greeting, greeting


@pytest.mark.django_db(transaction=True)
def test_staff_log_in_with_a_code_and_the_admin_works_under_the_content_security_policy(
    browser: Any, live_server: Any
) -> None:
    from famhp.accounts.roles import FINANCE_OFFICER, agency_roles_setup

    operator = with_activity(belgian("Medilab NV", language="en"))
    officer = Person.objects.create_user(
        "officer", email="officer@fagg-afmps.example", password=PASSWORD, is_staff=True
    )
    officer.groups.add(agency_roles_setup()[FINANCE_OFFICER])
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    blocked: list[str] = []
    page.on(
        "console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None
    )

    # The admin's address sends to the portal's login; the password alone leads to the authenticator step.
    page.goto(live_server.url + reverse("admin:registry_operator_changelist"))
    page.wait_for_url(re.compile(r".*/login/password/\?next=.*"))
    page.get_by_label("Username").fill("officer")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Next").click()
    page.wait_for_url(live_server.url + reverse("accounts:enrol"))
    secret = page.locator("#totp-secret").inner_text().strip()
    page.get_by_label(ENROL_CODE).fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("link", name="Continue to the agency's back office").click()
    page.wait_for_url(live_server.url + reverse("admin:registry_operator_changelist"))

    # The admin's scripts run: the action bar counts the selection, the change form's inline adds a row.
    page.locator("input.action-select").first.check()
    page.locator(".action-counter").filter(has_text="1 of").wait_for()
    page.goto(live_server.url + reverse("admin:registry_operator_change", args=[operator.pk]))
    rows = page.locator("#activities-group tbody tr.form-row")
    before = rows.count()
    page.locator("#activities-group .add-row a").click()
    assert rows.count() == before + 1
    context.close()
    assert blocked == []
