from django.contrib import admin
from django.urls import include, path

from famhp.declarations import views

urlpatterns = [
    path("", views.home, name="home"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("workplace/", include("famhp.workplace.urls")),
    path("oidc/", include("mozilla_django_oidc.urls")),
    path("", include("famhp.accounts.urls")),
    path("", include("famhp.declarations.urls")),
    path("", include("famhp.billing.urls")),
    path("", include("famhp.payments.urls")),
    path("api/", include("famhp.api.urls")),  # /api/v1/ for programs, /api/tokens/ and /api/bulk/ in the portal
]
