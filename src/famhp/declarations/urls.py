from django.urls import path

from famhp.declarations import views

app_name = "declarations"
urlpatterns = [
    path("invitation/<str:token>/", views.invitation, name="invitation"),
    path("declarations/<int:year>/<int:operator_id>/", views.figures, name="figures"),
    path("declarations/<int:year>/<int:operator_id>/confirm/", views.confirm, name="confirm"),
    path("declarations/<int:year>/<int:operator_id>/versions/", views.versions, name="versions"),
    path("declarations/versions/<int:pk>/certificate/", views.certificate, name="certificate"),
]
