"""Valgrind memcheck on a short end-to-end run: `lacquer serve` (one worker) under valgrind
serves frames in the three encodings, a broken image, a reference photo fetched from a local
media server (curl's thread, the palette job), a client that leaves with a frame in flight,
a close_session, and a SIGTERM. Valgrind must report no error (invalid reads or writes,
uninitialised values, bad frees) and no definitely, indirectly or possibly lost block.
ctest-label: slow (about a minute: valgrind runs the models some 50x slower)

Suppressed (tests/e2e/valgrind.supp): libcpuinfo's memcpy of a CPUID word onto itself.
"""
import asyncio
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request

import pytest
import websockets

from conftest import BIN, DATA, HEADER_SIZE, MODELS, free_port, read, send_frame, video_frames

HERE = os.path.dirname(os.path.abspath(__file__))
VALGRIND = shutil.which("valgrind")
PHOTO = read(os.path.join(DATA, "hands", "kagglenails_09aefeec-e05f-11e8-87a6-0242ac1c0002.jpg"))
FRAME = read(video_frames("palm_reach")[20])

pytestmark = pytest.mark.skipif(not VALGRIND, reason="valgrind is not installed "
                                "(scripts/deps.sh --test)")


class Photo(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(PHOTO)))
        self.end_headers()
        self.wfile.write(PHOTO)

    def log_message(self, *args):
        pass


async def answer(ws, encoding, timeout=180):
    """The reply to a frame (periodic stats skipped: frames take seconds under valgrind)."""
    while True:
        msg = await asyncio.wait_for(ws.recv(), timeout)
        if isinstance(msg, bytes):
            return json.loads(msg[:HEADER_SIZE].rstrip(b" \0"))
        m = json.loads(msg)
        if m["type"] == "stats":
            continue
        if m["type"] == "processed_frame" and encoding == 1:
            assert isinstance(await asyncio.wait_for(ws.recv(), timeout), bytes)
        return m


def test_memcheck_end_to_end():
    media = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Photo)
    threading.Thread(target=media.serve_forever, daemon=True).start()
    port = free_port()
    log = tempfile.mktemp(prefix="lacquer-valgrind-", suffix=".log")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WS_", "MODEL_", "LOG_", "METRICS_", "ENABLE_"))}
    env.update({"MODEL_PATH": MODELS, "WS_HOST": "127.0.0.1", "WS_PORT": str(port),
                "LOG_LEVEL": "warning"})
    cmd = [VALGRIND, "--tool=memcheck", "--leak-check=full",
           "--show-leak-kinds=definite,indirect,possible",
           "--errors-for-leak-kinds=definite,indirect,possible",
           "--error-exitcode=99", f"--suppressions={HERE}/valgrind.supp", "--num-callers=30",
           f"--log-file={log}", BIN, "serve", "--workers", "1", "--rate-limit-fps", "0",
           "--stats-interval", "0", "--fetch-allow-hosts", "127.0.0.1",
           # memory errors are the subject, not time: under valgrind on a loaded machine a
           # frame can wait past the 1 s deadline, a session idle past 60 s, and finishing
           # the frame in flight at SIGTERM can take longer than 10 s
           "--frame-deadline-ms", "0", "--idle-timeout", "0", "--ping-interval", "0",
           "--shutdown-timeout", "240"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while True:
            assert proc.poll() is None and time.time() < deadline, open(log).read()[-3000:]
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        url = f"ws://127.0.0.1:{port}/ws/tryon"
        reference = f"http://127.0.0.1:{media.server_address[1]}/nail.jpg"

        async def go():
            ws = await websockets.connect(url, max_size=None, ping_timeout=None)
            await ws.send(json.dumps({"type": "init_session", "session_id": "vg",
                                      "nail_reference": {"url": reference,
                                                         "metadata": {"pattern": "reference"}},
                                      "config": {"smoothing": False}}))
            ready = json.loads(await asyncio.wait_for(ws.recv(), 180))
            assert ready["type"] == "session_ready" and ready["reference"] == "fetched", ready
            for enc in (1, 2, 3):
                await send_frame(ws, "vg", enc, FRAME, enc)
                m = await answer(ws, enc)
                assert m["type"] == "processed_frame" and m["sequence"] == enc, m
            await send_frame(ws, "vg", 4, FRAME[:len(FRAME) // 2], 1)
            m = await answer(ws, 1)
            assert m["code"] == "INVALID_FRAME", m
            await ws.send(json.dumps({"type": "close_session", "session_id": "vg"}))
            while json.loads(await asyncio.wait_for(ws.recv(), 60))["type"] != "session_closed":
                pass
            await ws.close()
            # a client that leaves with a frame at the worker
            ws = await websockets.connect(url, max_size=None, ping_timeout=None)
            await ws.send(json.dumps({"type": "init_session", "session_id": "gone",
                                      "nail_reference": {"metadata": {}}}))
            await asyncio.wait_for(ws.recv(), 60)
            await send_frame(ws, "gone", 1, FRAME, 2)
            await asyncio.sleep(0.5)
            ws.transport.abort()
            await asyncio.sleep(8)  # its frame finishes and is discarded
        asyncio.run(go())
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        media.shutdown()
    report = open(log).read()
    summary = re.search(r"ERROR SUMMARY: (\d+) errors", report)
    assert summary and summary.group(1) == "0", report[-6000:]
    for kind in ("definitely lost", "indirectly lost", "possibly lost"):
        m = re.search(kind + r": ([\d,]+) bytes", report)
        assert m is None or m.group(1) == "0", report[-6000:]
    assert rc == 0, report[-6000:]
    print(report[report.find("HEAP SUMMARY"):])
    os.unlink(log)
