"""Faults of the shop's media host, seen through the service: the reference image server is
slow, hangs, answers 404, loops redirects, sends an endless or oversized body, lies about
the length, resets the connection, or sends something that is not an image. In every case
session_ready comes within the guide's 5 s (FETCH_TIMEOUT_MS is 3 s) with reference "failed",
then one REFERENCE_FETCH_FAILED error naming the cause, and the session paints frames from its
metadata. The fetcher's own unit tests (tests/unit/service/test_fetch.c) cover the same faults
in-process; these check the service's side of the contract, and that memory stays bounded.
"""
import asyncio
import http.server
import json
import os
import signal
import socket
import threading
import time

import pytest
import websockets

from conftest import (DATA, SANITIZED, SLOW, read, recv_json, recv_reply, recv_until, run,
                      send_frame, video_frames)
from hostile import canary, rss_kb

PHOTO = read(os.path.join(DATA, "hands", "kagglenails_09aefeec-e05f-11e8-87a6-0242ac1c0002.jpg"))
FRAME = read(video_frames("palm_reach")[20])


class Media(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def send_head(self, code=200, ctype="image/jpeg", length=None, extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        if length is not None:
            self.send_header("Content-Length", str(length))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()

    def do_GET(self):
        p = self.path if self.path.startswith("/loop") else self.path.split("?")[0]
        try:
            if p == "/ok.jpg":
                self.send_head(length=len(PHOTO))
                self.wfile.write(PHOTO)
            elif p == "/slow-headers.jpg":  # answers after the fetch timeout
                time.sleep(8)
                self.send_head(length=len(PHOTO))
                self.wfile.write(PHOTO)
            elif p == "/slow-body.jpg":  # headers at once, then one byte every 0.5 s
                self.send_head(length=len(PHOTO))
                for b in PHOTO:
                    self.wfile.write(bytes([b]))
                    self.wfile.flush()
                    time.sleep(0.5)
            elif p == "/missing.jpg":
                self.send_head(404, "text/plain", 4)
                self.wfile.write(b"nope")
            elif p == "/server-error.jpg":
                self.send_head(500, "text/plain", 4)
                self.wfile.write(b"oops")
            elif p.startswith("/loop"):  # /loop -> /loop?1 -> /loop?2 ... forever
                n = int(p.split("?")[1]) + 1 if "?" in p else 1
                self.send_head(302, "text/plain", 0, [("Location", f"/loop?{n}")])
            elif p == "/self-redirect.jpg":
                self.send_head(301, "text/plain", 0, [("Location", "/self-redirect.jpg")])
            elif p == "/endless.jpg":  # a JPEG start, then chunks forever
                self.send_head(extra=[("Transfer-Encoding", "chunked")])
                chunk = b"\xff\xd8\xff\xe0" + bytes(65532)
                while True:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            elif p == "/huge-length.jpg":  # claims 1 GiB
                self.send_head(length=1 << 30)
                self.wfile.write(PHOTO)
                time.sleep(5)
            elif p == "/short-body.jpg":  # says N bytes, sends half, closes
                self.send_head(length=len(PHOTO))
                self.wfile.write(PHOTO[:len(PHOTO) // 2])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
            elif p == "/html.jpg":
                body = b"<html><body>not an image</body></html>"
                self.send_head(200, "image/jpeg", len(body))
                self.wfile.write(body)
            elif p == "/corrupt.jpg":  # passes the sniffing, fails decoding
                body = PHOTO[:200] + bytes(2000)
                self.send_head(length=len(body))
                self.wfile.write(body)
            else:
                self.send_head(404, "text/plain", 0)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def media():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Media)
    httpd.daemon_threads = True
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def hang():
    """A TCP server that accepts and never says a word."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    held = []
    stop = threading.Event()

    def accept():
        s.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(s.accept()[0])
            except socket.timeout:
                pass
    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{s.getsockname()[1]}"
    stop.set()
    t.join()
    for c in held:
        c.close()
    s.close()


def init(sid, url):
    return json.dumps({"type": "init_session", "session_id": sid,
                       "nail_reference": {"url": url, "metadata": {"shape": "almond"}},
                       "config": {"smoothing": False}})


FAULTS = {
    # path -> phrase of the REFERENCE_FETCH_FAILED message
    "/slow-headers.jpg": "timed out",
    "/slow-body.jpg": "timed out",
    "/missing.jpg": "answered HTTP 404",
    "/server-error.jpg": "answered HTTP 500",
    "/loop": "redirects more than 3 times",
    "/self-redirect.jpg": "redirects more than 3 times",
    "/endless.jpg": "larger than the limit of 4194304 bytes",
    "/huge-length.jpg": "the image is 1073741824 bytes; the limit is 4194304",
    "/short-body.jpg": "bytes remaining to read",
    "/html.jpg": "not a JPEG, PNG or WebP",
    "/corrupt.jpg": "could not be decoded",
}


@pytest.fixture(scope="module")
def srv(media):
    from conftest import Server
    s = Server(("--fetch-allow-hosts", "127.0.0.1", "--fetch-max-bytes", "4m",
                "--rate-limit-fps", "0"))
    yield s
    assert s.close() == 0, s.logs()[-3000:]
    logs = s.logs()
    assert "AddressSanitizer" not in logs and "runtime error" not in logs, logs[-3000:]


@pytest.mark.parametrize("path", sorted(FAULTS))
def test_reference_fault(srv, media, path):
    async def go():
        ws = await websockets.connect(srv.url, max_size=None)
        t0 = time.time()
        await ws.send(init("s1", media + path))
        ready = await recv_json(ws, 10)
        waited = time.time() - t0
        assert ready["type"] == "session_ready" and ready["reference"] == "failed", ready
        assert waited < 5.0 * SLOW, f"session_ready after {waited:.1f} s"
        e = await recv_json(ws)
        assert e["type"] == "error" and e["code"] == "REFERENCE_FETCH_FAILED", e
        assert e["recoverable"] is True and FAULTS[path] in e["message"], e
        await send_frame(ws, "s1", 1, FRAME, 1)
        meta, img = await recv_reply(ws, 1)
        assert meta["type"] == "processed_frame", meta  # painted from the metadata
        await ws.close()
    run(go())


def test_reference_host_that_never_answers(srv, hang):
    async def go():
        ws = await websockets.connect(srv.url, max_size=None)
        t0 = time.time()
        await ws.send(init("s1", hang + "/x.jpg"))
        ready = await recv_json(ws, 10)
        assert ready["reference"] == "failed" and time.time() - t0 < 5.0 * SLOW, ready
        e = await recv_json(ws)
        assert e["code"] == "REFERENCE_FETCH_FAILED" and "timed out" in e["message"], e
        await ws.close()
    run(go())


def test_many_sessions_fetching_endless_bodies_stay_bounded(srv, media):
    """Twelve sessions at once each pull an endless body: each transfer stops at
    FETCH_MAX_BYTES (4 MiB here), so the server's RSS grows by at most their sum."""
    rss0 = rss_kb(srv.proc.pid)

    async def one(i):
        ws = await websockets.connect(srv.url, max_size=None)
        await ws.send(init(f"e{i}", media + f"/endless.jpg?{i}"))
        ready = await recv_json(ws, 15)
        assert ready["reference"] == "failed", ready
        e = await recv_json(ws)
        assert e["code"] == "REFERENCE_FETCH_FAILED" and "larger than" in e["message"], e
        await ws.close()

    async def go():
        await asyncio.gather(*(one(i) for i in range(12)))
    run(go())
    grown = (rss_kb(srv.proc.pid) - rss0) / 1024
    if not SANITIZED:  # ASan's quarantine keeps freed blocks resident
        assert grown < 12 * 4 + 16, f"RSS grew by {grown:.0f} MB"


def test_client_leaves_while_its_reference_is_fetched(srv, media):
    """The fetch is cancelled with the session; nothing is answered to nobody; the service
    goes on (the slow fetch's late result is dropped)."""
    async def go():
        ws = await websockets.connect(srv.url, max_size=None)
        await ws.send(init("gone", media + "/slow-headers.jpg?gone"))
        await asyncio.sleep(0.3)
        ws.transport.abort()
        await asyncio.sleep(0.3)
    run(go())
    deadline = time.time() + 5 * SLOW
    while time.time() < deadline:
        h = json.loads(srv.get("/health")[2])
        if h["active_sessions"] == 0 and h["connections"] == 0:
            break
        time.sleep(0.05)
    assert h["active_sessions"] == 0 and h["connections"] == 0, h
    meta, _ = canary(srv)
    assert meta["overlay"]


def test_reference_works_after_the_faults(srv, media):
    async def go():
        ws = await websockets.connect(srv.url, max_size=None)
        await ws.send(init("s1", media + "/ok.jpg"))
        ready = await recv_json(ws, 10)
        assert ready["reference"] == "fetched", ready
        await ws.close()
    run(go())


def test_sigterm_while_a_reference_is_fetched(server_factory, media):
    """Shutdown does not wait for the media host: the pending session gets session_ready
    with reference "cancelled", then close_session server_shutdown, and the server exits 0
    well before the fetch would have timed out."""
    srv = server_factory("--fetch-allow-hosts", "127.0.0.1", "--fetch-timeout-ms", "20000")

    async def go():
        ws = await websockets.connect(srv.url, max_size=None)
        await ws.send(init("s1", media + "/slow-headers.jpg?term"))
        await asyncio.sleep(0.5)
        t0 = time.time()
        srv.proc.send_signal(signal.SIGTERM)
        ready = await recv_json(ws, 10)
        assert ready["type"] == "session_ready" and ready["reference"] == "cancelled", ready
        m, _ = await recv_until(ws, "close_session", timeout=10)
        assert m["reason"] == "server_shutdown"
        with pytest.raises(websockets.ConnectionClosed) as e:
            await asyncio.wait_for(ws.recv(), 5 * SLOW)
        assert e.value.code == 1001
        return t0
    t0 = run(go())
    assert srv.proc.wait(10 * SLOW) == 0
    assert time.time() - t0 < 5 * SLOW
