"""Backpressure: latest frame wins under a flood; a slow reader cannot make the server buffer without bound."""
import asyncio
import json
import os
import time

import pytest
import websockets

from conftest import (HEADER_SIZE, SLOW, open_session, read, recv_json, run, send_frame,
                      video_frames)


def test_flood_drops_oldest_waiting_frames(server_factory):
    srv = server_factory("--frame-queue-size", "2", "--rate-limit-fps", "0", "--workers", "1")
    frames = [read(p) for p in video_frames("palm_reach")[30:70]]
    async def go():
        ws, _ = await open_session(srv.url)
        for seq, data in enumerate(frames, start=1):
            await send_frame(ws, "s1", seq, data, 1)
        replies = {}
        dropped = []
        while len(replies) + len(dropped) < len(frames):
            msg = await asyncio.wait_for(ws.recv(), 30 * SLOW)
            if isinstance(msg, bytes):
                continue
            m = json.loads(msg)
            if m["type"] == "error" and m["code"] == "PROCESSING_TIMEOUT":
                assert m["recoverable"] is True and "dropped" in m["message"]
                assert "FRAME_QUEUE_SIZE=2" in m["message"]
                dropped.append(m["sequence"])
            elif m["type"] in ("processed_frame", "error"):
                replies[m["sequence"]] = m
        # every frame is answered exactly once, either processed (or a detection error) or dropped
        assert sorted(list(replies) + dropped) == list(range(1, len(frames) + 1))
        assert dropped, "40 frames sent at once must overflow a queue of 2"
        # the latest frames win: the last frame is always processed, and answers keep order
        assert len(frames) in replies
        assert list(replies) == sorted(replies)
        await ws.send(json.dumps({"type": "stats", "session_id": "s1"}))
        while True:  # the last processed_frame's image may still be on its way
            msg = await asyncio.wait_for(ws.recv(), 10 * SLOW)
            if isinstance(msg, str) and json.loads(msg)["type"] == "stats":
                st = json.loads(msg)
                break
        assert st["frames_dropped"] == len(dropped)
        assert st["frames_received"] == len(frames)
        await ws.close()
        return len(dropped)
    n = run(go())
    _, _, body = srv.get("/metrics")
    assert f'tryon_frames_dropped_total{{reason="queue_full"}} {n}' in body.decode()


def received_bytes(srv):
    _, _, body = srv.get("/metrics")
    for line in body.decode().splitlines():
        if line.startswith("tryon_received_bytes_total "):
            return int(float(line.split()[1]))
    raise AssertionError("no tryon_received_bytes_total")


def test_slow_reader_is_bounded(server_factory):
    """A client that sends frames and never reads: once OUTPUT_QUEUE_MAX bytes of
    replies wait for it, the server stops reading from it (TCP backpressure), so
    neither its input nor its output is buffered without bound."""
    srv = server_factory("--output-queue-max", "256k", "--rate-limit-fps", "0",
                         "--frame-queue-size", "2")
    data = read(video_frames("asl_hand")[10])  # 620x1080: big PNG replies

    def rss_kb():
        with open(f"/proc/{srv.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])

    async def go():
        ws = await websockets.connect(srv.url, max_size=None, max_queue=1, read_limit=2**12,
                                      write_limit=2**16, close_timeout=1)
        await ws.send(json.dumps({"type": "init_session", "session_id": "s1",
                                  "nail_reference": {"metadata": {}},
                                  "config": {"output_format": "png", "quality": "low"}}))
        sent, blocked = 0, False
        t_end = time.time() + 20 * SLOW
        while time.time() < t_end:
            try:
                await asyncio.wait_for(send_frame(ws, "s1", sent + 1, data, 2), 2.0 * SLOW)
            except asyncio.TimeoutError:
                blocked = True  # the server stopped reading: our send blocks
                break
            sent += 1
        assert blocked, f"sent {sent} frames without the server pushing back"
        r1, rss1 = received_bytes(srv), rss_kb()
        await asyncio.sleep(1.0)
        r2, rss2 = received_bytes(srv), rss_kb()
        assert r2 == r1, "the server kept reading from a client that does not read"
        assert rss2 - rss1 < 16 * 1024
        _, _, body = srv.get("/metrics")
        status, _, _ = srv.get("/health")
        assert status == 200  # and it still serves everyone else
        ws.transport.abort()
        return sent
    run(go())


def test_frames_waiting_past_the_deadline_are_dropped(server_factory):
    srv = server_factory("--frame-deadline-ms", "1", "--frame-queue-size", "16",
                         "--rate-limit-fps", "0", "--workers", "1")
    frames = [read(p) for p in video_frames("palm_reach")[40:50]]
    async def go():
        ws, _ = await open_session(srv.url)
        for seq, data in enumerate(frames, start=1):
            await send_frame(ws, "s1", seq, data, 3)
        late, done = [], []
        while len(late) + len(done) < len(frames):
            m = json.loads(await asyncio.wait_for(ws.recv(), 30 * SLOW))
            if m.get("code") == "PROCESSING_TIMEOUT":
                assert "FRAME_DEADLINE_MS=1" in m["message"]
                late.append(m["sequence"])
            else:
                done.append(m["sequence"])
        assert late and done and 1 in done  # the first frame starts at once
        await ws.close()
    run(go())
    _, _, body = srv.get("/metrics")
    assert 'tryon_frames_dropped_total{reason="deadline"} 0' not in body.decode()
