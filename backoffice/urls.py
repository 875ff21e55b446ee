from django.urls import path

from . import views

# A broadcast's pages for its hosts, under /b/ with the broadcast's own (config/urls.py).
broadcast_urlpatterns = [
    path("<slug:slug>/summary/", views.broadcast_summary, name="summary"),
]
