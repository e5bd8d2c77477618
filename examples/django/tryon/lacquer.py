"""The process-wide Lacquer client. It holds settings only; each TryOnConsumer opens its own
session (one WebSocket connection to the service per shopper)."""
import functools

from django.conf import settings
from lacquer_client import LacquerClient


@functools.lru_cache(maxsize=None)
def get_client() -> LacquerClient:
    return LacquerClient(settings.LACQUER_URL, token=settings.LACQUER_TOKEN,
                         **settings.LACQUER_CLIENT)
