from django.urls import path

from famhp.payments import views

app_name = "payments"
urlpatterns = [
    path("companies/<int:operator_id>/account/", views.statement, name="statement"),
    path("companies/<int:operator_id>/account/pdf/", views.statement_pdf, name="statement_pdf"),
]
