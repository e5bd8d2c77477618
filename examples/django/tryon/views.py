from django.conf import settings
from django.http import JsonResponse

from .lacquer import get_client


def healthz(request):
    """Liveness of the gateway itself (the try-on service has its own /health)."""
    return JsonResponse({"status": "ok", "lacquer_url": settings.LACQUER_URL,
                         "open_sessions": len(get_client().sessions)})
