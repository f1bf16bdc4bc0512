"""The portal's addresses. Each group keeps the namespace it had when the pages lived in the domain apps
(accounts:, declarations:, billing:, payments:), so templates, e-mails and tests reverse the same names."""

from django.urls import include, path

from famhp.portal import companies, declarations, invoices, login, pages, statement

accounts_patterns = [
    path("login/", login.login_choice, name="login"),
    path("login/password/", login.password_login, name="password_login"),
    path("login/code/", login.code, name="code"),
    path("login/enrol/", login.enrol, name="enrol"),
    path("logout/", login.logout_view, name="logout"),
    path("logout/everywhere/", login.logout_everywhere_view, name="logout_everywhere"),
    path("account/set-password/<uidb64>/<token>/", login.SetPasswordView.as_view(), name="set_password"),
    path("access/<str:token>/", companies.claim, name="claim"),
    path("companies/", companies.companies, name="companies"),
    path("companies/<int:operator_id>/users/", companies.company_users, name="company_users"),
    path(
        "companies/<int:operator_id>/users/<int:access_id>/revoke/",
        companies.access_revoke_view,
        name="access_revoke",
    ),
    path(
        "companies/<int:operator_id>/users/<int:access_id>/reset-authenticator/",
        companies.authenticator_reset_view,
        name="authenticator_reset",
    ),
]

declarations_patterns = [
    path("invitation/<str:token>/", declarations.invitation, name="invitation"),
    path("declarations/<int:year>/<int:operator_id>/", declarations.figures, name="figures"),
    path("declarations/<int:year>/<int:operator_id>/confirm/", declarations.confirm, name="confirm"),
    path("declarations/<int:year>/<int:operator_id>/versions/", declarations.versions, name="versions"),
    path("declarations/versions/<int:pk>/certificate/", declarations.certificate, name="certificate"),
]

billing_patterns = [
    path("companies/<int:operator_id>/invoices/", invoices.invoices, name="invoices"),
    path("invoices/<int:pk>/pdf/", invoices.invoice_pdf_view, name="invoice_pdf"),
    path("invoices/<int:pk>/ubl/", invoices.invoice_ubl_view, name="invoice_ubl"),
]

payments_patterns = [
    path("companies/<int:operator_id>/account/", statement.statement, name="statement"),
    path("companies/<int:operator_id>/account/pdf/", statement.statement_pdf, name="statement_pdf"),
]

urlpatterns = [
    path("", pages.home, name="home"),
    path("", include((accounts_patterns, "accounts"))),
    path("", include((declarations_patterns, "declarations"))),
    path("", include((billing_patterns, "billing"))),
    path("", include((payments_patterns, "payments"))),
]
