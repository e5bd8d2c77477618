"""SIGTERM under load: four sessions stream 25 fps each (more than two workers can paint, so
frames are also being dropped by the queue policy) in all three encodings when the server is
told to stop. Every frame sent before the signal gets exactly one answer; nothing is answered
twice; each session's final stats add up (received = processed + dropped + with errors); every
client gets stats, close_session "server_shutdown" and close code 1001; the server exits 0."""
import asyncio
import json
import signal
import time

import websockets

from conftest import (HEADER_SIZE, SLOW, open_session, read, run, send_frame, video_frames)

FRAMES = [read(p) for p in video_frames("palm_reach")[:60]]


async def session(url, sid, encoding, t_signal):
    ws, _ = await open_session(url, sid)
    sent = {}          # sequence -> time sent
    answers = {}       # sequence -> list of answers (type or error code)
    log = {"stats": None, "close": None, "code": None}

    async def sender():
        seq = 0
        while log["close"] is None:
            seq += 1
            try:
                await send_frame(ws, sid, seq, FRAMES[seq % len(FRAMES)], encoding)
            except websockets.ConnectionClosed:
                return
            sent[seq] = time.time()
            await asyncio.sleep(0.04)

    async def receiver():
        try:
            while True:
                msg = await ws.recv()
                if isinstance(msg, bytes):
                    if encoding == 2:
                        m = json.loads(msg[:HEADER_SIZE].rstrip(b" \0"))
                        answers.setdefault(m["sequence"], []).append(m["type"])
                    continue
                m = json.loads(msg)
                if m["type"] == "processed_frame":
                    answers.setdefault(m["sequence"], []).append("processed_frame")
                elif m["type"] == "error":
                    answers.setdefault(m["sequence"], []).append(m["code"])
                elif m["type"] == "stats":
                    log["stats"] = m
                elif m["type"] == "close_session":
                    log["close"] = m
        except websockets.ConnectionClosed as e:
            log["code"] = e.code

    await asyncio.gather(sender(), receiver())
    return sid, sent, answers, log


def test_sigterm_under_load(server_factory):
    srv = server_factory("--rate-limit-fps", "0", "--frame-queue-size", "2")
    t_signal = {}

    async def go():
        tasks = [asyncio.create_task(session(srv.url, f"load{i}", 1 + i % 3, t_signal))
                 for i in range(4)]
        await asyncio.sleep(3.0)
        t_signal["t"] = time.time()
        srv.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(asyncio.gather(*tasks), 30 * SLOW)

    results = run(go())
    t_sig = t_signal["t"]
    assert srv.proc.wait(15 * SLOW) == 0
    total_before = 0
    for sid, sent, answers, log in results:
        before = [s for s, t in sent.items() if t < t_sig - 0.01]
        total_before += len(before)
        missing = [s for s in before if s not in answers]
        assert not missing, f"{sid}: frames sent before SIGTERM never answered: {missing}"
        twice = {s: a for s, a in answers.items() if len(a) > 1}
        assert not twice, f"{sid}: answered more than once: {twice}"
        for s, a in answers.items():
            assert a[0] in ("processed_frame", "PROCESSING_TIMEOUT", "SHUTTING_DOWN",
                            "HAND_NOT_DETECTED", "PARTIAL_HAND_DETECTED", "BLUR_DETECTED",
                            "LOW_LIGHT"), (sid, s, a)
            if a[0] == "SHUTTING_DOWN":
                assert sent[s] > t_sig - 0.01, (sid, s, "refused although sent before SIGTERM")
        assert log["close"] and log["close"]["reason"] == "server_shutdown", (sid, log)
        assert log["code"] == 1001, (sid, log)
        st = log["stats"]
        assert st["frames_received"] == (st["frames_processed"] + st["frames_dropped"] +
                                         st["frames_with_errors"]), (sid, st)
        processed = sum(1 for a in answers.values() if a[0] == "processed_frame")
        assert st["frames_processed"] == processed, (sid, st, processed)
    assert total_before > 4 * 40  # the load was real: 3 s at 25 fps in 4 sessions
    recs = srv.log_records()
    assert any(r.get("msg", "").startswith("shutting down") for r in recs)
