"""TryOnConsumer: the shopper's browser <-> this gateway <-> the Lacquer try-on service.

Browser protocol (ws://HOST/ws/tryon/):

1. The browser sends a text message with the design it picked:
       {"type": "start", "design": {"shape": "almond", "pattern": "french_tips",
        "colors": ["pink", "white"], "finish": "glossy"},
        "reference_url": "https://shop.example/media/posts/123.webp",   (optional)
        "config": {"output_format": "webp"}}                            (optional)
   and gets {"type": "ready", "session_id": ..., "config": {...}, "reference": ...}
   or an error. Another "start" later switches to a new design (a new session).
2. Then it sends camera frames as binary messages (WebP, JPEG or PNG bytes), numbered
   0, 1, 2, ... in the order they arrive. For each frame it gets one of:
   * {"type": "processed_frame", "sequence": n, ...the service's metadata...,
      "round_trip_ms": ...} followed by one binary message with the painted frame;
   * {"type": "error", "sequence": n, "code": ..., "message": ..., "suggestion": ...,
      "recoverable": ...} (no hand, too dark, corrupt image, ...: show the suggestion);
   * {"type": "dropped", "sequence": n, "reason": ...} when the frame was skipped
     (the browser sends faster than the service answers: the latest frame wins).
3. {"type": "stats"} returns {"type": "stats", "service": {...}, "client": {...}}.

Closing the browser's socket closes the service session. If the service stays unreachable
(the client's reconnect attempts are exhausted), the browser gets an error with code
SERVICE_UNAVAILABLE and the socket is closed with 1011.
"""
import asyncio
import dataclasses
import json
import logging
from typing import Any, Dict, Optional, Set

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from lacquer_client import (FrameDropped, FrameLost, FrameSuperseded, FrameTimeout,
                            LacquerConnectionError, ServerError, SessionClosed, SessionLost,
                            TryOnSession)

from .lacquer import get_client

log = logging.getLogger("tryon")

MAX_TEXT_BYTES = 64 * 1024


def _dropped_reason(exc: FrameDropped) -> str:
    if isinstance(exc, FrameSuperseded):
        return "superseded"
    if isinstance(exc, FrameTimeout):
        return "timeout"
    if isinstance(exc, FrameLost):
        return "connection_lost"
    return "service_dropped"  # PROCESSING_TIMEOUT from the service


class TryOnConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.session: Optional[TryOnSession] = None
        self.next_sequence = 0
        self.tasks: Set[asyncio.Task] = set()
        self.send_lock = asyncio.Lock()  # a processed_frame's text and image stay adjacent
        self.failed = False
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for task in self.tasks:
            task.cancel()
        if self.session is not None:
            await self.session.close("user_disconnected")
            self.session = None

    async def receive(self, text_data: Optional[str] = None,
                      bytes_data: Optional[bytes] = None) -> None:
        if bytes_data is not None:
            await self.on_frame(bytes_data)
            return
        if text_data is None or len(text_data) > MAX_TEXT_BYTES:
            await self.send_error("INVALID_MESSAGE", "text messages are JSON up to 64 KiB")
            return
        try:
            msg = json.loads(text_data)
        except ValueError:
            msg = None
        if not isinstance(msg, dict):
            await self.send_error("INVALID_MESSAGE", "expected a JSON object")
        elif msg.get("type") == "start":
            await self.on_start(msg)
        elif msg.get("type") == "stats":
            await self.on_stats()
        else:
            await self.send_error("INVALID_MESSAGE", "type must be 'start' or 'stats'")

    # --- messages from the browser ----------------------------------------------------------

    async def on_start(self, msg: Dict[str, Any]) -> None:
        design, url, config = msg.get("design"), msg.get("reference_url"), msg.get("config")
        if (design is not None and not isinstance(design, dict)) or \
                (url is not None and not isinstance(url, str)) or \
                (config is not None and not isinstance(config, dict)):
            await self.send_error("INVALID_MESSAGE",
                                  "design and config are objects, reference_url a string")
            return
        if self.session is not None:
            old, self.session = self.session, None
            await old.close("design_changed")
        try:
            session = await get_client().initialize_session(design=design, reference_url=url,
                                                             config=config)
        except ServerError as e:  # INVALID_DESIGN, INVALID_CONFIG, SERVER_BUSY, ...
            await self.send_json(self.error_payload(e))
            return
        except LacquerConnectionError as e:
            log.warning("try-on service unreachable: %s", e)
            await self.send_error("SERVICE_UNAVAILABLE", "the try-on service is unreachable",
                                  suggestion="Try again in a moment")
            return
        self.session = session
        await self.send_json({"type": "ready", "session_id": session.session_id,
                              "config": session.ready_message.get("config", {}),
                              "reference": session.ready_message.get("reference")})
        if session.reference_error is not None:
            await self.send_json(self.error_payload(session.reference_error))

    async def on_frame(self, data: bytes) -> None:
        if self.session is None:
            await self.send_error("NOT_STARTED", "send a 'start' message with the design first")
            return
        sequence = self.next_sequence
        self.next_sequence += 1
        if len(data) > settings.TRYON_MAX_FRAME_BYTES:
            await self.send_error("FRAME_TOO_LARGE",
                                  f"frames are at most {settings.TRYON_MAX_FRAME_BYTES} bytes",
                                  sequence=sequence)
            return
        # Do not wait for the reply here: Channels handles one message at a time, and the
        # client's latest-frame-wins only helps if newer frames can be submitted meanwhile.
        task = asyncio.ensure_future(self.forward(self.session, sequence, data))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def on_stats(self) -> None:
        if self.session is None:
            await self.send_error("NOT_STARTED", "no session")
            return
        try:
            stats = await self.session.stats()
        except (LacquerConnectionError, SessionClosed) as e:
            await self.send_error("SERVICE_UNAVAILABLE", str(e))
            return
        await self.send_json({"type": "stats", "service": stats.raw,
                              "client": dataclasses.asdict(self.session.counters)})

    # --- frames through the service -------------------------------------------------------

    async def forward(self, session: TryOnSession, sequence: int, data: bytes) -> None:
        try:
            result = await session.process_frame(data, sequence=sequence)
        except FrameDropped as e:
            await self.send_json({"type": "dropped", "sequence": sequence,
                                  "reason": _dropped_reason(e)})
        except ServerError as e:
            await self.send_json(self.error_payload(e))
        except SessionLost as e:
            await self.fail(str(e))
        except SessionClosed:
            pass  # a new design replaced the session, or the browser left
        else:
            meta = dict(result.metadata)
            meta.update(type="processed_frame", sequence=sequence,
                        round_trip_ms=round(result.round_trip_ms, 2))
            async with self.send_lock:
                await self.send(text_data=json.dumps(meta))
                await self.send(bytes_data=result.image)

    async def fail(self, message: str) -> None:
        if self.failed:
            return
        self.failed = True
        log.error("try-on session lost: %s", message)
        await self.send_error("SERVICE_UNAVAILABLE", "the try-on service is unreachable",
                              suggestion="Try again in a moment", recoverable=False)
        await self.close(code=1011)

    # --- replies ----------------------------------------------------------------------------

    @staticmethod
    def error_payload(e: ServerError) -> Dict[str, Any]:
        return {"type": "error", "sequence": e.sequence, "code": e.code, "message": e.message,
                "suggestion": e.suggestion, "recoverable": e.recoverable}

    async def send_error(self, code: str, message: str, *, sequence: Optional[int] = None,
                         suggestion: str = "", recoverable: bool = True) -> None:
        await self.send_json({"type": "error", "sequence": sequence, "code": code,
                              "message": message, "suggestion": suggestion,
                              "recoverable": recoverable})

    async def send_json(self, payload: Dict[str, Any]) -> None:
        async with self.send_lock:
            await self.send(text_data=json.dumps(payload))
