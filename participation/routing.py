from django.urls import path

from .consumers import LiveConsumer

websocket_urlpatterns = [
    path("ws/broadcasts/<slug:slug>/", LiveConsumer.as_asgi()),
]
