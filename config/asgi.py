import gc
import logging
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from backoffice.routing import websocket_urlpatterns as staff_patterns  # noqa: E402
from config.concurrency import HttpConcurrencyLimit  # noqa: E402
from config.websocket import WebsocketGate  # noqa: E402
from leads.routing import websocket_urlpatterns as exports_patterns  # noqa: E402
from participation.routing import LIVE_SOCKET_PATH, live_socket  # noqa: E402

if settings.MEDIA_BACKEND == "janus":
    # Refuse to serve video that cannot work; a Janus that is merely not up yet is
    # waited for (pages say video is reconnecting until it answers).
    from broadcasts.janus.process import janus_problem

    _problem = janus_problem()
    if _problem is not None:
        _level, _message = _problem
        if _level == "error":
            from django.core.exceptions import ImproperlyConfigured

            raise ImproperlyConfigured(_message)
        logging.getLogger("broadcasts").warning(_message)

application = ProtocolTypeRouter(
    {
        "http": HttpConcurrencyLimit(django_asgi_app, limit=settings.HTTP_CONCURRENCY),
        "websocket": WebsocketGate(
            live=live_socket,
            live_path=LIVE_SOCKET_PATH,
            others=AuthMiddlewareStack(URLRouter(staff_patterns + exports_patterns)),
        ),
    }
)

# A live server holds thousands of long-lived connection objects, and each full garbage
# collection walks all of them while no socket is served (measured: pauses up to a
# second with 2,500 sockets a process). What start-up loaded is never garbage: take it
# out of the walk; and collect the older generations less often.
gc.freeze()
gc.set_threshold(50_000, 20, 50)
