"""The API under /api/v1/ (its schema and docs page too), and the portal's pages for tokens and bulk uploads."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

import famhp.converters  # noqa: F401 - registers the id and year converters
from famhp.api import agency, portal, views
from famhp.api.problems import not_found

app_name = "api"
urlpatterns = [
    path("v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    # the docs page loads its script from its own address: no inline script under the Content-Security-Policy
    path(
        "v1/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api:schema", template_name="api/swagger_ui.html"),
        name="docs",
    ),
    path("v1/companies/", views.Companies.as_view(), name="companies"),
    path("v1/campaigns/", views.Campaigns.as_view(), name="campaigns"),
    path("v1/companies/<id:company>/declarations/<year:year>/", views.DeclarationView.as_view(), name="declaration"),
    path("v1/companies/<id:company>/declarations/<year:year>/estimate/", views.Estimate.as_view(), name="estimate"),
    path("v1/declarations/bulk/", views.Bulk.as_view(), name="bulk"),
    path("v1/companies/<id:company>/invoices/", views.CompanyInvoices.as_view(), name="company_invoices"),
    path("v1/companies/<id:company>/statement/", views.Statement.as_view(), name="statement"),
    path("v1/invoices/<id:pk>/", views.InvoiceDetail.as_view(), name="invoice"),
    path("v1/invoices/<id:pk>/pdf/", views.InvoicePdf.as_view(), name="invoice_pdf"),
    path("v1/invoices/<id:pk>/ubl/", views.InvoiceUbl.as_view(), name="invoice_ubl"),
    path("v1/agency/operators/", agency.Operators.as_view(), name="agency_operators"),
    path("v1/agency/assessments/<year:year>/", agency.Assessments.as_view(), name="agency_assessments"),
    path("v1/agency/invoices/", agency.Invoices.as_view(), name="agency_invoices"),
    path("v1/agency/payments/", agency.Payments.as_view(), name="agency_payments"),
    # anything else under v1/ (an unknown path, an id or year out of range): a problem, not the portal's page
    re_path(r"^v1/(?P<rest>.*)$", not_found, name="not_found"),
    # the portal's pages (HTML, session and CSRF)
    path("tokens/", portal.tokens, name="tokens"),
    path("tokens/<id:pk>/revoke/", portal.token_revoke_view, name="token_revoke"),
    path("bulk/", portal.bulk, name="bulk_upload"),
]
