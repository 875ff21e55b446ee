from django.urls import path

from .consumers import LiveConsumer
from .dashboard import DashboardConsumer

websocket_urlpatterns = [
    path("ws/broadcasts/<slug:slug>/", LiveConsumer.as_asgi()),
    path("ws/broadcasts/<slug:slug>/dashboard/", DashboardConsumer.as_asgi()),
]
