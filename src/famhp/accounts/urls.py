from django.urls import path

from famhp.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login_choice, name="login"),
    path("login/password/", views.password_login, name="password_login"),
    path("login/code/", views.code, name="code"),
    path("login/enrol/", views.enrol, name="enrol"),
    path("logout/", views.logout_view, name="logout"),
    path("logout/everywhere/", views.logout_everywhere_view, name="logout_everywhere"),
    path("account/set-password/<uidb64>/<token>/", views.SetPasswordView.as_view(), name="set_password"),
    path("access/<str:token>/", views.claim, name="claim"),
    path("companies/", views.companies, name="companies"),
    path("companies/<int:operator_id>/users/", views.company_users, name="company_users"),
    path("companies/<int:operator_id>/users/<int:access_id>/revoke/", views.access_revoke_view, name="access_revoke"),
    path(
        "companies/<int:operator_id>/users/<int:access_id>/reset-authenticator/",
        views.authenticator_reset_view,
        name="authenticator_reset",
    ),
]
