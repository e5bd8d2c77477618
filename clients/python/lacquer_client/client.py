"""Async client for ``lacquer serve`` (docs/protocol.md), for a Django/Channels backend.

    client = LacquerClient("ws://localhost:8002/ws/tryon")
    session = await client.initialize_session(
        design={"shape": "almond", "pattern": "french_tips", "colors": ["pink", "white"]})
    try:
        result = await session.process_frame(webp_bytes)   # FrameResult: .image, .metadata
    except DetectionProblem as e:
        show(e.suggestion)                                 # no hand, too dark, ...
    except FrameDropped:
        pass                                               # latest frame wins; send the next
    stats = await session.stats()
    await session.close()

One WebSocket connection per session, reused for every frame. Replies are matched to frames
by ``sequence``; a reply for a frame the client already gave up on is discarded.

Frames in flight and latest-frame-wins
--------------------------------------
* At most ``max_in_flight`` frames (default 2) are sent and not yet answered. With the
  service's default FRAME_QUEUE_SIZE=2 that is one frame being processed and one waiting,
  so this client never makes the service drop frames from its queue.
* A frame submitted while ``max_in_flight`` frames are unanswered waits in a single
  client-side slot. When another frame is submitted before it could be sent, it is replaced:
  its ``process_frame`` call raises :class:`FrameSuperseded`, and the newer frame takes the
  slot. The slot's frame is sent as soon as an in-flight frame is answered, times out or is
  lost. Frames already sent are never recalled; each gets its reply or an exception. (One
  exception: a frame the service refuses with SHUTTING_DOWN, unprocessed, goes back to the
  slot, if nothing newer is there, and is sent on the next connection.)
* So a caller that submits faster than replies arrive gets the newest frame processed next,
  and holds at most ``max_in_flight`` + 1 frames in memory.

Timeouts
--------
``frame_timeout`` (default 3 s) runs from the moment a frame is sent. A healthy service
answers every frame within FRAME_DEADLINE_MS (1 s) plus one processing time, with the
processed frame or a PROCESSING_TIMEOUT error, so the client timeout only fires when the
service or the network is stuck; it raises :class:`FrameTimeout` and frees the frame's
in-flight place. A reply that arrives after that is discarded (``counters.late_replies``),
never taken for another frame's reply.

Reconnection
------------
When the connection drops (server restart, network failure, the service shutting down with
1001, or after a non-recoverable error on a frame), frames in flight fail with
:class:`FrameLost`, and the session reconnects with exponential backoff and jitter
(:class:`ReconnectPolicy`) and sends ``init_session`` again with the same session id, design
and config. The frame waiting in the slot, if any, is sent once the session is ready again.
Authentication failures are not retried. When the service closes an idle session
(``close_session`` reason ``timeout``), the session reconnects when it is next used. When
reconnecting gives up, pending and later calls raise :class:`SessionLost`.

Concurrency: a session belongs to the event loop that created it. Many coroutines may call
``process_frame`` on one session concurrently (that is how latest-frame-wins is meant to be
used); a plain loop that awaits each frame is also fine.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import dataclasses
import enum
import json
import logging
import random
import time
import uuid
from typing import Any, Callable, Dict, List, Mapping, Optional, Union

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatusCode
from websockets.legacy.client import WebSocketClientProtocol, connect

from .errors import (FrameLost, FrameSuperseded, FrameTimeout, InvalidRequestError,
                     LacquerConnectionError, LacquerError, ServerError, SessionClosed,
                     SessionLost, UnauthorizedError, UnknownSessionError,
                     error_from_message)
from .protocol import (MAX_SEQUENCE, SESSION_ID_RE, ClientCounters, FrameEncoding,
                       FrameResult, SessionStats, control_message, frame_messages,
                       epoch_ms, init_session_message, parse_header_reply,
                       sniff_format)

log = logging.getLogger("lacquer_client")

DEFAULT_URL = "ws://localhost:8002/ws/tryon"
_REFERENCE_ERROR_WAIT_S = 1.0

ImageBytes = Union[bytes, bytearray, memoryview]


@dataclasses.dataclass(frozen=True)
class ReconnectPolicy:
    """Exponential backoff with jitter between reconnect attempts.

    The delay before attempt n (1-based) is ``min(max_delay, initial_delay * multiplier**(n-1))``
    scaled by a random factor in ``[1 - jitter, 1]``, so sessions dropped together by one
    server restart do not reconnect in lockstep. ``max_attempts=None`` retries forever.
    The defaults try 10 times over about 20 s.
    """

    initial_delay: float = 0.1
    max_delay: float = 5.0
    multiplier: float = 2.0
    jitter: float = 0.5
    max_attempts: Optional[int] = 10

    def __post_init__(self) -> None:
        if not (self.initial_delay >= 0 and self.max_delay >= self.initial_delay
                and self.multiplier >= 1 and 0 <= self.jitter <= 1):
            raise ValueError(f"invalid reconnect policy: {self}")
        if self.max_attempts is not None and self.max_attempts < 0:
            raise ValueError("max_attempts must be >= 0 or None")

    def delay(self, attempt: int, rng: random.Random) -> float:
        base = min(self.max_delay, self.initial_delay * self.multiplier ** max(0, attempt - 1))
        return base * (1.0 - self.jitter * rng.random())


class SessionState(str, enum.Enum):
    READY = "ready"
    """Connected, session_ready received: frames are sent."""
    RECONNECTING = "reconnecting"
    """The connection dropped; re-creating the session (frames wait in the slot)."""
    IDLE = "idle"
    """The service closed the idle session; it is re-created when next used."""
    CLOSED = "closed"
    FAILED = "failed"
    """Reconnecting gave up; see ``TryOnSession.failure``."""


@dataclasses.dataclass(frozen=True)
class ClientOptions:
    """Settings shared by the sessions of a :class:`LacquerClient` (see its docstring)."""

    url: str = DEFAULT_URL
    token: Optional[str] = None
    encoding: FrameEncoding = FrameEncoding.HEADER
    max_in_flight: int = 2
    frame_timeout: float = 3.0
    ready_timeout: float = 10.0
    connect_timeout: float = 5.0
    close_timeout: float = 5.0
    reconnect: ReconnectPolicy = ReconnectPolicy()
    max_message_size: int = 32 * 1024 * 1024
    ping_interval: Optional[float] = 20.0
    ping_timeout: Optional[float] = 20.0

    def __post_init__(self) -> None:
        if not self.url.startswith(("ws://", "wss://")):
            raise ValueError(f"url must start with ws:// or wss://: {self.url!r}")
        if not 1 <= self.max_in_flight <= 64:
            raise ValueError("max_in_flight must be 1..64")
        for name in ("frame_timeout", "ready_timeout", "connect_timeout", "close_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0")
        object.__setattr__(self, "encoding", FrameEncoding(self.encoding))


@dataclasses.dataclass
class _Frame:
    sequence: int
    image: bytes
    fmt: Optional[str]
    width: Optional[int]
    height: Optional[int]
    future: "asyncio.Future[FrameResult]"
    timeout: float
    sent_at: float = 0.0
    timer: Optional[asyncio.TimerHandle] = None


class TryOnSession:
    """One try-on session on its own WebSocket connection. Created by
    :meth:`LacquerClient.initialize_session`; not thread-safe (use it from its event loop)."""

    def __init__(self, options: ClientOptions, session_id: str,
                 nail_reference: Mapping[str, Any], config: Mapping[str, Any],
                 on_finished: Callable[["TryOnSession"], None]) -> None:
        self.session_id = session_id
        self.nail_reference: Dict[str, Any] = dict(nail_reference)
        self.config: Dict[str, Any] = dict(config)
        self.counters = ClientCounters()
        self.ready_message: Dict[str, Any] = {}
        """The last session_ready message (its ``config`` is the effective configuration)."""
        self.last_stats: Optional[SessionStats] = None
        """The latest stats message (periodic, requested, or the final one at close)."""
        self.reference_error: Optional[ServerError] = None
        """REFERENCE_FETCH_FAILED when the reference photo could not be used."""
        self.failure: Optional[BaseException] = None
        self._opts = options
        self._on_finished = on_finished
        self._loop = asyncio.get_running_loop()
        self._rng = random.Random()
        self._state = SessionState.RECONNECTING
        self._ws: Optional[WebSocketClientProtocol] = None
        self._pending: Optional[_Frame] = None
        self._inflight: Dict[int, _Frame] = {}
        self._wakeup = asyncio.Event()
        self._send_lock = asyncio.Lock()
        self._stats_waiters: List["asyncio.Future[SessionStats]"] = []
        self._closed_waiter: Optional["asyncio.Future[None]"] = None
        self._last_sequence = -1
        self._supervisor: Optional["asyncio.Task[None]"] = None
        self._closing = False
        self._closed = asyncio.Event()
        self._restart = False
        self._server_close_reason: Optional[str] = None
        self._draining = False
        self._background: "set[asyncio.Task[None]]" = set()

    # --- public API ---------------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        return self._state

    @property
    def frames_in_flight(self) -> int:
        return len(self._inflight)

    async def process_frame(self, image: ImageBytes, *, sequence: Optional[int] = None,
                            width: Optional[int] = None, height: Optional[int] = None,
                            image_format: Optional[str] = None,
                            timeout: Optional[float] = None) -> FrameResult:
        """Sends one camera frame (WebP, JPEG or PNG bytes) and returns the processed frame.

        ``sequence``: by default the session numbers frames 0, 1, 2, ...; a caller that wants
        its own numbers (e.g. the browser's) passes strictly increasing integers (<= 2**53).
        ``width``/``height``/``image_format`` go into ``frame_metadata`` when given (the
        format is otherwise read from the magic bytes; the service reads the image anyway).
        ``timeout``: this frame's reply timeout (default the client's ``frame_timeout``),
        counted from when the frame is sent.

        Raises: a :class:`ServerError` subclass when the service answers with an error
        (:class:`DetectionProblem` for no hand / low light / blur, :class:`InvalidFrameError`
        for a corrupt or unsupported image, ...); :class:`FrameDropped` subclasses when the
        frame got no answer (superseded, timed out, lost, dropped by the service);
        :class:`SessionClosed`; :class:`SessionLost`.
        """
        if not isinstance(image, (bytes, bytearray, memoryview)):
            raise TypeError("image must be bytes")
        if timeout is not None and not timeout > 0:
            raise ValueError("timeout must be > 0")
        self._check_usable()
        seq = self._take_sequence(sequence)
        data = bytes(image)
        fut: "asyncio.Future[FrameResult]" = self._loop.create_future()
        frame = _Frame(seq, data, image_format or sniff_format(data), width, height, fut,
                       timeout or self._opts.frame_timeout)
        self.counters.submitted += 1
        old = self._pending
        if old is not None and not old.future.done():
            self.counters.superseded += 1
            old.future.set_exception(FrameSuperseded(old.sequence, seq))
        self._pending = frame
        self._wakeup.set()
        return await fut

    async def stats(self, timeout: Optional[float] = None) -> SessionStats:
        """Asks the service for the session's statistics now. Raises
        :class:`LacquerConnectionError` when not connected (e.g. while reconnecting)."""
        self._check_usable()
        ws = self._ws
        if ws is None or self._state is not SessionState.READY:
            raise LacquerConnectionError(f"session {self.session_id} is {self._state.value}")
        fut: "asyncio.Future[SessionStats]" = self._loop.create_future()
        self._stats_waiters.append(fut)
        try:
            async with self._send_lock:
                await ws.send(control_message("stats", self.session_id))
            return await asyncio.wait_for(fut, timeout or self._opts.ready_timeout)
        except ConnectionClosed as e:
            raise LacquerConnectionError(f"connection closed: {e}", e.code) from e
        except asyncio.TimeoutError as e:
            raise LacquerConnectionError("no stats reply in time") from e
        finally:
            with contextlib.suppress(ValueError):
                self._stats_waiters.remove(fut)

    async def close(self, reason: str = "user_disconnected") -> Optional[SessionStats]:
        """Ends the session: sends ``close_session``, waits (up to ``close_timeout``) for the
        final stats and ``session_closed``, closes the connection and returns the final stats
        (None if none came). Pending calls raise :class:`SessionClosed`. Idempotent."""
        if self._closing:
            await self._closed.wait()
            return self.last_stats
        self._closing = True
        try:
            self._fail_pending(SessionClosed(f"session {self.session_id} closed"))
            ws = self._ws
            if ws is not None and self._state is SessionState.READY:
                waiter: "asyncio.Future[None]" = self._loop.create_future()
                self._closed_waiter = waiter
                with contextlib.suppress(ConnectionClosed, asyncio.TimeoutError, OSError):
                    async with self._send_lock:
                        await ws.send(control_message("close_session", self.session_id,
                                                      reason=reason[:64]))
                    await asyncio.wait_for(waiter, self._opts.close_timeout)
            if self._supervisor is not None:
                self._supervisor.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._supervisor
            if ws is not None:
                await ws.close()
            self._drop_connection_state("session closed", SessionClosed)
        finally:
            self._state = SessionState.CLOSED
            self._closed.set()
            self._on_finished(self)
        return self.last_stats

    # --- start-up and reconnection ------------------------------------------------------

    async def _start(self) -> None:
        """Opens the first connection; raises what _open raises."""
        ws = await self._open()
        self._attach(ws)
        self._supervisor = self._loop.create_task(self._supervise(),
                                                  name=f"lacquer-session-{self.session_id}")

    async def _open(self) -> WebSocketClientProtocol:
        """Connects and runs init_session -> session_ready. Raises LacquerConnectionError for
        transport failures and a ServerError when the service refuses the session."""
        o = self._opts
        headers = {"Authorization": f"Bearer {o.token}"} if o.token else None
        try:
            ws = await connect(
                o.url, extra_headers=headers, compression=None, open_timeout=o.connect_timeout,
                close_timeout=o.close_timeout, max_size=o.max_message_size,
                ping_interval=o.ping_interval, ping_timeout=o.ping_timeout)
        except InvalidStatusCode as e:
            raise LacquerConnectionError(f"{o.url}: HTTP {e.status_code} instead of a "
                                         "WebSocket upgrade") from e
        except (OSError, InvalidHandshake, asyncio.TimeoutError) as e:
            raise LacquerConnectionError(f"cannot connect to {o.url}: "
                                         f"{e or type(e).__name__}") from e
        try:
            with contextlib.suppress(ConnectionClosed):
                # a refusing service (UNAUTHORIZED, SERVER_BUSY) may close before the send:
                # its error message is still read below
                await ws.send(init_session_message(self.session_id, self.nail_reference,
                                                   self.config))
            self.ready_message = await self._await_ready(ws)
        except BaseException:
            await ws.close()
            raise
        return ws

    async def _await_ready(self, ws: WebSocketClientProtocol) -> Dict[str, Any]:
        deadline = self._loop.time() + self._opts.ready_timeout
        ready: Optional[Dict[str, Any]] = None
        while True:
            left = deadline - self._loop.time()
            try:
                if left <= 0:
                    raise asyncio.TimeoutError
                raw = await asyncio.wait_for(ws.recv(), left)
            except asyncio.TimeoutError:
                if ready is not None:
                    return ready  # session_ready said "failed" but no error followed
                raise LacquerConnectionError(
                    f"no session_ready within {self._opts.ready_timeout:g} s") from None
            except ConnectionClosed as e:
                raise LacquerConnectionError(
                    f"connection closed before session_ready: {e.code} {e.reason}".strip(),
                    e.code) from e
            if isinstance(raw, bytes):
                continue
            m = _json_object(raw)
            if m is None or m.get("session_id") not in (None, self.session_id):
                continue
            mtype = m.get("type")
            if ready is None and mtype == "session_ready":
                ready = m
                if m.get("reference") != "failed":
                    return ready
                # the REFERENCE_FETCH_FAILED error follows session_ready
                deadline = min(deadline, self._loop.time() + _REFERENCE_ERROR_WAIT_S)
            elif mtype == "error":
                err = error_from_message(m)
                if ready is not None and err.code == "REFERENCE_FETCH_FAILED":
                    self.reference_error = err
                    return ready
                if ready is None:
                    raise err
            elif mtype == "stats":
                self.last_stats = SessionStats.from_message(m)

    def _attach(self, ws: WebSocketClientProtocol) -> None:
        self._ws = ws
        self._restart = False
        self._draining = False
        self._server_close_reason = None
        self._state = SessionState.READY
        self._wakeup.set()

    async def _supervise(self) -> None:
        """Serves the current connection; when it ends, reconnects (unless closing)."""
        try:
            while True:
                ws = self._ws
                assert ws is not None
                await self._serve(ws)
                reason = _describe_close(ws)
                self._drop_connection_state(reason, SessionClosed if self._closing else None)
                if self._closing:
                    return
                if self._server_close_reason == "timeout" and not self._restart:
                    # the service closed the idle session: re-create it when next needed
                    self._state = SessionState.IDLE
                    log.info("session %s closed by the service as idle", self.session_id)
                    while self._pending is None and not self._closing:
                        self._wakeup.clear()
                        await self._wakeup.wait()
                    if self._closing:
                        return
                else:
                    log.warning("session %s: %s; reconnecting", self.session_id, reason)
                self._state = SessionState.RECONNECTING
                new_ws = await self._reconnect()
                if new_ws is None:
                    return
                self._attach(new_ws)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a bug here must not leave callers waiting forever
            log.exception("session %s supervisor failed", self.session_id)
            self._fail(SessionLost(f"session {self.session_id}: internal error: {e}"))

    async def _reconnect(self) -> Optional[WebSocketClientProtocol]:
        policy = self._opts.reconnect
        attempt = 0
        last: Optional[BaseException] = None
        while policy.max_attempts is None or attempt < policy.max_attempts:
            attempt += 1
            await asyncio.sleep(policy.delay(attempt, self._rng))
            if self._closing:
                return None
            try:
                ws = await self._open()
            except (UnauthorizedError, InvalidRequestError) as e:
                self._fail(SessionLost(f"session {self.session_id} cannot be re-created: {e}"),
                           cause=e)
                return None
            except (LacquerConnectionError, ServerError) as e:
                last = e
                log.info("session %s: reconnect attempt %d failed: %s", self.session_id,
                         attempt, e)
                continue
            self.counters.reconnects += 1
            log.info("session %s re-created after %d attempt(s)", self.session_id, attempt)
            return ws
        self._fail(SessionLost(f"session {self.session_id}: gave up reconnecting after "
                               f"{attempt} attempt(s): {last}"), cause=last)
        return None

    def _fail(self, exc: SessionLost, cause: Optional[BaseException] = None) -> None:
        if cause is not None:
            exc.__cause__ = cause
        self.failure = exc
        self._state = SessionState.FAILED
        log.error("%s", exc)
        self._fail_pending(exc)
        self._on_finished(self)

    # --- one connection -----------------------------------------------------------------

    async def _serve(self, ws: WebSocketClientProtocol) -> None:
        sender = self._loop.create_task(self._send_loop(ws))
        try:
            await self._read_loop(ws)
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender

    async def _send_loop(self, ws: WebSocketClientProtocol) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while (self._pending is not None and self._accepting_frames()
                   and len(self._inflight) < self._opts.max_in_flight):
                frame, self._pending = self._pending, None
                if frame.future.done():  # the caller gave up on it
                    continue
                msgs = frame_messages(self._opts.encoding, self.session_id, frame.sequence,
                                      frame.image, frame.fmt, frame.width, frame.height,
                                      epoch_ms())
                frame.sent_at = time.monotonic()
                self._inflight[frame.sequence] = frame
                frame.timer = self._loop.call_later(frame.timeout, self._expire, frame)
                try:
                    async with self._send_lock:
                        for m in msgs:
                            await ws.send(m)
                except ConnectionClosed:
                    return  # the reader ends too; the frame is failed as lost
                self.counters.sent += 1

    def _accepting_frames(self) -> bool:
        # After a restart request, the service's close_session or its SHUTTING_DOWN the
        # connection is about to end: frames sent now would only be lost or refused. They
        # wait for the next connection.
        return not (self._restart or self._draining or self._server_close_reason is not None)

    async def _read_loop(self, ws: WebSocketClientProtocol) -> None:
        awaiting_image: Optional[Dict[str, Any]] = None  # split encoding: header seen
        while True:
            try:
                raw = await ws.recv()
            except ConnectionClosed:
                return
            if isinstance(raw, bytes):
                if awaiting_image is not None:
                    meta, awaiting_image = awaiting_image, None
                    self._on_processed(meta, raw)
                    continue
                try:
                    meta, image = parse_header_reply(raw)
                except ValueError as e:
                    log.warning("session %s: unexpected binary message: %s", self.session_id, e)
                    continue
                if meta.get("type") == "processed_frame":
                    self._on_processed(meta, image)
                else:
                    self._on_control(meta, ws)
                continue
            if awaiting_image is not None:
                log.warning("session %s: processed_frame %s came without its image",
                            self.session_id, awaiting_image.get("sequence"))
                self._on_processed(awaiting_image, None)
                awaiting_image = None
            m = _json_object(raw)
            if m is None:
                log.warning("session %s: unparsable text message", self.session_id)
                continue
            if m.get("type") == "processed_frame":
                if "frame_data" in m:
                    decoded: Optional[bytes]
                    try:
                        decoded = base64.b64decode(m.pop("frame_data"))
                    except (binascii.Error, TypeError, ValueError):
                        decoded = None
                    self._on_processed(m, decoded)
                else:
                    awaiting_image = m
            else:
                self._on_control(m, ws)

    def _on_processed(self, meta: Dict[str, Any], image: Optional[bytes]) -> None:
        seq = meta.get("sequence")
        frame = self._inflight.pop(seq, None) if isinstance(seq, int) else None
        if frame is None or not isinstance(seq, int):
            self.counters.late_replies += 1
            log.debug("session %s: discarded late reply for frame %s", self.session_id, seq)
            return
        if image is None:
            self._settle(frame, exc=LacquerError(
                f"protocol violation: processed_frame {seq} without a decodable image"))
        else:
            self.counters.processed += 1
            rtt = (time.monotonic() - frame.sent_at) * 1000.0
            self._settle(frame, result=FrameResult(seq, image, meta, rtt))
        self._wakeup.set()

    def _on_control(self, m: Dict[str, Any], ws: WebSocketClientProtocol) -> None:
        mtype = m.get("type")
        if mtype == "error":
            self._on_error(m, ws)
        elif mtype == "stats":
            stats = SessionStats.from_message(m)
            self.last_stats = stats
            for w in self._stats_waiters:
                if not w.done():
                    w.set_result(stats)
            self._stats_waiters.clear()
        elif mtype == "session_closed":
            if self._closed_waiter is not None and not self._closed_waiter.done():
                self._closed_waiter.set_result(None)
        elif mtype == "close_session":
            self._server_close_reason = str(m.get("reason") or "unknown")
            self._state = SessionState.RECONNECTING
            log.info("session %s: the service closes it (%s)", self.session_id,
                     self._server_close_reason)
        elif mtype == "session_ready":
            self.ready_message = m
        else:
            log.debug("session %s: ignored message type %r", self.session_id, mtype)

    def _on_error(self, m: Dict[str, Any], ws: WebSocketClientProtocol) -> None:
        err = error_from_message(m)
        frame = self._inflight.pop(err.sequence, None) if err.sequence is not None else None
        if frame is not None and err.code == "SHUTTING_DOWN":
            # The instance is draining and refused the frame unprocessed: send nothing more
            # here, and send this frame again on the next connection unless a newer one waits.
            self._draining = True
            self._carry_over(frame)
            return
        if frame is not None:
            self.counters.server_errors += 1
            self._settle(frame, exc=err)
            self._wakeup.set()
            if not err.recoverable and err.code != "SHUTTING_DOWN":
                # "this session cannot go on as it is": re-create it on a new connection
                self._request_restart(ws, err)
            return
        if err.code == "REFERENCE_FETCH_FAILED":
            self.reference_error = err
        elif err.sequence is not None:
            self.counters.late_replies += 1  # for a frame already timed out or lost
        else:
            for w in self._stats_waiters:
                if not w.done():
                    w.set_exception(err)
            self._stats_waiters.clear()
            log.warning("session %s: %s", self.session_id, err)
            if not err.recoverable and err.code not in ("SHUTTING_DOWN", "UNAUTHORIZED"):
                self._request_restart(ws, err)

    def _request_restart(self, ws: WebSocketClientProtocol, err: ServerError) -> None:
        if self._restart or self._closing:
            return
        log.warning("session %s: %s is not recoverable; re-creating the session",
                    self.session_id, err.code)
        self._restart = True
        self._state = SessionState.RECONNECTING
        task = self._loop.create_task(ws.close(1000, "restarting session"))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # --- frame bookkeeping --------------------------------------------------------------

    def _carry_over(self, frame: _Frame) -> None:
        if frame.timer is not None:
            frame.timer.cancel()
            frame.timer = None
        other = self._pending
        if other is None or other.future.done():
            self._pending = frame
            return
        older, newer = (frame, other) if frame.sequence < other.sequence else (other, frame)
        self._pending = newer
        self.counters.superseded += 1
        self._settle(older, exc=FrameSuperseded(older.sequence, newer.sequence))

    def _expire(self, frame: _Frame) -> None:
        if self._inflight.get(frame.sequence) is not frame:
            return
        del self._inflight[frame.sequence]
        self.counters.timed_out += 1
        self._settle(frame, exc=FrameTimeout(frame.sequence, frame.timeout))
        self._wakeup.set()

    @staticmethod
    def _settle(frame: _Frame, result: Optional[FrameResult] = None,
                exc: Optional[BaseException] = None) -> None:
        if frame.timer is not None:
            frame.timer.cancel()
            frame.timer = None
        if frame.future.done():
            return
        if exc is not None:
            frame.future.set_exception(exc)
        else:
            frame.future.set_result(result)  # type: ignore[arg-type]

    def _drop_connection_state(self, reason: str,
                               exc_type: Optional[type]) -> None:
        """The connection is gone: in-flight frames and stats requests fail."""
        self._ws = None
        for frame in list(self._inflight.values()):
            if exc_type is None:
                self.counters.lost += 1
                self._settle(frame, exc=FrameLost(frame.sequence, reason))
            else:
                self._settle(frame, exc=exc_type(f"frame {frame.sequence}: {reason}"))
        self._inflight.clear()
        for w in self._stats_waiters:
            if not w.done():
                w.set_exception(LacquerConnectionError(reason))
        self._stats_waiters.clear()
        if self._closed_waiter is not None and not self._closed_waiter.done():
            self._closed_waiter.set_result(None)

    def _fail_pending(self, exc: BaseException) -> None:
        frame, self._pending = self._pending, None
        if frame is not None:
            self._settle(frame, exc=exc)
        self._wakeup.set()

    def _check_usable(self) -> None:
        if self._closing or self._state is SessionState.CLOSED:
            raise SessionClosed(f"session {self.session_id} is closed")
        if self._state is SessionState.FAILED:
            raise SessionLost(str(self.failure)) from self.failure

    def _take_sequence(self, sequence: Optional[int]) -> int:
        if sequence is None:
            sequence = self._last_sequence + 1
        elif (not isinstance(sequence, int) or isinstance(sequence, bool)
              or sequence <= self._last_sequence):
            raise ValueError(f"sequence must be an integer greater than {self._last_sequence}")
        if sequence > MAX_SEQUENCE:
            raise ValueError("sequence exceeds 2**53")
        self._last_sequence = sequence
        return sequence


class LacquerClient:
    """Factory and registry of try-on sessions; holds the settings they share.

    ``url``: the service's WebSocket endpoint. ``token``: sent as ``Authorization: Bearer``
    when the service has AUTH_TOKEN set. ``encoding``: how frames travel (default the binary
    1024-byte header; ``"split"`` = text header + binary image, ``"base64"``).
    ``max_in_flight``, ``frame_timeout``, ``reconnect``: see the module docstring.
    ``ready_timeout``: wait for session_ready (the service fetches the reference photo first,
    within its FETCH_TIMEOUT_MS of 3 s). ``default_config``: merged under every session's
    ``config`` (e.g. ``{"output_format": "webp", "quality": "balanced"}``).

    Create sessions from a running event loop; the client object itself holds no
    connection and may be shared by every consumer of a process.
    """

    def __init__(self, url: str = DEFAULT_URL, *, token: Optional[str] = None,
                 encoding: Union[FrameEncoding, str] = FrameEncoding.HEADER,
                 max_in_flight: int = 2, frame_timeout: float = 3.0,
                 ready_timeout: float = 10.0, connect_timeout: float = 5.0,
                 close_timeout: float = 5.0, reconnect: Optional[ReconnectPolicy] = None,
                 max_message_size: int = 32 * 1024 * 1024,
                 ping_interval: Optional[float] = 20.0, ping_timeout: Optional[float] = 20.0,
                 default_config: Optional[Mapping[str, Any]] = None) -> None:
        self.options = ClientOptions(
            url=url, token=token, encoding=FrameEncoding(encoding), max_in_flight=max_in_flight,
            frame_timeout=frame_timeout, ready_timeout=ready_timeout,
            connect_timeout=connect_timeout, close_timeout=close_timeout,
            reconnect=reconnect or ReconnectPolicy(), max_message_size=max_message_size,
            ping_interval=ping_interval, ping_timeout=ping_timeout)
        self.default_config: Dict[str, Any] = dict(default_config or {})
        self._sessions: Dict[str, TryOnSession] = {}

    @property
    def sessions(self) -> Dict[str, TryOnSession]:
        """Open sessions by id (a copy)."""
        return dict(self._sessions)

    async def initialize_session(self, *, design: Optional[Mapping[str, Any]] = None,
                                 reference_url: Optional[str] = None,
                                 post_id: Optional[int] = None,
                                 config: Optional[Mapping[str, Any]] = None,
                                 session_id: Optional[str] = None) -> TryOnSession:
        """Opens a connection, sends ``init_session`` and waits for ``session_ready``.

        ``design``: the nail design metadata (shape, pattern, size, colors, finish; see
        docs/designs.md), None for the service's default design. ``reference_url``: a photo of
        the design (http/https) the service fetches before it answers. ``config``: session
        config (target_fps, quality, output_format, ...). ``session_id``: default a UUID4.

        Raises :class:`LacquerConnectionError` when the service cannot be reached (not
        retried here: the caller decides), :class:`InvalidRequestError` for an invalid design
        or config, :class:`ServiceUnavailableError` when the service is full or draining,
        :class:`UnauthorizedError` for a bad token.
        """
        sid = session_id or str(uuid.uuid4())
        if not SESSION_ID_RE.match(sid):
            raise ValueError("session_id: 1..128 characters from A-Z a-z 0-9 . _ : -")
        if sid in self._sessions:
            raise ValueError(f"session {sid} is already open on this client")
        nail_reference: Dict[str, Any] = {}
        if reference_url:
            nail_reference["url"] = reference_url
        if post_id is not None:
            nail_reference["post_id"] = post_id
        if design is not None:
            nail_reference["metadata"] = dict(design)
        session = TryOnSession(self.options, sid, nail_reference,
                               {**self.default_config, **dict(config or {})},
                               self._forget)
        self._sessions[sid] = session
        try:
            await session._start()
        except BaseException:
            self._sessions.pop(sid, None)
            raise
        return session

    def get_session(self, session_id: str) -> TryOnSession:
        try:
            return self._sessions[session_id]
        except KeyError:
            raise UnknownSessionError(f"no open session {session_id!r} on this client") from None

    async def process_frame(self, session_id: str, image: ImageBytes,
                            **kwargs: Any) -> FrameResult:
        """Same as ``get_session(session_id).process_frame(image, ...)`` (the guide's shape)."""
        return await self.get_session(session_id).process_frame(image, **kwargs)

    async def stats(self, session_id: str) -> SessionStats:
        return await self.get_session(session_id).stats()

    async def close_session(self, session_id: str,
                            reason: str = "user_disconnected") -> Optional[SessionStats]:
        session = self._sessions.get(session_id)
        return await session.close(reason) if session is not None else None

    async def close(self) -> None:
        """Closes every session of this client."""
        sessions = list(self._sessions.values())
        await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)

    async def __aenter__(self) -> "LacquerClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def _forget(self, session: TryOnSession) -> None:
        if self._sessions.get(session.session_id) is session:
            del self._sessions[session.session_id]


def _json_object(raw: Union[str, bytes]) -> Optional[Dict[str, Any]]:
    try:
        m = json.loads(raw)
    except ValueError:
        return None
    return m if isinstance(m, dict) else None


def _describe_close(ws: WebSocketClientProtocol) -> str:
    code = ws.close_code
    if code is None or code == 1006:
        return "connection lost"
    reason = ws.close_reason or ""
    return f"connection closed by the service ({code}{' ' + reason if reason else ''})"
