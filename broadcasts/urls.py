from django.urls import path

from leads.views import lead_form

from . import views

app_name = "broadcasts"

urlpatterns = [
    path("<slug:slug>/", views.landing, name="landing"),
    path("<slug:slug>/watch/", views.watch, name="watch"),
    path("<slug:slug>/host/", views.host_console, name="host"),
    path("<slug:slug>/embed/", views.embed, name="embed"),
    path("<slug:slug>/go/", views.cta, name="cta"),
    path("<slug:slug>/lead/", lead_form, name="lead"),
    path("<slug:slug>/status.json", views.status, name="status"),
    path("<slug:slug>/calendar.ics", views.calendar, name="calendar"),
]
