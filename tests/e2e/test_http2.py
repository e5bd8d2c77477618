"""The HTTP API over cleartext HTTP/2 with prior knowledge (H2C_PORT), driven by curl
--http2-prior-knowledge and by Debian's python3-h2: every endpoint, several sessions
multiplexed on one connection, flow control both ways (a full-HD PNG up, PNG frames down
through a 16 KiB window), and what HTTP/2 refuses (no content-length)."""
import json
import time

import pytest

from conftest import free_port, png_bytes, read, run, open_session, recv_reply, send_frame, \
    video_frames
import h2.errors
import h2.events

from http_support import (API, REC_END, REC_IMAGE, REC_JSON, H2Client, H2Response, RecordReader,
                          curl, end_record, record)

FRAMES = video_frames("asl_hand")[95:115]  # the back of the hand: every frame painted


@pytest.fixture
def h2srv(server_factory):
    port = free_port()
    srv = server_factory(env={"H2C_PORT": str(port)})
    srv.h2c_port = port
    srv.h2c = f"http://127.0.0.1:{port}"
    return srv


def curl_h2c(url, **kw):
    """curl --http2-prior-knowledge; one retry when curl reports a broken HTTP/2 connection:
    curl writes its first request together with the connection preface, and under load its
    SETTINGS ACK can follow the body into one read of libwebsockets 4.1.6, which answers
    GOAWAY (the case test_coalesced_upload_hits_the_lws_limitation pins)."""
    try:
        return curl(url, http="h2c", **kw)
    except AssertionError as e:
        if "curl failed (16)" not in str(e) and "curl failed (18)" not in str(e):
            raise
        return curl(url, http="h2c", **kw)


def test_every_endpoint_with_curl(h2srv):
    base = h2srv.h2c + API
    r = curl_h2c(base + "/sessions",
                 data=json.dumps({"session_id": "c2", "nail_reference": {}}),
                 headers=["Content-Type: application/json"])
    assert (r.status, r.version) == (201, "2"), r
    assert r.headers["location"] == API + "/sessions/c2"
    r = curl_h2c(base + "/sessions/c2/frames?sequence=3&timestamp=99", data=read(FRAMES[0]),
                 headers=["Content-Type: image/webp"])
    assert (r.status, r.version) == (200, "2")
    assert r.headers["content-type"] == "image/webp" and r.body[8:12] == b"WEBP"
    meta = json.loads(r.headers["x-tryon-metadata"])
    assert meta["sequence"] == 3 and meta["request_timestamp"] == 99
    assert meta["frame_metadata"]["size_bytes"] == len(r.body)
    r = curl_h2c(base + "/sessions/c2/frames?format=json", data=read(FRAMES[1]))
    assert r.status == 200 and r.json()["sequence"] == 4 and r.json()["frame_data"]
    r = curl_h2c(base + "/sessions/c2/stats")
    assert r.status == 200 and r.json()["frames_processed"] == 2
    r = curl_h2c(base + "/sessions/c2/frames", data=b"GIF89a" + b"\0" * 30)
    assert r.status == 415 and r.json()["code"] == "UNSUPPORTED_FORMAT"
    r = curl_h2c(base + "/sessions/zz/frames", data=read(FRAMES[0]))
    assert r.status == 404 and r.json()["code"] == "INVALID_SESSION"
    r = curl_h2c(base + "/sessions/c2", method="PUT")
    assert r.status == 405 and r.headers["allow"] == "DELETE"
    r = curl_h2c(base + "/sessions/c2", method="DELETE")
    assert r.status == 200 and r.json()["stats"]["frames_processed"] == 2
    # /health and /metrics over h2c too; HTTP/1.1 keeps working on WS_PORT
    assert curl_h2c(h2srv.h2c + "/health").json()["status"] == "healthy"
    assert b"tryon_frames_processed_total" in curl_h2c(h2srv.h2c + "/metrics").body
    assert curl(h2srv.http + "/health").version == "1.1"


def test_sessions_multiplexed_on_one_connection(h2srv):
    """Three sessions stream frames at once over one connection (three process-streams,
    interleaved), while GETs for their stats come and go on the same connection."""
    c = H2Client(h2srv.h2c_port)
    try:
        for i in range(3):
            body = json.dumps({"session_id": f"m{i}", "nail_reference": {}}).encode()
            assert c.request("POST", API + "/sessions", body).status == 201
        streams = [c.open_stream(f"{API}/process-stream?session_id=m{i}") for i in range(3)]
        readers = [RecordReader() for _ in range(3)]
        answered = [dict() for _ in range(3)]
        for k in range(5):
            for i in range(3):
                c.send(streams[i], record(REC_JSON, {"sequence": k}) +
                       record(REC_IMAGE, read(FRAMES[k * 3 + i])))
            stats = c.open("GET", f"{API}/sessions/m{k % 3}/stats", end=True)
            # every session's frame k is answered before frame k+1 is sent
            deadline = time.time() + 30
            while any(k not in a for a in answered):
                assert time.time() < deadline
                c.pump()
                for i in range(3):
                    r = c.responses[streams[i]]
                    readers[i].feed(bytes(r.body))
                    r.body.clear()
                    for t, p in readers[i].take():
                        if t == REC_JSON and p.get("sequence") is not None:
                            assert p["session_id"] == f"m{i}"
                            answered[i][p["sequence"]] = p["type"]
            assert c.wait(stats).status == 200
        for i in range(3):
            c.send(streams[i], end_record(), end=True)
        for i in range(3):
            r = c.wait(streams[i])
            assert r.status == 200
            readers[i].feed(bytes(r.body))
            recs = readers[i].take()
            assert recs[-1] == (REC_END, b"") and recs[-2][1]["type"] == "stats"
            assert recs[-2][1]["frames_processed"] == 5
            assert all(t == "processed_frame" for t in answered[i].values())
    finally:
        c.close()


def test_coalesced_upload_hits_the_lws_limitation(h2srv):
    """Pins the libwebsockets 4.1.6 bug documented in docs/http-api.md: a body with a
    content-length whose last DATA frame reaches lws before the request is dispatched, in one
    read with a following frame (here a PING), gets GOAWAY. The service's workaround covers
    bodies that come after dispatch (every request once the client has the server's
    SETTINGS); this is the first request of a connection, sent with the preface in one
    write. When lws is upgraded past the fix this test fails: update the docs."""
    import socket
    import h2.config
    import h2.connection
    s = socket.create_connection(("127.0.0.1", h2srv.h2c_port), timeout=10)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    body = json.dumps({"session_id": "g", "nail_reference": {}}).encode()
    conn.send_headers(1, [(":method", "POST"), (":path", API + "/sessions"), (":scheme", "http"),
                          (":authority", "x"), ("content-length", str(len(body)))])
    conn.send_data(1, body, end_stream=True)
    conn.ping(b"12345678")
    s.sendall(conn.data_to_send())  # preface, SETTINGS, HEADERS, DATA, PING in one write
    events = []
    while True:
        data = s.recv(65536)
        if not data:
            break
        events += conn.receive_data(data)
    s.close()
    goaway = [e for e in events if isinstance(e, h2.events.ConnectionTerminated)]
    assert goaway and goaway[0].error_code == h2.errors.ErrorCodes.PROTOCOL_ERROR
    assert b"content_length" in (goaway[0].additional_data or b"")
    # the same request, the PING after the server's SETTINGS: fine (the workaround). A
    # connection's first upload can still meet lws's other GOAWAY (about 1 in 40 under load,
    # docs/http-api.md: safe to retry; seen twice in a row right after the GOAWAY above), so up to
    # five connections try.
    for attempt in range(5):
        if attempt:
            time.sleep(0.2)
        c = H2Client(h2srv.h2c_port)
        try:
            sid = c.open("POST", API + "/sessions", [("content-length", str(len(body))),
                                                     ("x-attempt", str(attempt))])
            while c.conn.local_flow_control_window(sid) < len(body):
                c.pump()
            c.conn.send_data(sid, body, end_stream=True)
            c.conn.ping(b"87654321")
            c.flush()
            r = c.wait(sid)
        except ConnectionError:
            if attempt == 4:
                raise
            continue
        finally:
            c.close()
        assert r.status == 201, bytes(r.body)
        break


def test_connection_window_grows_with_every_stream(h2srv):
    """Pins another libwebsockets 4.1.6 behaviour (docs/http-api.md): each new stream adds
    262144 bytes to the connection's receive window for good, so after about 8190 requests
    on one connection the window would pass 2^31-1 and a client must fail the connection."""
    c = H2Client(h2srv.h2c_port)
    try:
        c.request("GET", "/health")
        w0 = c.conn.outbound_flow_control_window
        for _ in range(20):
            assert c.request("GET", "/health").status == 200
        assert c.conn.outbound_flow_control_window - w0 == 20 * 262144
    finally:
        c.close()


def test_flow_control_both_ways(h2srv):
    # a client window of 16 KiB: the server must wait for WINDOW_UPDATEs and never send a
    # DATA frame larger than the window or 16384 bytes
    c = H2Client(h2srv.h2c_port, window=16384)
    try:
        body = json.dumps({"session_id": "big", "nail_reference": {},
                           "config": {"output_format": "png"}}).encode()
        assert c.request("POST", API + "/sessions", body).status == 201
        # a 1920x1080 PNG of noise-free grey is small; make one that is not: a real frame
        # scaled to full HD and sent as PNG (several MB up, through lws's window)
        import subprocess, shutil, tempfile, os
        exe = shutil.which("convert") or "/usr/bin/convert"
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "hd.png")
            subprocess.run([exe, FRAMES[5], "-resize", "1920x1080!", out], check=True)
            hd = read(out)
        assert len(hd) > 300_000  # far over the 64 KiB initial windows
        r = c.request("POST", API + "/sessions/big/frames?sequence=1", hd,
                      [("content-type", "image/png")], timeout=60)
        assert r.status == 200, bytes(r.body[:300])
        assert r.headers["content-type"] == "image/png"
        meta = json.loads(r.headers["x-tryon-metadata"])
        assert meta["frame_metadata"]["width"] == 1920 and meta["frame_metadata"]["height"] == 1080
        assert len(r.body) == meta["frame_metadata"]["size_bytes"] > 100_000
        assert bytes(r.body[:8]) == b"\x89PNG\r\n\x1a\n"
    finally:
        c.close()


def test_http2_needs_content_length(h2srv):
    c = H2Client(h2srv.h2c_port)
    try:
        assert c.request("POST", API + "/sessions",
                         json.dumps({"session_id": "n", "nail_reference": {}}).encode()).status == 201
        sid = c.open("POST", API + "/sessions/n/frames")  # no content-length
        c.send(sid, read(FRAMES[0]), end=True)
        r = c.wait(sid)
        assert r.status == 411 and r.json()["code"] == "INVALID_MESSAGE"
        # the connection is still good
        assert c.request("GET", API + "/sessions/n/stats").status == 200
    finally:
        c.close()


def test_websocket_untouched_by_h2c(h2srv):
    async def go():
        ws, _ = await open_session(h2srv.url)
        await send_frame(ws, "s1", 1, read(FRAMES[0]), 1)
        meta, img = await recv_reply(ws, 1)
        assert meta["type"] == "processed_frame" and img[:4] == b"RIFF"
        await ws.close()
    run(go())
