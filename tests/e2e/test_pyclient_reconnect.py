"""Reconnection: the service is killed (or shut down) and restarted on the same port while a
camera-paced stream runs; the client re-creates the session and goes on. Also: an idle session
closed by the service comes back on next use; a service that never returns ends in SessionLost."""
import asyncio
import json
import random
import signal
import time

import pytest

from conftest import SLOW, read, run, video_frames
from pyclient_support import LacquerServer
from lacquer_client import (DetectionProblem, FrameLost, FrameResult, LacquerClient,
                            ReconnectPolicy, ServiceUnavailableError, SessionLost,
                            SessionState)

DESIGN = {"shape": "square", "colors": ["#2a9d8f"], "finish": "glossy"}
FPS = 25


@pytest.fixture
def lacquer():
    servers = []

    def make(*args, env=None):
        s = LacquerServer(*args, env=env)
        servers.append(s)
        return s.start()

    yield make
    for s in servers:
        s.stop()
        s.check_clean()


def client_for(url, policy=None):
    return LacquerClient(url, frame_timeout=3.0 * SLOW, ready_timeout=10.0 * SLOW,
                         reconnect=policy or ReconnectPolicy(initial_delay=0.05, max_delay=0.5,
                                                             max_attempts=200))


async def stream(session, frames, on_index=None):
    """Sends frames at 25 fps, one awaited at a time; returns (submit time, outcome) pairs."""
    out = []
    t0 = time.monotonic()
    for i, data in enumerate(frames):
        if on_index:
            on_index(i)
        submitted = time.monotonic()
        try:
            outcome = await session.process_frame(data)
        except (DetectionProblem, FrameLost, ServiceUnavailableError) as e:
            outcome = e
        out.append((submitted, outcome))
        delay = t0 + (i + 1) / FPS - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
    return out


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill", "term"])
def test_restart_mid_stream_recreates_the_session(lacquer, sig):
    srv = lacquer()
    frames = [read(p) for p in video_frames("palm_reach")[20:150]]
    sid = f"restart-{sig.name.lower()}"

    async def go():
        loop = asyncio.get_running_loop()
        client = client_for(srv.url)
        session = await client.initialize_session(design=DESIGN, session_id=sid)
        restarted = {}

        def restart():
            srv.stop(sig)
            restarted["down"] = time.monotonic()
            time.sleep(0.3)  # the port stays closed for a while: reconnects are refused
            srv.start()
            restarted["up"] = time.monotonic()

        restart_task = []

        def on_index(i):
            if i == 40:
                restart_task.append(loop.run_in_executor(None, restart))

        out = await stream(session, frames, on_index)
        await restart_task[0]
        stats = await session.stats()
        await session.close()
        return session, out, restarted, stats

    session, out, restarted, stats = run(go())
    c = session.counters
    assert c.reconnects == 1, c
    after = [o for t, o in out if t > restarted["up"]]
    processed_after = [o for o in after if isinstance(o, FrameResult)]
    assert len(processed_after) >= 20, after
    # only a frame in flight when the connection died is lost (one at a time here); a
    # graceful shutdown loses nothing: frames it refuses while draining are sent again
    lost = [o for _, o in out if isinstance(o, FrameLost)]
    assert len(lost) <= (1 if sig == signal.SIGKILL else 0) and c.lost == len(lost)
    assert c.timed_out == 0 and c.superseded == 0
    for _, o in out:
        assert isinstance(o, (FrameResult, DetectionProblem, FrameLost)), o
    # the new instance knows the session by the same id and counts only its own frames
    assert stats.raw["session_id"] == sid
    assert 0 < stats.frames_received < len(frames)
    starts = [r for r in map(_json, srv.logs().splitlines())
              if r and r.get("msg") == "session started" and r.get("session_id") == sid]
    assert len(starts) == 2, starts
    if sig == signal.SIGTERM:
        assert srv.exit_codes[0] == 0


def test_idle_session_comes_back_on_next_frame(lacquer):
    srv = lacquer("--idle-timeout", "1")
    frame = read(video_frames("palm_reach")[45])

    async def go():
        client = client_for(srv.url)
        session = await client.initialize_session(design=DESIGN)
        await session.process_frame(frame)
        for _ in range(int(100 * SLOW)):
            if session.state is SessionState.IDLE:
                break
            await asyncio.sleep(0.05)
        assert session.state is SessionState.IDLE
        assert session.counters.reconnects == 0 and session.counters.lost == 0
        r = await session.process_frame(frame)
        assert r.sequence == 1 and session.state is SessionState.READY
        assert session.counters.reconnects == 1
        await session.close()
    run(go())


def test_a_service_that_stays_down_ends_in_session_lost(lacquer):
    srv = lacquer()
    frame = read(video_frames("palm_reach")[45])

    async def go():
        client = client_for(srv.url, ReconnectPolicy(initial_delay=0.05, max_delay=0.2,
                                                     max_attempts=3))
        session = await client.initialize_session(design=DESIGN)
        await session.process_frame(frame)
        srv.stop(signal.SIGKILL)
        for _ in range(100):
            if session.state is not SessionState.READY:
                break
            await asyncio.sleep(0.02)
        t0 = time.monotonic()
        with pytest.raises(SessionLost) as e:
            await session.process_frame(frame)  # waits for the reconnect attempts
        assert "3 attempt" in str(e.value) and e.value.__cause__ is not None
        # three backoff delays of at least 0.025, 0.05 and 0.1 s (jitter halves at most)
        assert 0.17 < time.monotonic() - t0 < 5
        assert session.state is SessionState.FAILED and client.sessions == {}
        with pytest.raises(SessionLost):
            await session.process_frame(frame)
        await session.close()  # closing a failed session is fine
        assert session.state is SessionState.CLOSED
    run(go())


def test_backoff_delays_grow_exponentially_with_jitter():
    policy = ReconnectPolicy(initial_delay=0.1, max_delay=2.0, multiplier=2.0, jitter=0.5)
    rng = random.Random(7)
    for attempt, base in [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.6), (6, 2.0), (9, 2.0)]:
        delays = [policy.delay(attempt, rng) for _ in range(200)]
        assert all(base * 0.5 <= d <= base for d in delays), (attempt, min(delays), max(delays))
        assert max(delays) - min(delays) > base * 0.3  # jittered, not constant
    with pytest.raises(ValueError):
        ReconnectPolicy(jitter=1.5)


def _json(line):
    try:
        return json.loads(line)
    except ValueError:
        return None
