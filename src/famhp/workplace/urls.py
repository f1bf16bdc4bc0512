from django.urls import path

import famhp.converters  # noqa: F401 - registers the id and year converters
from famhp.workplace import views

app_name = "workplace"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("<year:year>/", views.dashboard, name="dashboard_year"),
    path("operators/<id:pk>/", views.operator_detail, name="operator"),
    path("operators/<id:pk>/<year:year>/resend/", views.resend, name="resend"),
    path("operators/<id:pk>/<year:year>/correct/", views.correct, name="correct"),
    path("invoices/<id:pk>/credit/", views.credit, name="credit"),
    path("lists/<str:name>/", views.listing, name="list"),
    path("<year:year>/runs/", views.runs, name="runs"),
    path("<year:year>/runs/new/", views.run_assessment, name="run_assessment"),
    path("runs/<id:pk>/", views.run_detail, name="run"),
    path("<year:year>/closing/", views.closing, name="closing"),
    path("<year:year>/what-if/", views.whatif, name="whatif"),
    path("<year:year>/actions/<str:kind>/", views.action, name="action"),
    path("actions/<id:pk>/", views.progress, name="progress"),
    path("actions/<id:pk>/result/", views.result, name="result"),
    path("actions/<id:pk>/resume/", views.resume, name="resume"),
    path("certificates/<id:pk>/", views.certificate, name="certificate"),
]
