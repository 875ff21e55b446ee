from .consumers import LiveConsumer

# A page's live socket, DESIGN section 2 (`/ws/broadcasts/<slug>/`): straight to its
# consumer (config/websocket.py), the slug as Django's `slug` converter has it.
LIVE_SOCKET_PATH = r"/ws/broadcasts/(?P<slug>[-a-zA-Z0-9_]+)/"
live_socket = LiveConsumer.as_asgi()
