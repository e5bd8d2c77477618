"""ASGI entry point: HTTP goes to Django, WebSockets to the try-on consumer.

    daphne -b 0.0.0.0 -p 8000 tryon_site.asgi:application
"""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tryon_site.settings")
# Set up Django (apps, settings) before importing anything that uses models or settings.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from tryon.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter({
    "http": django_asgi_app,
    # A real shop also wraps this in channels.auth.AuthMiddlewareStack to know the shopper.
    "websocket": AllowedHostsOriginValidator(URLRouter(websocket_urlpatterns)),
})
