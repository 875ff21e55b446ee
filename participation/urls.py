from django.urls import path

from . import views

# A broadcast's pages for its audience, under /b/ with the broadcast's own (config/urls.py).
broadcast_urlpatterns = [
    path("<slug:slug>/watch/", views.watch, name="watch"),
    path("<slug:slug>/host/", views.host_console, name="host"),
    path("<slug:slug>/embed/", views.embed, name="embed"),
    path("<slug:slug>/embed/allowed/", views.embed_allowed, name="embed_allowed"),
    path("<slug:slug>/go/", views.cta, name="cta"),
]
