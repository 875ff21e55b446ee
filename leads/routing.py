from django.urls import path

from .consumers import ExportsConsumer

websocket_urlpatterns = [
    path("ws/exports/", ExportsConsumer.as_asgi()),
]
