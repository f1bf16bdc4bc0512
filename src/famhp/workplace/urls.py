from django.urls import path

import famhp.converters  # noqa: F401 - registers the id and year converters
from famhp.workplace import bank, settings_pages, views

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
    path("<year:year>/settings/", settings_pages.settings_page, name="settings"),
    path("<year:year>/settings/edit/", settings_pages.settings_edit, name="settings_edit"),
    path("<year:year>/settings/prepare/", settings_pages.settings_prepare, name="settings_prepare"),
    path("<year:year>/settings/campaign/", settings_pages.settings_campaign, name="settings_campaign"),
    path("<year:year>/what-if/", views.whatif, name="whatif"),
    path("<year:year>/what-if/save/", views.whatif_save, name="whatif_save"),
    path("<year:year>/actions/<str:kind>/", views.action, name="action"),
    path("actions/<id:pk>/", views.progress, name="progress"),
    path("actions/<id:pk>/result/", views.result, name="result"),
    path("actions/<id:pk>/resume/", views.resume, name="resume"),
    path("certificates/<id:pk>/", views.certificate, name="certificate"),
    path("bank/import/", bank.bank_import, name="bank_import"),
    path("bank/imports/<id:pk>/", bank.bank_import_progress, name="bank_import_progress"),
    path("bank/imports/<id:pk>/result/", bank.bank_import_result, name="bank_import_result"),
    path("bank/imports/<id:pk>/again/", bank.bank_import_again, name="bank_import_again"),
    path("bank/files/<id:pk>/duplicates/", bank.bank_duplicates, name="bank_duplicates"),
    path("bank/queue/", bank.bank_queue, name="bank_queue"),
    path("bank/lines/<id:pk>/", bank.bank_line, name="bank_line"),
    path("bank/lines/<id:pk>/allocate/", bank.bank_allocate, name="bank_allocate"),
    path("bank/lines/<id:pk>/handled/", bank.bank_handled, name="bank_handled"),
    path("bank/refunds/", bank.bank_refunds, name="bank_refunds"),
    path("bank/refunds/record/", bank.bank_refund_record, name="bank_refund_record"),
    path("bank/refunds/export/", bank.bank_refunds_export, name="bank_refunds_export"),
    path("bank/refunds/exports/<id:pk>/sent/", bank.bank_export_sent, name="bank_export_sent"),
    path("bank/refunds/exports/<id:pk>/file/", bank.bank_export_file, name="bank_export_file"),
]
