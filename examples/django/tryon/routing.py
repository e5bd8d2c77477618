from django.urls import path

from .consumers import TryOnConsumer

websocket_urlpatterns = [
    path("ws/tryon/", TryOnConsumer.as_asgi()),
]
