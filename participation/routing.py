from django.urls import path

from .consumers import LiveConsumer
from .dashboard import DashboardConsumer

# A page's live socket, DESIGN section 2 (`/ws/broadcasts/<slug>/`): straight to its
# consumer (config/websocket.py), the slug as Django's `slug` converter has it.
LIVE_SOCKET_PATH = r"/ws/broadcasts/(?P<slug>[-a-zA-Z0-9_]+)/"
live_socket = LiveConsumer.as_asgi()

# Staff's sockets, through Channels' session and authentication stack.
websocket_urlpatterns = [
    path("ws/broadcasts/<slug:slug>/dashboard/", DashboardConsumer.as_asgi()),
]
