from django.urls import path

from . import views

# Joined with the audience's and the lead form's pages of a broadcast under one
# namespace, "broadcasts", by config/urls.py.
urlpatterns = [
    path("<slug:slug>/", views.landing, name="landing"),
    path("<slug:slug>/status.json", views.status, name="status"),
    path("<slug:slug>/calendar.ics", views.calendar, name="calendar"),
]
