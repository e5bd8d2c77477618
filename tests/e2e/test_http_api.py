"""The HTTP API over HTTP/1.1 with curl (docs/http-api.md): sessions, frames, stats, delete,
every error status, the reference photo, idle expiry, chunked bodies, Expect: 100-continue,
AUTH_MODE=token. Each case checks the exact status, code and that refused requests did nothing."""
import base64
import http.server
import json
import os
import socket
import threading
import time

import pytest

from conftest import DATA, SLOW, png_bytes, read, video_frames
from http_support import API, curl

# asl_hand 96-107: the back of the hand, nails in view (palm_reach shows the palm; a frame
# without a painted nail is answered with an error, e.g. BLUR_DETECTED on its soft frames)
FRAMES = video_frames("asl_hand")[95:107]


def create(srv, body=None, http="1.1", **kw):
    body = {"nail_reference": {}} if body is None else body
    return curl(srv.http + API + "/sessions", data=json.dumps(body) if isinstance(body, dict)
                else body, headers=["Content-Type: application/json"], http=http, **kw)


def post_frame(srv, sid, data, query="", headers=(), http="1.1", **kw):
    return curl(f"{srv.http}{API}/sessions/{sid}/frames{query}", data=data,
                headers=["Content-Type: image/webp", *headers], http=http, **kw)


def assert_error(res, status, code):
    assert res.status == status, res
    assert res.headers["content-type"] == "application/json"
    e = res.json()
    assert e["type"] == "error" and e["code"] == code, e
    assert e["message"] and isinstance(e["recoverable"], bool) and e["suggestion"]
    return e


def test_session_frames_stats_delete(server):
    r = create(server, {"session_id": "h1", "nail_reference": {"metadata": {
        "shape": "coffin", "colors": ["#2255cc"], "finish": "glossy"}}, "config": {"max_hands": 1}})
    assert r.status == 201, r
    assert r.headers["location"] == API + "/sessions/h1"
    ready = r.json()
    assert ready["type"] == "session_ready" and ready["session_id"] == "h1"
    assert ready["config"]["max_hands"] == 1 and ready["reference"] == "none"
    assert ready["idle_timeout_s"] == 60
    assert json.loads(server.get("/health")[2])["active_sessions"] == 1

    # the image in the body, its metadata (compact JSON) in X-Tryon-Metadata
    img = read(FRAMES[0])
    r = post_frame(server, "h1", img, "?sequence=5&timestamp=1699564800150")
    assert r.status == 200, r
    assert r.headers["content-type"] == "image/webp"
    assert r.body[:4] == b"RIFF" and r.body[8:12] == b"WEBP"
    meta = json.loads(r.headers["x-tryon-metadata"])
    assert "\": " not in r.headers["x-tryon-metadata"]  # compact JSON
    assert meta["type"] == "processed_frame" and meta["sequence"] == 5
    assert meta["request_timestamp"] == 1699564800150
    assert meta["frame_metadata"] == {"width": 620, "height": 1080, "format": "webp",
                                      "size_bytes": len(r.body)}
    assert meta["detection_info"]["hands_detected"] == 1
    assert int(r.headers["content-length"]) == len(r.body)

    # no sequence: the next one after the highest seen; the header form (HTTP/1.1)
    r = post_frame(server, "h1", read(FRAMES[1]))
    assert json.loads(r.headers["x-tryon-metadata"])["sequence"] == 6
    r = post_frame(server, "h1", read(FRAMES[2]), headers=["X-Tryon-Sequence: 40",
                                                            "X-Tryon-Timestamp: 17"])
    meta = json.loads(r.headers["x-tryon-metadata"])
    assert meta["sequence"] == 40 and meta["request_timestamp"] == 17

    # ?format=json: the processed_frame with the image in frame_data
    r = post_frame(server, "h1", read(FRAMES[3]), "?format=json&sequence=41")
    assert r.status == 200 and r.headers["content-type"] == "application/json"
    j = r.json()
    assert j["type"] == "processed_frame" and j["sequence"] == 41
    png = base64.b64decode(j["frame_data"])
    assert png[:4] == b"RIFF" and len(png) == j["frame_metadata"]["size_bytes"]

    r = curl(server.http + API + "/sessions/h1/stats")
    assert r.status == 200
    st = r.json()
    assert st["type"] == "stats" and st["frames_received"] == 4 and st["frames_processed"] == 4
    assert st["avg_processing_time_ms"] > 0

    r = curl(server.http + API + "/sessions/h1", method="DELETE")
    assert r.status == 200
    closed = r.json()
    assert closed["type"] == "session_closed" and closed["reason"] == "deleted"
    assert closed["stats"]["frames_processed"] == 4
    assert_error(curl(server.http + API + "/sessions/h1/stats"), 404, "INVALID_SESSION")
    assert_error(post_frame(server, "h1", img), 404, "INVALID_SESSION")
    assert_error(curl(server.http + API + "/sessions/h1", method="DELETE"), 404, "INVALID_SESSION")
    assert json.loads(server.get("/health")[2])["active_sessions"] == 0


def test_generated_id_and_conflict(server):
    r = create(server)
    assert r.status == 201
    sid = r.json()["session_id"]
    assert len(sid) == 36 and sid[14] == "4"  # a version-4 UUID
    assert r.headers["location"].endswith(sid)
    assert create(server, {"session_id": sid, "nail_reference": {}}).status == 409
    # the type may be given, and must be init_session
    assert create(server, {"type": "init_session", "session_id": "t", "nail_reference": {}}
                  ).status == 201
    assert_error(create(server, {"type": "stats", "nail_reference": {}}), 400, "INVALID_MESSAGE")


def test_request_errors(server_factory):
    srv = server_factory("--ws-max-message-size", "65536")
    assert create(srv, {"session_id": "e1", "nail_reference": {}}).status == 201
    e = assert_error(curl(srv.http + API + "/nothing"), 404, "INVALID_MESSAGE")
    assert "no such API route" in e["message"]
    r = curl(srv.http + API + "/sessions")  # GET
    assert_error(r, 405, "INVALID_MESSAGE")
    assert r.headers["allow"] == "POST"
    assert curl(srv.http + API + "/sessions/e1/stats", method="POST").headers["allow"] == "GET"
    assert_error(curl(srv.http + API + "/sessions/bad%20id/stats"), 400, "INVALID_MESSAGE")
    # bodies of POST /sessions
    assert_error(create(srv, "{not json"), 400, "INVALID_MESSAGE")
    assert_error(create(srv, "[1,2]"), 400, "INVALID_MESSAGE")
    assert_error(create(srv, {"session_id": "x"}), 400, "INVALID_MESSAGE")  # no nail_reference
    assert_error(create(srv, "[" * 40 + "]" * 40), 400, "INVALID_MESSAGE")  # too deep
    e = assert_error(create(srv, {"session_id": "d", "nail_reference": {"metadata": {
        "shape": "triangle"}}}), 422, "INVALID_DESIGN")
    assert "shape" in e["message"]
    assert_error(create(srv, {"nail_reference": {}, "config": {"quality": "ultra"}}), 422,
                 "INVALID_CONFIG")
    assert_error(curl(srv.http + API + "/sessions", data="{}", headers=["Content-Type: text/plain"]),
                 415, "UNSUPPORTED_FORMAT")
    e = assert_error(create(srv, json.dumps({"nail_reference": {}, "pad": "x" * 70000})), 413,
                     "INVALID_MESSAGE")
    assert "JSON_MAX_SIZE" in e["message"]
    # frames
    assert_error(post_frame(srv, "e1", read(FRAMES[0]), "?sequence=abc"), 400, "INVALID_MESSAGE")
    assert_error(post_frame(srv, "e1", read(FRAMES[0]), "?sequence=-1"), 400, "INVALID_MESSAGE")
    assert_error(post_frame(srv, "e1", read(FRAMES[0]), "?format=xml"), 400, "INVALID_MESSAGE")
    assert_error(post_frame(srv, "e1", b"hello", headers=["Content-Type: text/plain"]), 415,
                 "UNSUPPORTED_FORMAT")
    assert_error(post_frame(srv, "e1", b"GIF89a" + b"\0" * 40), 415, "UNSUPPORTED_FORMAT")
    assert_error(post_frame(srv, "e1", read(FRAMES[0])[:200]), 422, "INVALID_FRAME")
    assert_error(post_frame(srv, "e1", b""), 422, "INVALID_FRAME")
    e = assert_error(post_frame(srv, "e1", png_bytes(320, 240)), 422, "HAND_NOT_DETECTED")
    assert e["recoverable"] is True and e["sequence"] is not None
    assert_error(post_frame(srv, "e1", b"\0" * 70000), 413, "FRAME_TOO_LARGE")  # over 64 KiB
    e = assert_error(post_frame(srv, "e1", png_bytes(1921, 1081)), 413, "FRAME_TOO_LARGE")
    assert "1921x1081" in e["message"]
    # the session is fine after all that
    assert post_frame(srv, "e1", read(FRAMES[1])).status == 200
    st = curl(srv.http + API + "/sessions/e1/stats").json()
    # refused before the frame was queued: bad query, type, size (headers); the rest were
    # answered by the pipeline
    assert st["frames_processed"] == 1 and st["frames_with_errors"] == 5, st


def test_body_without_length(server):
    assert create(server, {"session_id": "n", "nail_reference": {}}).status == 201
    with socket.create_connection(("127.0.0.1", server.port), timeout=10 * SLOW) as s:
        s.sendall(f"POST {API}/sessions/n/frames HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        resp = b""
        while b"\r\n\r\n" not in resp or not resp.endswith(b"}"):
            d = s.recv(4096)
            assert d, resp
            resp += d
    head, body = resp.decode().split("\r\n\r\n", 1)
    assert head.startswith("HTTP/1.1 411"), head
    assert json.loads(body)["code"] == "INVALID_MESSAGE"


def test_chunked_body_and_expect_100(server):
    assert create(server, {"session_id": "c", "nail_reference": {}}).status == 201
    r = post_frame(server, "c", read(FRAMES[0]), "?sequence=1",
                   headers=["Transfer-Encoding: chunked"])
    assert r.status == 200 and json.loads(r.headers["x-tryon-metadata"])["sequence"] == 1
    assert r.headers.get("connection") == "close"  # lws cannot delimit what follows
    t0 = time.time()
    r = post_frame(server, "c", read(FRAMES[1]), "?sequence=2", headers=["Expect: 100-continue"])
    assert r.status == 200
    assert time.time() - t0 < 0.9 * SLOW  # curl waits 1 s for a 100 Continue that never comes
    # JSON bodies may be chunked too
    r = curl(server.http + API + "/sessions", data=json.dumps({"session_id": "c2",
                                                                "nail_reference": {}}),
             headers=["Transfer-Encoding: chunked", "Content-Type: application/json"])
    assert r.status == 201


def test_rate_limit_and_capacity(server_factory):
    srv = server_factory(env={"RATE_LIMIT_FPS": "2", "MAX_CONCURRENT_SESSIONS": "1"})
    assert create(srv, {"session_id": "r", "nail_reference": {}}).status == 201
    r = create(srv, {"session_id": "r2", "nail_reference": {}})
    e = assert_error(r, 503, "SERVER_BUSY")
    assert r.headers["retry-after"] == "1" and e["recoverable"] is False
    # small, quick frames, so that four fit in one second; an accepted frame is answered 200,
    # or 422 when it shows no nail (palm_reach shows the palm): either way it was queued
    quick = video_frames("palm_reach")[40:45]
    statuses = []
    t0 = time.time()
    for i, f in enumerate(quick[:4]):
        statuses.append(post_frame(srv, "r", read(f), f"?sequence={i}").status)
    accepted = ["ok" if s in (200, 422) else s for s in statuses]
    if time.time() - t0 < 1.0:  # all inside one rate window
        assert accepted == ["ok", "ok", 429, 429], statuses
    else:
        assert statuses.count(429) >= 1, statuses
    r = post_frame(srv, "r", read(quick[4]), "?sequence=9")
    if r.status == 429:
        assert r.headers["retry-after"] == "1"
        assert_error(r, 429, "RATE_LIMITED")
    st = curl(srv.http + API + "/sessions/r/stats").json()
    # refused frames are never queued
    assert st["frames_received"] == accepted.count("ok") + (r.status != 429)


class Media(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/nail.jpg":
            body = read(os.path.join(DATA, "hands",
                                     "kagglenails_09aefeec-e05f-11e8-87a6-0242ac1c0002.jpg"))
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
        else:
            body = b"nope"
            self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def media():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Media)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_reference_photo_like_the_websocket(server_factory, media):
    srv = server_factory("--fetch-allow-hosts", "127.0.0.1")
    r = create(srv, {"session_id": "ref", "nail_reference": {"url": media + "/nail.jpg",
                                                             "metadata": {"pattern": "reference"}}})
    assert r.status == 201
    assert r.json()["reference"] == "fetched" and "reference_error" not in r.json()
    assert post_frame(srv, "ref", read(FRAMES[5])).status == 200
    # a failed fetch does not fail the session: 201, reference failed, and the error
    r = create(srv, {"session_id": "ref2", "nail_reference": {"url": media + "/missing.jpg"}})
    assert r.status == 201
    body = r.json()
    assert body["reference"] == "failed"
    assert body["reference_error"]["code"] == "REFERENCE_FETCH_FAILED"
    assert post_frame(srv, "ref2", read(FRAMES[5])).status == 200


def test_idle_sessions_expire(server_factory):
    srv = server_factory(env={"HTTP_SESSION_TIMEOUT": "1", "IDLE_TIMEOUT": "0.3"})
    assert create(srv, {"session_id": "old", "nail_reference": {}}).status == 201
    assert create(srv, {"session_id": "kept", "nail_reference": {}}).status == 201
    # the WebSocket IDLE_TIMEOUT (0.3 s) does not apply to HTTP sessions
    for _ in range(4):
        time.sleep(0.4)
        assert curl(srv.http + API + "/sessions/kept/stats").status == 200
    assert_error(curl(srv.http + API + "/sessions/old/stats"), 404, "INVALID_SESSION")
    time.sleep(1.6)
    assert_error(curl(srv.http + API + "/sessions/kept/stats"), 404, "INVALID_SESSION")
    assert json.loads(srv.get("/health")[2])["active_sessions"] == 0
    assert sum("HTTP_SESSION_TIMEOUT" in rec.get("msg", "") for rec in srv.log_records()) == 2


def test_token_auth(server_factory):
    srv = server_factory(env={"AUTH_MODE": "token", "AUTH_TOKEN": "s3cret-token"})
    for hdrs, query in (([], ""), (["Authorization: Bearer wrong"], ""), ([], "?token=nope")):
        r = curl(srv.http + API + "/sessions" + query, data=json.dumps({"nail_reference": {}}),
                 headers=hdrs)
        assert_error(r, 401, "UNAUTHORIZED")
        assert r.headers["www-authenticate"] == "Bearer"
    assert_error(curl(srv.http + API + "/sessions/x/stats"), 401, "UNAUTHORIZED")
    assert json.loads(srv.get("/health")[2])["active_sessions"] == 0  # nothing was created
    r = curl(srv.http + API + "/sessions", data=json.dumps({"session_id": "a",
                                                            "nail_reference": {}}),
             headers=["Authorization: Bearer s3cret-token"])
    assert r.status == 201
    r = curl(srv.http + API + "/sessions/a/frames?token=s3cret-token", data=read(FRAMES[0]))
    assert r.status == 200
    assert_error(curl(srv.http + API + "/sessions/a/frames", data=read(FRAMES[0])), 401,
                 "UNAUTHORIZED")
    st = curl(srv.http + API + "/sessions/a/stats", headers=["Authorization: Bearer s3cret-token"])
    assert st.json()["frames_received"] == 1  # the refused frame was never looked at


def test_client_gone_before_its_answer(server):
    """A client that disconnects while its frame is processed: the answer is dropped, the
    session goes on, nothing leaks (the sanitizer build checks)."""
    assert create(server, {"session_id": "g", "nail_reference": {}}).status == 201
    body = read(FRAMES[0])
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10 * SLOW) as s:
            s.sendall(f"POST {API}/sessions/g/frames HTTP/1.1\r\nHost: x\r\n"
                      f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    time.sleep(1.0 * SLOW)
    st = curl(server.http + API + "/sessions/g/stats").json()
    assert st["frames_received"] == 3
    r = post_frame(server, "g", read(FRAMES[1]))
    assert r.status == 200 and json.loads(r.headers["x-tryon-metadata"])["sequence"] == 4
