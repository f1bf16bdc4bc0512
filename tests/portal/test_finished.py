"""The portal, finished (issue 13): FAQ 6 and 7 boxes, error summary, receipt and acknowledgement, my companies,
invoice statuses, how to pay, and the manager's users page."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from famhp.accounts.models import Access
from famhp.accounts.services import foreign_account_create
from famhp.billing.models import InvoiceKind
from famhp.declarations.models import Campaign, DeclarationVersion
from famhp.declarations.services import invitation_token
from famhp.payments.samples import Payment, camt053
from famhp.payments.services import statement_import
from tests.accounts.conftest import manager_of, person
from tests.portal.factories import belgian, campaign, declare, foreign, invoice_for, pdf, with_activity

pytestmark = pytest.mark.django_db


def invited(operator: Any, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.get(reverse("declarations:invitation", args=[invitation_token(campaign=campaign(), operator=operator)]))
    return client


def figures_url(operator: Any) -> str:
    return reverse("declarations:figures", args=[2025, operator.pk])


def confirm_url(operator: Any) -> str:
    return reverse("declarations:confirm", args=[2025, operator.pk])


CERTIFIED = {
    "certifier_name": "An Peeters",
    "certifier_capacity": "company_auditor",
    "certifier_membership_number": "A1234",
    "confirm": "on",
}


def test_belgian_amounts_go_through_the_form_and_the_threshold_is_written_the_belgian_way() -> None:
    operator = with_activity(belgian())
    client = invited(operator, "nl")
    response = client.post(figures_url(operator), {"total_turnover": "1.234.567,89", "levied_turnover": "1 000 000"})
    assert response.status_code == 302
    # ticking "below the threshold" above it: the threshold of 2025, 50,290.17 (RULES D4), written 50.290,17
    page = client.post(
        figures_url(operator), {"total_turnover": "60.000,00", "levied_turnover": "0", "below_threshold": "on"}
    ).content.decode()
    assert "50.290,17 euro" in page and "50290.17" not in page


def test_faq_6_below_the_threshold_the_box_is_asked_for_not_exemption_given_silently() -> None:
    operator = with_activity(belgian())
    client = invited(operator)
    # 30,000.00 < 50,290.17 (D4): the company must tick the box (FAQ 6)
    page = client.post(figures_url(operator), {"total_turnover": "30.000,00", "levied_turnover": "30.000,00"})
    html = page.content.decode()
    assert page.status_code == 200 and "tick this box to declare it (FAQ 6)" in html
    assert 'class="error-summary"' in html and 'href="#id_below_threshold"' in html
    ticked = client.post(
        figures_url(operator),
        {"total_turnover": "30.000,00", "levied_turnover": "30.000,00", "below_threshold": "on"},
    )
    assert ticked.status_code == 302


def test_faq_7_a_foreign_company_not_liable_ticks_the_box_only() -> None:
    operator = foreign(active=False)
    client = invited(operator)
    response = client.post(figures_url(operator), {"total_turnover": "0", "levied_turnover": "0", "not_liable": "on"})
    assert response.status_code == 302
    page = client.get(confirm_url(operator)).content.decode()
    assert "no certificate is needed (FAQ 7)" in page and 'name="certificate"' not in page
    submitted = client.post(confirm_url(operator), {"confirm": "on"})
    assert submitted.status_code == 302, submitted.content.decode()[-3000:]
    version = DeclarationVersion.objects.get()
    assert version.not_liable and not version.certificate and version.certifier_name == ""
    versions = client.get(submitted["Location"]).content.decode()
    assert "not liable: no certification (FAQ 7)" in versions


def test_errors_are_summarised_at_the_top_and_the_lost_upload_is_asked_again() -> None:
    operator = with_activity(belgian())
    client = invited(operator)
    client.post(figures_url(operator), {"total_turnover": "100.000,00", "levied_turnover": "100.000,00"})
    page = client.post(confirm_url(operator), {**CERTIFIED, "certifier_name": "", "certificate": pdf("mine.pdf")})
    html = page.content.decode()
    assert page.status_code == 200
    assert html.index('class="error-summary"') < html.index('<form method="post" enctype')
    assert 'href="#id_certifier_name"' in html and 'id="id_certifier_name_error"' in html
    assert 'aria-describedby="id_certifier_name_error"' in html
    assert "“mine.pdf” was received but could not be kept" in html
    assert DeclarationVersion.objects.count() == 0


def test_every_described_by_names_an_id_on_the_page() -> None:
    import re

    operator = with_activity(belgian())
    client = invited(operator)
    html = client.post(
        figures_url(operator), {"total_turnover": "1.000,00", "levied_turnover": "2.000,00", "below_threshold": "on"}
    ).content.decode()
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    described = {name for value in re.findall(r'aria-describedby="([^"]*)"', html) for name in value.split()}
    assert described and described <= ids


def test_the_submitted_page_and_the_acknowledgement_repeat_the_figures_and_the_estimate() -> None:
    operator = with_activity(belgian(language="fr"), role="manufacturer", category="MDR IIa")
    client = invited(operator, "fr")
    client.post(figures_url(operator), {"total_turnover": "100 000,00", "levied_turnover": "100 000,00"})
    mail.outbox.clear()
    response = client.post(confirm_url(operator), {**CERTIFIED, "certificate": pdf()})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    # 4 × 415.74 = 1,662.96 (D3); 100,000.00 × 0.3073 % = 307.30 (D5); total 1,970.26
    assert "1\u202f970,26\u00a0€" in page and "100\u202f000,00\u00a0€" in page and "An Peeters" in page
    [message] = mail.outbox
    assert message.to == [operator.contact_email] and message.extra_headers["Content-Language"] == "fr"
    assert "version 1" in message.subject and "1\u202f970,26\u00a0€" in message.body
    [(name, content, kind)] = message.attachments
    assert kind == "application/pdf" and content.startswith(b"%PDF-") and name.endswith("-v1.pdf")


def test_a_failed_acknowledgement_never_loses_the_declaration() -> None:
    operator = with_activity(belgian())
    client = invited(operator)
    client.post(figures_url(operator), {"total_turnover": "100.000,00", "levied_turnover": "100.000,00"})
    with mock.patch("famhp.declarations.services.receipt_pdf", side_effect=RuntimeError("no PDF today")):
        response = client.post(confirm_url(operator), {**CERTIFIED, "certificate": pdf()})
    assert response.status_code == 302
    assert DeclarationVersion.objects.count() == 1


def test_a_late_filing_is_explained() -> None:
    operator = with_activity(belgian())
    client = invited(operator)  # the test campaign's deadline, 30 June 2025, has passed
    page = client.get(figures_url(operator)).content.decode()
    assert "The deadline of 30 June 2025 has passed" in page
    declare(Campaign.objects.get(year=2025), operator, now=timezone.now())
    versions = client.get(reverse("declarations:versions", args=[2025, operator.pk])).content.decode()
    assert 'class="tag">late' in versions and "“Late” marks a version submitted after the deadline" in versions


def test_invoices_show_their_status_and_what_is_still_open() -> None:
    operator = belgian()
    unpaid = invoice_for(operator, "1662.96", year=2025, kind=InvoiceKind.ACTIVITY_TAX)
    paid = invoice_for(operator, "307.30", year=2025, kind=InvoiceKind.TURNOVER_LEVY, sequence=2)
    data = camt053([Payment(Decimal("307.30"), structured=paid.structured_communication)])
    statement_import(data=data, name="s.xml")
    boss = manager_of(operator, person("boss", "boss@b.be"))
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(boss, backend="famhp.accounts.oidc.PersonOIDCBackend")
    html = client.get(reverse("billing:invoices", args=[operator.pk])).content.decode()
    assert html.count(">unpaid<") == 1 and html.count(">paid<") == 1
    assert "1.662,96\u00a0€" in html and "0,00\u00a0€" in html  # open: 1,662.96 and 0.00
    statement = client.get(reverse("payments:statement", args=[operator.pk])).content.decode()
    assert "How to pay" in statement and "BE71096123456769" in statement
    assert unpaid.formatted_communication in statement and 'src="data:image/png;base64,' in statement
    assert paid.formatted_communication not in statement.split("How to pay")[1]
    # balance 1,662.96 + 307.30 − 307.30 = 1,662.96, interest 0.00 (not yet due on 31 Dec 2025? the test's
    # invoices fall due on 31 Dec 2025; interest parameters unconfirmed show none): total 1,662.96
    assert 'id="total-due"><strong>1.662,96\u00a0€' in statement


def test_my_companies_shows_status_balance_and_next_deadline() -> None:
    operator = with_activity(belgian())
    c = campaign()
    boss = manager_of(operator, person("boss", "boss@b.be"))
    invoice_for(operator, "415.74", year=2024, due=datetime.date(2024, 12, 31))
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(boss, backend="famhp.accounts.oidc.PersonOIDCBackend")
    html = client.get(reverse("accounts:companies")).content.decode()
    assert "not declared yet" in html and "415,74\u00a0€" in html and "1 invoice to pay" in html
    # the overdue invoice comes first: due 31 December 2024
    assert "31 December 2024" in html and "overdue" in html
    declare(c, operator)
    html = client.get(reverse("accounts:companies")).content.decode()
    assert "version 1 submitted on" in html


def test_grant_and_revoke_are_confirmed_announced_and_mailed() -> None:
    operator = belgian(language="en")  # the e-mails speak the company's language
    boss = manager_of(operator, person("boss", "boss@b.be"))
    clerk = person("clerk", "clerk@b.be")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(boss, backend="famhp.accounts.oidc.PersonOIDCBackend")
    users = reverse("accounts:company_users", args=[operator.pk])
    grant = {"action": "grant", "grant-email": "clerk@b.be", "grant-role": "enterprise_user"}
    asked = client.post(users, grant)
    assert asked.status_code == 200 and "Please confirm" in asked.content.decode()
    assert not Access.objects.filter(email="clerk@b.be").exists()  # nothing before the confirmation
    mail.outbox.clear()
    done = client.post(users, {**grant, "confirmed": "yes"}, follow=True)
    assert "Access granted to clerk@b.be" in done.content.decode()
    assert [m.to for m in mail.outbox] == [["clerk@b.be"]]
    access = Access.objects.get(email="clerk@b.be")
    access.person = clerk
    access.save()
    revoke = reverse("accounts:access_revoke", args=[operator.pk, access.pk])
    assert "Please confirm" in client.post(revoke).content.decode()
    access.refresh_from_db()
    assert access.revoked_at is None
    mail.outbox.clear()
    done = client.post(revoke, {"confirmed": "yes"}, follow=True)
    assert "The access of clerk@b.be is revoked" in done.content.decode()
    assert [m.to for m in mail.outbox] == [["clerk@b.be"]] and "revoked" in mail.outbox[0].subject


def test_a_new_account_is_not_active_before_its_password_and_its_link_is_only_mailed() -> None:
    operator = foreign()
    boss = manager_of(operator, person("boss", "boss@o.example"))
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(boss, backend="famhp.accounts.oidc.PersonOIDCBackend")
    users = reverse("accounts:company_users", args=[operator.pk])
    mail.outbox.clear()
    done = client.post(
        users, {"action": "account", "account-username": "jane", "account-email": "jane@o.example"}, follow=True
    )
    html = done.content.decode()
    [message] = mail.outbox
    link = next(word for word in message.body.split() if word.startswith("http"))
    assert link not in html and "we e-mailed jane@o.example the link" in html
    row = next(r for r in html.split("<tbody>")[1].split("</tr>") if "jane@o.example" in r)
    assert "has not yet set the password" in row and ">active<" not in row
    assert "Reset authenticator" not in row  # no authenticator yet: nothing to reset


def test_authenticator_reset_only_where_one_exists() -> None:
    operator = foreign()
    boss = manager_of(operator, person("boss", "boss@o.example"))
    jane, _link = foreign_account_create(operator=operator, username="jane", email="jane@o.example", created_by=boss)
    access = Access.objects.get(person=jane)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(boss, backend="famhp.accounts.oidc.PersonOIDCBackend")
    done = client.post(
        reverse("accounts:authenticator_reset", args=[operator.pk, access.pk]), {"confirmed": "yes"}, follow=True
    )
    assert "has no authenticator app to reset" in done.content.decode()


def test_one_wrong_authenticator_code_then_the_right_one_at_once_logs_in() -> None:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tests.accounts.conftest import totp_code

    operator = with_activity(foreign())
    hans = manager_of(operator, person("hans", "hans@orthotec.example"))
    device = TOTPDevice.objects.create(user=hans, name="app", confirmed=True)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    login = client.post(
        reverse("accounts:password_login"), {"username": "hans", "password": "correct horse battery staple"}
    )
    assert login["Location"] == reverse("accounts:code")
    wrong = client.post(reverse("accounts:code"), {"token": "000000" if totp_code(device) != "000000" else "111111"})
    assert "This code is not valid" in wrong.content.decode() and "Too many attempts" not in wrong.content.decode()
    right = client.post(reverse("accounts:code"), {"token": totp_code(device)})  # at once, no waiting
    assert right.status_code == 302
    assert operator.name in client.get(reverse("accounts:companies")).content.decode()
