"""nail_reference.url: fetched off the event loop before session_ready; failures are reported
and the session goes on from the metadata. A local HTTP server plays the shop's media host."""
import http.server
import json
import os
import threading
import time

import pytest

from conftest import DATA, open_session, read, recv_json, recv_reply, run, send_frame, video_frames

IMAGE = read(os.path.join(DATA, "hands", "kagglenails_09aefeec-e05f-11e8-87a6-0242ac1c0002.jpg"))


class Handler(http.server.BaseHTTPRequestHandler):
    hits = {}

    def do_GET(self):
        Handler.hits[self.path] = Handler.hits.get(self.path, 0) + 1
        if self.path.startswith("/media/nail.jpg"):
            body, ctype, code = IMAGE, "image/jpeg", 200
        elif self.path == "/slow/nail.jpg":
            time.sleep(2.5)
            body, ctype, code = IMAGE, "image/jpeg", 200
        elif self.path == "/media/text.jpg":
            body, ctype, code = b"<html>not an image</html>", "image/jpeg", 200
        elif self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/media/nail.jpg?via=redirect")
            self.end_headers()
            return
        else:
            body, ctype, code = b"nope", "text/plain", 404
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def media():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    Handler.hits = {}
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_reference_fetched_then_cached(server_factory, media):
    srv = server_factory("--fetch-allow-hosts", "127.0.0.1")
    async def go():
        ws, ready = await open_session(srv.url, url=media + "/media/nail.jpg")
        assert ready["reference"] == "fetched"
        await send_frame(ws, "s1", 1, read(video_frames("palm_reach")[45]), 1)
        meta, _ = await recv_reply(ws, 1)
        assert meta["sequence"] == 1
        await ws.close()
        ws, ready = await open_session(srv.url, "s2", url=media + "/media/nail.jpg")
        assert ready["reference"] == "cached"
        await ws.close()
        ws, ready = await open_session(srv.url, "s3", url=media + "/redirect")
        assert ready["reference"] == "fetched"
        await ws.close()
    run(go())
    assert Handler.hits["/media/nail.jpg"] == 1
    _, _, body = srv.get("/metrics")
    text = body.decode()
    assert 'tryon_reference_fetches_total{result="ok"} 2' in text
    assert 'tryon_reference_fetches_total{result="cached"} 1' in text


@pytest.mark.parametrize("path,needle", [("/missing.jpg", "404"), ("/media/text.jpg", "")])
def test_failed_fetch_is_reported_and_session_goes_on(server_factory, media, path, needle):
    srv = server_factory("--fetch-allow-hosts", "127.0.0.1")
    async def go():
        ws, ready = await open_session(srv.url, url=media + path)
        assert ready["reference"] == "failed"
        err = await recv_json(ws)
        assert err["type"] == "error" and err["code"] == "REFERENCE_FETCH_FAILED", err
        assert err["recoverable"] is True and needle in err["message"]
        await send_frame(ws, "s1", 1, read(video_frames("palm_reach")[45]), 3)
        meta, _ = await recv_reply(ws, 3)
        assert meta["sequence"] == 1
        await ws.close()
    run(go())


def test_private_addresses_are_refused_by_default(server_factory, media):
    srv = server_factory()  # no allow-list: public addresses only
    async def go():
        ws, ready = await open_session(srv.url, url=media + "/media/nail.jpg")
        assert ready["reference"] == "failed"
        err = await recv_json(ws)
        assert err["code"] == "REFERENCE_FETCH_FAILED"
        await ws.close()
        ws, ready = await open_session(srv.url, "s2", url="http://169.254.169.254/latest/meta-data")
        assert ready["reference"] == "failed"
        await ws.close()
    run(go())
    assert Handler.hits.get("/media/nail.jpg", 0) == 0


def test_reference_photo_gives_palette_and_texture(server_factory, media):
    srv = server_factory("--fetch-allow-hosts", "127.0.0.1")
    async def go():
        ws, ready = await open_session(srv.url, url=media + "/media/nail.jpg",
                                       metadata={"shape": "coffin", "pattern": "reference"})
        assert ready["reference"] == "fetched"
        await send_frame(ws, "s1", 1, read(os.path.join(DATA, "hands", "tfjs_hands_two_dorsal.jpg")),
                         1, fmt="jpeg")
        meta, img = await recv_reply(ws, 1)
        assert meta["type"] == "processed_frame" and meta["detection_info"]["overlay_applied"]
        await ws.close()
    run(go())
    recs = [r for r in srv.log_records() if r.get("msg", "").startswith("reference image")]
    assert recs and "texture set" in recs[0]["msg"], srv.logs()
    assert " 0 palette colours" not in recs[0]["msg"]


def test_waiting_for_the_reference_is_not_idle(server_factory, media):
    """IDLE_TIMEOUT counts the client's silence: a session waiting 2.5 s for its reference photo
    with IDLE_TIMEOUT=1 gets session_ready (not close_session timeout), and its idle time counts
    from there."""
    srv = server_factory("--fetch-allow-hosts", "127.0.0.1", "--idle-timeout", "1",
                         "--stats-interval", "0")
    async def go():
        t0 = time.time()
        ws, ready = await open_session(srv.url, url=media + "/slow/nail.jpg")
        assert ready["type"] == "session_ready" and ready["reference"] == "fetched", ready
        assert time.time() - t0 > 2.0
        await send_frame(ws, "s1", 1, read(video_frames("palm_reach")[45]), 1)
        meta, _ = await recv_reply(ws, 1)
        assert meta["sequence"] == 1
        m = await recv_json(ws, 5)
        while m["type"] == "stats":
            m = await recv_json(ws, 5)
        assert m["type"] == "close_session" and m["reason"] == "timeout", m
        await ws.close()
    run(go())
