from django.urls import path

from .dashboard import DashboardConsumer

# Staff's sockets, through Channels' session and authentication stack.
websocket_urlpatterns = [
    path("ws/broadcasts/<slug:slug>/dashboard/", DashboardConsumer.as_asgi()),
]
