from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("workplace/", include("famhp.workplace.urls")),
    path("oidc/", include("mozilla_django_oidc.urls")),
    path("", include("famhp.portal.urls")),  # the companies' pages: home, login, declarations, invoices, account
    path("api/", include("famhp.api.urls")),  # /api/v1/ for programs, /api/tokens/ and /api/bulk/ in the portal
]
