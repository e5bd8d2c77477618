"""Settings of the try-on example: Channels over Daphne, no database.

Everything a deployment changes comes from the environment:
  LACQUER_URL            the service's WebSocket endpoint (default ws://localhost:8002/ws/tryon)
  LACQUER_TOKEN          the service's AUTH_TOKEN, if it has one
  DJANGO_SECRET_KEY      Django's secret key
  DJANGO_DEBUG           "1" for development
  DJANGO_ALLOWED_HOSTS   comma-separated (also the allowed WebSocket origins)
"""
import os

DEBUG = os.environ.get("DJANGO_DEBUG", "0") == "1"
# The example has no sessions, cookies or forms; a deployment still sets its own key.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "tryon-example-not-for-production")
ALLOWED_HOSTS = [h for h in os.environ.get("DJANGO_ALLOWED_HOSTS",
                                           "localhost,127.0.0.1").split(",") if h]

INSTALLED_APPS = [
    "channels",
    "tryon",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "tryon_site.urls"
ASGI_APPLICATION = "tryon_site.asgi.application"
DATABASES: dict = {}  # the try-on gateway keeps no state of its own
USE_TZ = True

# The Lacquer service and the client's settings (lacquer_client.LacquerClient arguments).
LACQUER_URL = os.environ.get("LACQUER_URL", "ws://localhost:8002/ws/tryon")
LACQUER_TOKEN = os.environ.get("LACQUER_TOKEN") or None
LACQUER_CLIENT = {
    "encoding": "header",  # binary 1024-byte header: no base64, one message per frame
    "max_in_flight": 2,
    "frame_timeout": float(os.environ.get("LACQUER_FRAME_TIMEOUT", "3.0")),
    "ready_timeout": float(os.environ.get("LACQUER_READY_TIMEOUT", "10.0")),
    "default_config": {"target_fps": 25, "quality": "balanced", "output_format": "webp"},
}
# Largest camera frame accepted from a browser (a 640x480 WebP is about 30-60 KB).
TRYON_MAX_FRAME_BYTES = 2 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "lacquer_client": {"handlers": ["console"], "level": "INFO"},
        "tryon": {"handlers": ["console"], "level": "INFO"},
    },
}
