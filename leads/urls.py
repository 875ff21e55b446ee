from django.urls import path

from . import views

app_name = "leads"

# The lead form without JavaScript, under /b/ with the broadcast's pages (config/urls.py).
broadcast_urlpatterns = [
    path("<slug:slug>/lead/", views.lead_form, name="lead"),
]

urlpatterns = [
    path("exports/", views.exports, name="exports"),
    path("exports/<int:export_id>/download/", views.download, name="download"),
]
