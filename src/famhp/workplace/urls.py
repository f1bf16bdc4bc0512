from django.urls import path

from famhp.workplace import views

app_name = "workplace"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("<int:year>/", views.dashboard, name="dashboard_year"),
    path("operators/<int:pk>/", views.operator_detail, name="operator"),
    path("operators/<int:pk>/<int:year>/resend/", views.resend, name="resend"),
    path("operators/<int:pk>/<int:year>/correct/", views.correct, name="correct"),
    path("invoices/<int:pk>/credit/", views.credit, name="credit"),
    path("lists/<str:name>/", views.listing, name="list"),
    path("<int:year>/runs/", views.runs, name="runs"),
    path("<int:year>/runs/new/", views.run_assessment, name="run_assessment"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("<int:year>/closing/", views.closing, name="closing"),
    path("<int:year>/what-if/", views.whatif, name="whatif"),
    path("<int:year>/actions/<str:kind>/", views.action, name="action"),
    path("actions/<int:pk>/", views.progress, name="progress"),
    path("actions/<int:pk>/result/", views.result, name="result"),
    path("actions/<int:pk>/resume/", views.resume, name="resume"),
    path("certificates/<int:pk>/", views.certificate, name="certificate"),
]
