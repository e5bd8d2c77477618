"""Exceptions raised by the Lacquer client.

Two families, both under :class:`LacquerError`:

* :class:`ServerError` and its subclasses: the service answered with an ``error`` message.
  Each carries the protocol's ``code``, ``message``, ``recoverable`` flag and ``suggestion``
  (text meant for the shopper), plus the ``sequence`` of the frame it answers. The subclass
  groups codes by what a caller does about them; ``recoverable`` is the server's own flag.
* Client-side conditions: :class:`FrameSuperseded`, :class:`FrameTimeout`, :class:`FrameLost`
  (all :class:`FrameDropped`: the frame got no image, carry on with the next one),
  :class:`LacquerConnectionError` / :class:`SessionLost` (the transport), and
  :class:`SessionClosed` (the session was closed).

The server's ``PROCESSING_TIMEOUT`` (it dropped the frame unprocessed) raises
:class:`ServerFrameDropped`, which is both a :class:`ServerError` and a :class:`FrameDropped`.
"""
from __future__ import annotations

import enum
from typing import Any, Dict, Mapping, Optional, Type


class ErrorCode(str, enum.Enum):
    """Error codes of docs/protocol.md. Members compare equal to their string values."""

    HAND_NOT_DETECTED = "HAND_NOT_DETECTED"
    PARTIAL_HAND_DETECTED = "PARTIAL_HAND_DETECTED"
    LOW_LIGHT = "LOW_LIGHT"
    BLUR_DETECTED = "BLUR_DETECTED"
    MODEL_ERROR = "MODEL_ERROR"
    INVALID_SESSION = "INVALID_SESSION"
    PROCESSING_TIMEOUT = "PROCESSING_TIMEOUT"
    PROCESSING_FAILED = "PROCESSING_FAILED"
    INVALID_MESSAGE = "INVALID_MESSAGE"
    UNSUPPORTED_FORMAT = "UNSUPPORTED_FORMAT"
    INVALID_FRAME = "INVALID_FRAME"
    FRAME_TOO_LARGE = "FRAME_TOO_LARGE"
    INVALID_DESIGN = "INVALID_DESIGN"
    INVALID_CONFIG = "INVALID_CONFIG"
    REFERENCE_FETCH_FAILED = "REFERENCE_FETCH_FAILED"
    SERVER_BUSY = "SERVER_BUSY"
    RATE_LIMITED = "RATE_LIMITED"
    UNAUTHORIZED = "UNAUTHORIZED"
    SHUTTING_DOWN = "SHUTTING_DOWN"
    INTERNAL_ERROR = "INTERNAL_ERROR"

    def __str__(self) -> str:
        return self.value


class LacquerError(Exception):
    """Base class of every exception this package raises."""


# --- client-side conditions -------------------------------------------------------------


class FrameDropped(LacquerError):
    """The frame got no processed image and no detection verdict; send the next frame.

    ``sequence`` is the dropped frame's sequence number.
    """

    sequence: Optional[int] = None


class FrameSuperseded(FrameDropped):
    """Latest frame wins: a newer frame replaced this one before it was sent.

    The frame never left the client. ``superseded_by`` is the newer frame's sequence.
    """

    def __init__(self, sequence: int, superseded_by: int) -> None:
        LacquerError.__init__(self, f"frame {sequence} was replaced by frame {superseded_by} "
                                    "before it was sent (latest frame wins)")
        self.sequence = sequence
        self.superseded_by = superseded_by


class FrameTimeout(FrameDropped):
    """No reply within ``frame_timeout`` seconds of sending the frame.

    A reply that arrives later is discarded (counted in ``ClientCounters.late_replies``).
    """

    def __init__(self, sequence: int, timeout: float) -> None:
        LacquerError.__init__(self, f"no reply to frame {sequence} within {timeout:g} s")
        self.sequence = sequence
        self.timeout = timeout


class FrameLost(FrameDropped):
    """The connection dropped while the frame was in flight; its reply will never come."""

    def __init__(self, sequence: int, reason: str) -> None:
        LacquerError.__init__(self, f"frame {sequence} was lost: {reason}")
        self.sequence = sequence
        self.reason = reason


class LacquerConnectionError(LacquerError):
    """Could not connect, or the connection failed. ``close_code`` is the WebSocket close
    code when the server closed it (1013 busy, 1008 auth, 1001 shutdown), else None."""

    def __init__(self, message: str, close_code: Optional[int] = None) -> None:
        super().__init__(message)
        self.close_code = close_code


class SessionLost(LacquerConnectionError):
    """The connection dropped and the session could not be re-created within the
    reconnect policy (or re-creating it was refused for good, e.g. UNAUTHORIZED).
    The session is unusable; start a new one. ``__cause__`` is the last failure."""


class SessionClosed(LacquerError):
    """The session was closed (by :meth:`TryOnSession.close`) before the call completed,
    or the call was made on a closed session."""


class UnknownSessionError(SessionClosed):
    """The client has no open session with this id (never opened, closed, or failed).
    The service's own INVALID_SESSION reply raises :class:`InvalidSessionError`."""


# --- server errors -----------------------------------------------------------------------


class ServerError(LacquerError):
    """The service answered with an ``error`` message.

    Attributes: ``code`` (str, see :class:`ErrorCode`), ``message``, ``recoverable`` (the
    server's flag: True = keep the session and send the next frame), ``suggestion`` (for the
    shopper; may be empty), ``sequence`` and ``session_id`` (None when the request carried
    none), and ``payload`` (the whole message as received).
    """

    def __init__(self, payload: Mapping[str, Any]) -> None:
        self.payload: Dict[str, Any] = dict(payload)
        self.code: str = str(payload.get("code") or "UNKNOWN")
        self.message: str = str(payload.get("message") or "")
        self.recoverable: bool = bool(payload.get("recoverable", False))
        self.suggestion: str = str(payload.get("suggestion") or "")
        seq = payload.get("sequence")
        self.sequence: Optional[int] = seq if isinstance(seq, int) else None
        sid = payload.get("session_id")
        self.session_id: Optional[str] = sid if isinstance(sid, str) else None
        text = f"{self.code}: {self.message}"
        if self.sequence is not None:
            text += f" (frame {self.sequence})"
        LacquerError.__init__(self, text)


class DetectionProblem(ServerError):
    """The frame was analysed but nothing was painted: no hand, a partial hand, too dark or
    too blurry. Show ``suggestion`` to the shopper and keep streaming."""


class ServerFrameDropped(ServerError, FrameDropped):
    """PROCESSING_TIMEOUT: the service dropped the frame unprocessed (a newer frame arrived
    on its full queue, it waited past FRAME_DEADLINE_MS, or replies were not read fast enough)."""


class InvalidFrameError(ServerError):
    """The image itself was refused: INVALID_FRAME, UNSUPPORTED_FORMAT, FRAME_TOO_LARGE."""


class InvalidRequestError(ServerError):
    """The request was malformed or named an invalid design/config:
    INVALID_MESSAGE, INVALID_DESIGN, INVALID_CONFIG."""


class InvalidSessionError(ServerError):
    """INVALID_SESSION: the message named a session not open on its connection."""


class RateLimitedError(ServerError):
    """RATE_LIMITED: more frames per second than the service's RATE_LIMIT_FPS."""


class ServiceUnavailableError(ServerError):
    """SERVER_BUSY (session capacity reached) or SHUTTING_DOWN (the instance is draining)."""


class UnauthorizedError(ServerError):
    """UNAUTHORIZED: wrong or missing token. Retrying will not help."""


class ProcessingError(ServerError):
    """The service failed on a valid frame: MODEL_ERROR, PROCESSING_FAILED, INTERNAL_ERROR."""


class ReferenceFetchFailed(ServerError):
    """REFERENCE_FETCH_FAILED: the reference photo could not be used; the session runs on the
    design metadata. Not raised: stored in ``TryOnSession.reference_error``."""


_CLASS_BY_CODE: Dict[str, Type[ServerError]] = {
    "HAND_NOT_DETECTED": DetectionProblem,
    "PARTIAL_HAND_DETECTED": DetectionProblem,
    "LOW_LIGHT": DetectionProblem,
    "BLUR_DETECTED": DetectionProblem,
    "PROCESSING_TIMEOUT": ServerFrameDropped,
    "INVALID_FRAME": InvalidFrameError,
    "UNSUPPORTED_FORMAT": InvalidFrameError,
    "FRAME_TOO_LARGE": InvalidFrameError,
    "INVALID_MESSAGE": InvalidRequestError,
    "INVALID_DESIGN": InvalidRequestError,
    "INVALID_CONFIG": InvalidRequestError,
    "INVALID_SESSION": InvalidSessionError,
    "RATE_LIMITED": RateLimitedError,
    "SERVER_BUSY": ServiceUnavailableError,
    "SHUTTING_DOWN": ServiceUnavailableError,
    "UNAUTHORIZED": UnauthorizedError,
    "MODEL_ERROR": ProcessingError,
    "PROCESSING_FAILED": ProcessingError,
    "INTERNAL_ERROR": ProcessingError,
    "REFERENCE_FETCH_FAILED": ReferenceFetchFailed,
}


def error_from_message(payload: Mapping[str, Any]) -> ServerError:
    """Builds the exception for a protocol ``error`` message (unknown codes: ServerError)."""
    cls = _CLASS_BY_CODE.get(str(payload.get("code")), ServerError)
    return cls(payload)
