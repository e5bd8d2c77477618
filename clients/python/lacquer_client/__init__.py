"""Python client for the Lacquer try-on service (``lacquer serve``, docs/protocol.md).

Async API: :class:`LacquerClient` -> :class:`TryOnSession` (process_frame, stats, close).
Blocking API for scripts: :class:`SyncLacquerClient` -> :class:`SyncSession`.
"""
from .client import (DEFAULT_URL, ClientOptions, LacquerClient, ReconnectPolicy, SessionState,
                     TryOnSession)
from .errors import (DetectionProblem, ErrorCode, FrameDropped, FrameLost, FrameSuperseded,
                     FrameTimeout, InvalidFrameError, InvalidRequestError, InvalidSessionError,
                     LacquerConnectionError, LacquerError, ProcessingError, RateLimitedError,
                     ReferenceFetchFailed, ServerError, ServerFrameDropped,
                     ServiceUnavailableError, SessionClosed, SessionLost, UnauthorizedError,
                     UnknownSessionError,
                     error_from_message)
from .protocol import ClientCounters, FrameEncoding, FrameResult, SessionStats
from .sync import SyncLacquerClient, SyncSession

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_URL", "ClientCounters", "ClientOptions", "DetectionProblem", "ErrorCode",
    "FrameDropped", "FrameEncoding", "FrameLost", "FrameResult", "FrameSuperseded",
    "FrameTimeout", "InvalidFrameError", "InvalidRequestError", "InvalidSessionError",
    "LacquerClient", "LacquerConnectionError", "LacquerError", "ProcessingError",
    "RateLimitedError", "ReconnectPolicy", "ReferenceFetchFailed", "ServerError",
    "ServerFrameDropped", "ServiceUnavailableError", "SessionClosed", "SessionLost",
    "SessionState", "SessionStats", "SyncLacquerClient", "SyncSession", "TryOnSession",
    "UnauthorizedError", "UnknownSessionError", "error_from_message",
]
