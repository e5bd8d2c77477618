"""Sessions over time: stats every STATS_INTERVAL, idle timeout, capacity (1013), graceful shutdown."""
import asyncio
import json
import signal
import time

import pytest
import websockets

from conftest import (SLOW, open_session, read, recv_json, recv_reply, recv_until, run,
                      send_frame, video_frames)


def test_periodic_stats(server_factory):
    srv = server_factory("--stats-interval", "0.5")
    async def go():
        ws, _ = await open_session(srv.url)
        await send_frame(ws, "s1", 1, read(video_frames("palm_reach")[45]), 1)
        await recv_reply(ws, 1)
        t0 = time.time()
        stats = []
        while len(stats) < 2:
            m = await recv_json(ws, 5)
            if m["type"] == "stats":
                stats.append((time.time() - t0, m))
        for _, m in stats:
            assert m["session_id"] == "s1" and m["frames_received"] == 1
            for k in ["frames_processed", "frames_dropped", "frames_with_errors",
                      "avg_processing_time_ms", "p95_processing_time_ms", "avg_confidence"]:
                assert k in m
        assert 0.2 < stats[1][0] - stats[0][0] < 1.5
        await ws.close()
    run(go())


def test_idle_timeout_sends_close_session_timeout(server_factory):
    srv = server_factory("--idle-timeout", "1")
    async def go():
        ws, _ = await open_session(srv.url)
        t0 = time.time()
        closing, before = await recv_until(ws, "close_session", timeout=10)
        assert closing["reason"] == "timeout" and closing["session_id"] == "s1"
        assert any(m.get("type") == "stats" for m in before if isinstance(m, dict))
        assert 0.8 < time.time() - t0 < 4
        with pytest.raises(websockets.ConnectionClosed) as e:
            await asyncio.wait_for(ws.recv(), 5 * SLOW)
        assert e.value.code == 1000
        # a client that keeps talking is not idle
        ws, _ = await open_session(srv.url, "s2")
        for _ in range(6):
            await asyncio.sleep(0.4)
            await ws.send(json.dumps({"type": "stats", "session_id": "s2"}))
            assert (await recv_json(ws))["type"] == "stats"
        await ws.close()
    run(go())


def test_capacity_limit_closes_with_1013(server_factory):
    srv = server_factory("--max-concurrent-sessions", "2")
    async def go():
        a, _ = await open_session(srv.url, "a")
        b, _ = await open_session(srv.url, "b")
        c = await websockets.connect(srv.url, max_size=None)
        await c.send(json.dumps({"type": "init_session", "session_id": "c",
                                 "nail_reference": {"metadata": {}}}))
        err = await recv_json(c)
        assert err["code"] == "SERVER_BUSY" and err["recoverable"] is False
        assert "MAX_CONCURRENT_SESSIONS=2" in err["message"]
        with pytest.raises(websockets.ConnectionClosed) as e:
            await asyncio.wait_for(c.recv(), 5 * SLOW)
        assert e.value.code == 1013
        status, _, body = srv.get("/health")
        assert json.loads(body)["active_sessions"] == 2
        # a slot frees when a session ends
        await a.close()
        await asyncio.sleep(0.3)
        d, _ = await open_session(srv.url, "d")
        await d.close()
        await b.close()
    run(go())
    _, _, body = srv.get("/metrics")
    assert 'tryon_rejected_total{reason="capacity"} 1' in body.decode()


def test_graceful_shutdown_finishes_frames_and_says_goodbye(server_factory):
    srv = server_factory("--frame-queue-size", "4", "--rate-limit-fps", "0")
    frames = [read(p) for p in video_frames("palm_reach")[40:44]]
    async def go():
        ws, _ = await open_session(srv.url)
        idle, _ = await open_session(srv.url, "idle")
        for seq, data in enumerate(frames, start=1):
            await send_frame(ws, "s1", seq, data, 2)
        await asyncio.sleep(0.05)
        srv.proc.send_signal(signal.SIGTERM)
        answered = set()
        closing = None
        while True:
            msg = await asyncio.wait_for(ws.recv(), 30 * SLOW)
            if isinstance(msg, bytes):
                answered.add(json.loads(msg[:1024].rstrip(b" "))["sequence"])
                continue
            m = json.loads(msg)
            if m["type"] == "close_session":
                closing = m
                break
            if m["type"] == "error":
                answered.add(m["sequence"])
        assert closing["reason"] == "server_shutdown"
        assert answered == {1, 2, 3, 4}, "every accepted frame is answered before close"
        with pytest.raises(websockets.ConnectionClosed) as e:
            await asyncio.wait_for(ws.recv(), 5 * SLOW)
        assert e.value.code == 1001
        m, _ = await recv_until(idle, "close_session")
        assert m["reason"] == "server_shutdown"
        # no new connections are accepted while it drains or after it is gone
        with pytest.raises(Exception):
            await asyncio.wait_for(websockets.connect(srv.url), 5)
    run(go())
    assert srv.proc.wait(30 * SLOW) == 0
    assert any(r.get("msg", "").startswith("shutting down") for r in srv.log_records())


def test_sigint_with_no_clients_exits_zero(server):
    assert server.stop(signal.SIGINT) == 0


def test_server_pings_and_hangs_up_on_a_silent_peer(server_factory):
    """A raw client that completes the handshake but never answers: it gets a ping after
    PING_INTERVAL and is disconnected after 3 x PING_INTERVAL + 5 s."""
    import base64
    import os
    import socket
    srv = server_factory("--ping-interval", "1", "--idle-timeout", "0")
    s = socket.create_connection(("127.0.0.1", srv.port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET /ws/tryon HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    assert s.recv(4096).startswith(b"HTTP/1.1 101")
    s.settimeout(15 * SLOW)
    t0 = time.time()
    first = s.recv(2)
    assert first[0] & 0x0F == 0x9, first  # ping
    assert 0.5 < time.time() - t0 < 3 * SLOW
    while s.recv(100):
        pass
    assert time.time() - t0 < 12 * SLOW
    s.close()
