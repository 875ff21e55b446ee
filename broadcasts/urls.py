from django.urls import path

from . import views

app_name = "broadcasts"

urlpatterns = [
    path("<slug:slug>/", views.landing, name="landing"),
    path("<slug:slug>/watch/", views.watch, name="watch"),
    path("<slug:slug>/host/", views.host_console, name="host"),
    path("<slug:slug>/calendar.ics", views.calendar, name="calendar"),
]
