from django.urls import path

from famhp.billing import views

app_name = "billing"
urlpatterns = [
    path("companies/<int:operator_id>/invoices/", views.invoices, name="invoices"),
    path("invoices/<int:pk>/pdf/", views.invoice_pdf_view, name="invoice_pdf"),
    path("invoices/<int:pk>/ubl/", views.invoice_ubl_view, name="invoice_ubl"),
]
