"""Blocking wrapper for scripts and synchronous code.

    with SyncLacquerClient("ws://localhost:8002/ws/tryon") as client:
        session = client.initialize_session(design={"shape": "oval", "colors": ["red"]})
        result = session.process_frame(open("frame.webp", "rb").read())
        print(result.metadata["detection_info"])
        session.close()

The async client runs on an event loop in a private daemon thread; every method blocks the
calling thread until the coroutine finishes there and re-raises its exceptions unchanged
(the same classes as the async API). Methods may be called from any thread except the
client's own loop thread. Do not use this inside an async application: use
:class:`LacquerClient` directly.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any, Coroutine, Dict, Optional, TypeVar

from .client import DEFAULT_URL, LacquerClient, SessionState, TryOnSession
from .errors import ServerError
from .protocol import ClientCounters, FrameResult, SessionStats

T = TypeVar("T")


class SyncSession:
    """Blocking view of a :class:`TryOnSession`."""

    def __init__(self, owner: "SyncLacquerClient", session: TryOnSession) -> None:
        self._owner = owner
        self._session = session

    @property
    def session_id(self) -> str:
        return self._session.session_id

    @property
    def state(self) -> SessionState:
        return self._session.state

    @property
    def counters(self) -> ClientCounters:
        return self._session.counters

    @property
    def ready_message(self) -> Dict[str, Any]:
        return self._session.ready_message

    @property
    def last_stats(self) -> Optional[SessionStats]:
        return self._session.last_stats

    @property
    def reference_error(self) -> Optional[ServerError]:
        return self._session.reference_error

    def process_frame(self, image: bytes, **kwargs: Any) -> FrameResult:
        """Sends a frame and waits for its result (see TryOnSession.process_frame)."""
        return self._owner._call(self._session.process_frame(image, **kwargs))

    def submit_frame(self, image: bytes,
                     **kwargs: Any) -> "concurrent.futures.Future[FrameResult]":
        """Submits a frame without waiting; the returned future gives the FrameResult or
        raises. Submission order is sequence order, and latest-frame-wins applies: when
        frames are submitted faster than replies arrive, older unsent ones raise
        FrameSuperseded."""
        return self._owner._submit(self._session.process_frame(image, **kwargs))

    def stats(self, timeout: Optional[float] = None) -> SessionStats:
        return self._owner._call(self._session.stats(timeout))

    def close(self, reason: str = "user_disconnected") -> Optional[SessionStats]:
        return self._owner._call(self._session.close(reason))


class SyncLacquerClient:
    """Blocking facade over :class:`LacquerClient`; takes the same arguments."""

    def __init__(self, url: str = DEFAULT_URL, **kwargs: Any) -> None:
        self._client = LacquerClient(url, **kwargs)  # validates before the thread starts
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="lacquer-client-loop",
                                        daemon=True)
        self._closed = False
        self._thread.start()

    @property
    def client(self) -> LacquerClient:
        """The async client (use it only through coroutines run on this wrapper's loop)."""
        return self._client

    def initialize_session(self, **kwargs: Any) -> SyncSession:
        """Same arguments as LacquerClient.initialize_session."""
        return SyncSession(self, self._call(self._client.initialize_session(**kwargs)))

    def close(self) -> None:
        """Closes every session, stops the loop thread. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self._call(self._client.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()

    def __enter__(self) -> "SyncLacquerClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()
        # cancel what is left so no task is destroyed pending
        tasks = asyncio.all_tasks(self._loop)
        for t in tasks:
            t.cancel()
        if tasks:
            self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))

    def _submit(self, coro: Coroutine[Any, Any, T]) -> "concurrent.futures.Future[T]":
        if self._closed and not self._loop.is_running():
            coro.close()
            raise RuntimeError("SyncLacquerClient is closed")
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("blocking call from the client's own event loop thread")
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._submit(coro).result()
