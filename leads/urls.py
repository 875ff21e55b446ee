from django.urls import path

from . import views

app_name = "leads"

urlpatterns = [
    path("exports/", views.exports, name="exports"),
    path("exports/<int:export_id>/download/", views.download, name="download"),
]
