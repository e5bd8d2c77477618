"""The whole chain for real: a browser-like WebSocket client -> Daphne running
examples/django (Channels TryOnConsumer) -> lacquer_client -> `lacquer serve` -> back."""
import asyncio
import json
import signal
import time

import pytest
import websockets
from websockets.exceptions import InvalidStatusCode

from conftest import SLOW, free_port, png_bytes, read, run, video_frames
from pyclient_support import DaphneExample, LacquerServer

DESIGN = {"shape": "coffin", "pattern": "french_tips", "size": "long",
          "colors": ["#ffc0cb", "white"], "finish": "glossy"}


@pytest.fixture
def daphne():
    started = []

    def make(lacquer_url):
        d = DaphneExample(lacquer_url)
        started.append(d)
        return d

    yield make
    for d in started:
        logs = d.close()
        assert "Traceback" not in logs, logs


async def browser(d):
    return await websockets.connect(d.ws_url, origin=d.origin, max_size=None)


async def recv_json(ws, timeout=10.0):
    m = await asyncio.wait_for(ws.recv(), timeout * SLOW)
    assert isinstance(m, str), f"expected text, got {len(m)} bytes"
    return json.loads(m)


class Collector:
    """Reads the gateway's replies: per sequence, ("processed", meta, image), ("error", m)
    or ("dropped", m)."""

    def __init__(self, ws):
        self.ws = ws
        self.by_seq = {}
        self.other = []
        self.task = asyncio.ensure_future(self.run())

    async def run(self):
        while True:
            m = json.loads(await self.ws.recv())
            if m["type"] == "processed_frame":
                img = await self.ws.recv()
                assert isinstance(img, bytes), "processed_frame must be followed by its image"
                self.add(m["sequence"], ("processed", m, img))
            elif m["type"] in ("error", "dropped") and m.get("sequence") is not None:
                self.add(m["sequence"], (m["type"], m))
            else:
                self.other.append(m)

    def add(self, seq, item):
        assert seq not in self.by_seq, f"two answers for frame {seq}"
        self.by_seq[seq] = item

    async def wait_for(self, count, timeout=20.0):
        deadline = time.monotonic() + timeout * SLOW
        while len(self.by_seq) < count:
            if self.task.done():
                self.task.result()
            assert time.monotonic() < deadline, f"{len(self.by_seq)}/{count} answers"
            await asyncio.sleep(0.02)

    async def stop(self):
        self.task.cancel()
        try:
            await self.task
        except (asyncio.CancelledError, websockets.ConnectionClosed):
            pass


def test_frames_through_django_and_back(server, daphne):
    d = daphne(server.url)
    frames = [read(p) for p in video_frames("palm_reach")[30:60]]

    async def go():
        ws = await browser(d)
        # frames before the design are refused
        await ws.send(frames[0])
        m = await recv_json(ws)
        assert (m["type"], m["code"]) == ("error", "NOT_STARTED")
        # the service's INVALID_DESIGN reaches the browser with its explanation
        await ws.send(json.dumps({"type": "start", "design": {"shape": "hexagon"}}))
        m = await recv_json(ws, 20)
        assert (m["type"], m["code"]) == ("error", "INVALID_DESIGN") and "shape" in m["message"]
        await ws.send(json.dumps({"type": "start", "design": DESIGN,
                                  "config": {"output_format": "webp"}}))
        ready = await recv_json(ws, 20)
        assert ready["type"] == "ready" and ready["reference"] == "none", ready
        assert ready["config"]["output_format"] == "webp"
        health = json.loads(server.get("/health")[2])
        assert health["active_sessions"] == 1

        col = Collector(ws)
        t0 = time.monotonic()
        for i, data in enumerate(frames):  # a 25 fps camera
            await ws.send(data)
            await asyncio.sleep(max(0.0, t0 + (i + 1) / 25 - time.monotonic()))
        await col.wait_for(len(frames))
        # one at a time, so that neither replaces the other
        await ws.send(frames[0][:500])       # a truncated image
        await col.wait_for(len(frames) + 1)
        await ws.send(png_bytes(320, 240))   # no hand at all
        await col.wait_for(len(frames) + 2)
        await ws.send(json.dumps({"type": "stats"}))
        for _ in range(200):
            if any(m["type"] == "stats" for m in col.other):
                break
            await asyncio.sleep(0.02)
        await col.stop()
        await ws.close()
        return ready, col

    ready, col = run(go())
    n = len(frames)
    assert sorted(col.by_seq) == list(range(n + 2))  # exactly one answer per frame
    processed = [v for v in col.by_seq.values() if v[0] == "processed"]
    answered = [v for v in col.by_seq.values() if v[0] != "dropped"]
    # an open hand fills these frames: most frames the service saw come back painted (how
    # many it saw depends on its speed: the gateway lets the latest frame win)
    assert len(processed) >= max(3, len(answered) // 2), [v[:2] for v in col.by_seq.values()]
    for _, meta, img in processed:
        assert meta["session_id"] == ready["session_id"]
        assert img.startswith(b"RIFF") and meta["frame_metadata"]["size_bytes"] == len(img)
        assert meta["detection_info"]["hands_detected"] >= 1
        assert meta["detection_info"]["overlay_applied"] is True
        assert meta["round_trip_ms"] > 0 and meta["processing_time_ms"] > 0
    for v in col.by_seq.values():
        if v[0] == "error":
            assert v[1]["recoverable"] is True and v[1]["suggestion"], v
    bad, nohand = col.by_seq[n], col.by_seq[n + 1]
    assert bad[0] == "error" and bad[1]["code"] == "INVALID_FRAME", bad
    assert nohand[0] == "error" and nohand[1]["code"] == "HAND_NOT_DETECTED", nohand
    stats = [m for m in col.other if m["type"] == "stats"][0]
    sent = stats["client"]["sent"]
    assert stats["service"]["frames_received"] == sent
    assert stats["client"]["submitted"] == n + 2
    assert sent + stats["client"]["superseded"] == n + 2
    dropped = [v for v in col.by_seq.values() if v[0] == "dropped"]
    assert len(dropped) == stats["client"]["superseded"]
    # the browser left: the gateway closed its service session
    for _ in range(100):
        if json.loads(server.get("/health")[2])["active_sessions"] == 0:
            break
        time.sleep(0.05)
    assert json.loads(server.get("/health")[2])["active_sessions"] == 0


def test_origin_is_checked(server, daphne):
    d = daphne(server.url)

    async def go():
        for origin in (None, "http://evil.example"):
            with pytest.raises(InvalidStatusCode) as e:
                await websockets.connect(d.ws_url, origin=origin)
            assert e.value.status_code == 403
    run(go())


def test_service_restart_is_invisible_to_the_browser(daphne):
    srv = LacquerServer().start()
    try:
        d = daphne(srv.url)
        frames = [read(p) for p in video_frames("palm_reach")[20:120]]

        async def go():
            loop = asyncio.get_running_loop()
            ws = await browser(d)
            await ws.send(json.dumps({"type": "start", "design": DESIGN}))
            assert (await recv_json(ws, 20))["type"] == "ready"
            col = Collector(ws)
            restart = None
            up = {}

            def kill_and_start():
                srv.stop(signal.SIGKILL)
                time.sleep(0.3)
                srv.start()
                up["t"] = time.monotonic()

            t0 = time.monotonic()
            for i, data in enumerate(frames):
                if i == 30:
                    restart = loop.run_in_executor(None, kill_and_start)
                await ws.send(data)
                await asyncio.sleep(max(0.0, t0 + (i + 1) / 25 - time.monotonic()))
            await restart
            await col.wait_for(len(frames), timeout=30)
            await col.stop()
            await ws.close()
            return col, up["t"]

        col, t_up = run(go())
        assert sorted(col.by_seq) == list(range(len(frames)))
        processed_late = [s for s, v in col.by_seq.items() if v[0] == "processed" and s >= 60]
        # how many depends on the machine's speed (the latest frame wins); a few are enough
        assert len(processed_late) >= 3, col.by_seq
        for v in col.by_seq.values():
            if v[0] == "error":
                assert v[1]["recoverable"], v  # no SERVICE_UNAVAILABLE, nothing fatal
    finally:
        srv.stop()
        srv.check_clean()


def test_service_down_at_start(daphne):
    d = daphne(f"ws://127.0.0.1:{free_port()}/ws/tryon")

    async def go():
        ws = await browser(d)
        await ws.send(json.dumps({"type": "start", "design": DESIGN}))
        m = await recv_json(ws, 20)
        assert (m["type"], m["code"]) == ("error", "SERVICE_UNAVAILABLE")
        await ws.close()
    run(go())
