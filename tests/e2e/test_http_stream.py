"""POST /api/tryon/process-stream (docs/http-api.md): full duplex on HTTP/2 (python3-h2) and
HTTP/1.1 (chunked both ways, a raw socket), curl uploads of whole record files, exactly one
answer per frame, the final stats and END records, and every corrupt stream."""
import json
import socket
import struct
import time

import pytest

from conftest import SLOW, free_port, png_bytes, read, video_frames
from http_support import (API, REC_END, REC_IMAGE, REC_JSON, H2Client, RecordReader, curl,
                          end_record, parse_records, record, results_by_sequence)

FRAMES = video_frames("palm_reach")[40:70]
CTYPE = "application/vnd.lacquer.tryon-stream"


@pytest.fixture
def srv(server_factory):
    port = free_port()
    s = server_factory(env={"H2C_PORT": str(port)})
    s.h2c_port = port
    s.h2c = f"http://127.0.0.1:{port}"
    for sid in ("a", "b"):
        r = curl(s.http + API + "/sessions", data=json.dumps({"session_id": sid,
                                                              "nail_reference": {}}))
        assert r.status == 201
    return s


def frames_file(n, first_seq=1, end=True):
    out = b""
    for i in range(n):
        out += record(REC_JSON, {"sequence": first_seq + i, "timestamp": 1000 + i})
        out += record(REC_IMAGE, read(FRAMES[i]))
    return out + (end_record() if end else b"")


def check_ending(recs, frames):
    assert recs[-1] == (REC_END, b"")
    final = recs[-2][1]
    assert final["type"] == "stats" and final["frames_received"] >= frames
    return final


def test_http2_full_duplex(srv):
    """Each frame's result comes back while the request body is still open."""
    c = H2Client(srv.h2c_port)
    try:
        sid = c.open_stream(API + "/process-stream?session_id=a")
        rd, results = RecordReader(), {}
        for k in range(12):
            c.send(sid, record(REC_JSON, {"sequence": 100 + k, "timestamp": 7}) +
                   record(REC_IMAGE, read(FRAMES[k])))
            deadline = time.time() + 30 * SLOW
            while 100 + k not in results:
                assert time.time() < deadline, f"no answer to frame {k} while streaming"
                c.pump()
                r = c.responses[sid]
                rd.feed(bytes(r.body))
                r.body.clear()
                last = None
                for t, p in rd.take():
                    if t == REC_JSON:
                        last = p
                        if p["type"] == "error":
                            results[p["sequence"]] = (p, None)
                    elif t == REC_IMAGE:
                        assert last["type"] == "processed_frame"
                        results[last["sequence"]] = (last, p)
            assert c.responses[sid].status == 200 and not c.responses[sid].ended
        assert c.responses[sid].headers["content-type"] == CTYPE
        for seq, (meta, img) in results.items():
            assert meta["type"] == "processed_frame", meta
            assert meta["request_timestamp"] == 7
            assert img[:4] == b"RIFF" and len(img) == meta["frame_metadata"]["size_bytes"]
        # a stats request in the stream, then the end
        c.send(sid, record(REC_JSON, {"type": "stats"}) + end_record(), end=True)
        r = c.wait(sid)
        rd.feed(bytes(r.body))
        recs = rd.take()
        assert [p["type"] for t, p in recs if t == REC_JSON] == ["stats", "stats"]
        final = check_ending(recs, 12)
        assert final["frames_processed"] == 12
    finally:
        c.close()
    # the session goes on after its stream: plain frames work again
    r = curl(srv.http + API + "/sessions/a/frames", data=read(FRAMES[20]))
    assert r.status == 200 and json.loads(r.headers["x-tryon-metadata"])["sequence"] == 112


def test_http11_full_duplex_raw_socket(srv):
    """HTTP/1.1: chunked request, chunked response, results read between the request's chunks."""
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=20 * SLOW)
    s.sendall(f"POST {API}/process-stream?session_id=b HTTP/1.1\r\nHost: x\r\n"
              "Transfer-Encoding: chunked\r\n\r\n".encode())

    def chunk(b):
        s.sendall(b"%x\r\n" % len(b) + b + b"\r\n")
    buf = b""
    for k in range(6):
        chunk(record(REC_IMAGE, read(FRAMES[k])))  # no JSON record: sequences 1, 2, ...
        while buf.count(b'"processed_frame"') + buf.count(b'"type":"error"') < k + 1:
            d = s.recv(65536)
            assert d, "connection closed while streaming"
            buf += d
    chunk(end_record())
    s.sendall(b"0\r\n\r\n")
    while True:
        d = s.recv(65536)
        if not d:
            break
        buf += d
    s.close()
    head, body = buf.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200")
    assert b"transfer-encoding: chunked" in head and b"connection: close" in head
    data, rest = b"", body  # undo the chunked encoding
    while True:
        size_line, rest = rest.split(b"\r\n", 1)
        n = int(size_line, 16)
        if n == 0:
            break
        data, rest = data + rest[:n], rest[n + 2:]
    recs = parse_records(data)
    res = results_by_sequence(recs)
    assert sorted(res) == [1, 2, 3, 4, 5, 6]
    assert all(m["type"] == "processed_frame" and img for m, img in res.values())
    assert check_ending(recs, 6)["frames_processed"] == 6


@pytest.mark.parametrize("http,chunked", [("1.1", False), ("1.1", True), ("h2c", True)])
def test_curl_uploads_a_record_file(srv, http, chunked):
    """A whole file of 8 frames at once: every frame gets exactly one answer (processed, or
    dropped with PROCESSING_TIMEOUT as on the WebSocket: the latest frame wins). Over
    HTTP/2 the body goes without a content-length (curl -T -), as docs/http-api.md says."""
    url = (srv.h2c if http == "h2c" else srv.http) + API + "/process-stream?session_id=a"
    body = frames_file(8, first_seq=50)
    if http == "h2c":
        r = curl(url, stdin=body, http=http)
    else:
        r = curl(url, data=body, http=http,
                 headers=["Transfer-Encoding: chunked"] if chunked else [])
    assert r.status == 200 and r.headers["content-type"] == CTYPE
    assert r.version == ("2" if http == "h2c" else "1.1")
    recs = parse_records(r.body)
    res = results_by_sequence(recs)
    assert sorted(res) == list(range(50, 58))
    for meta, img in res.values():
        if meta["type"] == "processed_frame":
            assert img and img[:4] == b"RIFF"
        else:
            assert meta["code"] == "PROCESSING_TIMEOUT", meta
    final = check_ending(recs, 8)
    assert final["frames_processed"] == sum(m["type"] == "processed_frame" for m, _ in res.values())
    assert final["frames_processed"] >= 3  # at least the first and the last two


def test_without_end_record(srv):
    r = curl(srv.http + API + "/process-stream?session_id=a", data=frames_file(2, end=False),
             headers=["Transfer-Encoding: chunked"])
    recs = parse_records(r.body)
    assert sorted(results_by_sequence(recs)) == [1, 2]
    check_ending(recs, 2)


def test_bad_records_are_answered_and_the_stream_goes_on(srv):
    body = (record(REC_JSON, b"{not json") +
            record(REC_JSON, {"sequence": -4}) +
            record(REC_JSON, {"type": "close"}) +
            record(REC_JSON, {"sequence": 9}) + record(REC_IMAGE, b"GIF89a" + b"\0" * 20) +
            record(REC_IMAGE, png_bytes(64, 64)) +
            record(REC_IMAGE, read(FRAMES[0])) + end_record())
    r = curl(srv.http + API + "/process-stream?session_id=a", data=body)
    recs = parse_records(r.body)
    errors = [p for t, p in recs if t == REC_JSON and p["type"] == "error"]
    assert [e["code"] for e in errors] == ["INVALID_MESSAGE"] * 3 + [
        "UNSUPPORTED_FORMAT", "HAND_NOT_DETECTED"]
    assert "not a JSON object" in errors[0]["message"]
    assert "integers" in errors[1]["message"] and '"stats"' in errors[2]["message"]
    assert errors[3]["sequence"] == 9 and errors[4]["sequence"] == 10
    res = results_by_sequence(recs)
    assert res[11][0]["type"] == "processed_frame" and res[11][1]
    assert check_ending(recs, 3)["frames_with_errors"] == 2


@pytest.mark.parametrize("name,body,code,needle", [
    ("unknown type", record(REC_JSON, {"sequence": 1}) + struct.pack(">IB", 3, 9) + b"abc",
     "INVALID_MESSAGE", "unknown type 9"),
    ("json too long", struct.pack(">IB", 70000, REC_JSON) + b"{" * 100,
     "INVALID_MESSAGE", "the limit is 65536"),
    ("image too long", struct.pack(">IB", 0xFFFFFFF0, REC_IMAGE), "FRAME_TOO_LARGE",
     "the limit is 10485760"),
    ("end with payload", struct.pack(">IB", 2, REC_END) + b"zz", "INVALID_MESSAGE",
     "END record at byte 0 has a 2-byte payload"),
    ("cut in a header", record(REC_JSON, {}) + b"\0\0", "INVALID_MESSAGE",
     "inside the header of the record at byte 7"),
    ("cut in a payload", struct.pack(">IB", 500, REC_IMAGE) + b"x" * 10, "INVALID_MESSAGE",
     "inside the image record at byte 0 (10 of 500"),
])
def test_corrupt_streams(srv, name, body, code, needle):
    """A corrupt stream gets one error record saying what and where, then stats and END;
    nothing after the fault is looked at. HTTP/1.1 with curl; HTTP/2 with python3-h2 and a
    content-length (so that a cut body is seen as cut), sent after the server's SETTINGS and
    the 200 (curl writes its first request with the connection preface: see the lws 4.1.6
    notes in docs/http-api.md)."""
    def over_h2(data):
        c = H2Client(srv.h2c_port)
        try:
            sid = c.open_stream(API + "/process-stream?session_id=a",
                                [("content-length", str(len(data)))])
            c.send(sid, data, end=True)
            r = c.wait(sid)
            assert r.status == 200
            return bytes(r.body)
        finally:
            c.close()

    # the cut is only a cut when nothing follows it
    data = body if name.startswith("cut") else body + record(REC_IMAGE, read(FRAMES[0]))
    for http in ("1.1", "h2c"):
        if http == "h2c":
            recs = parse_records(over_h2(data))
        else:
            r = curl(srv.http + API + "/process-stream?session_id=a", data=data)
            assert r.status == 200
            recs = parse_records(r.body)
        errors = [p for t, p in recs if t == REC_JSON and p["type"] == "error"]
        assert len(errors) == 1, recs
        assert errors[0]["code"] == code and needle in errors[0]["message"], errors[0]
        assert "the stream ends here" in errors[0]["message"]
        assert not any(t == REC_IMAGE for t, _ in recs)  # no frame after the fault
        check_ending(recs, 0)


def test_stream_start_errors(srv):
    base = srv.http + API + "/process-stream"
    r = curl(base, data=end_record())
    assert r.status == 400 and "session_id" in r.json()["message"]
    r = curl(base + "?session_id=nope", data=end_record())
    assert r.status == 404 and r.json()["code"] == "INVALID_SESSION"
    r = curl(base + "?session_id=a", method="GET")
    assert r.status == 405
    # one stream per session; /frames waits while it runs
    c = H2Client(srv.h2c_port)
    try:
        sid = c.open_stream(API + "/process-stream?session_id=a")
        c.send(sid, record(REC_JSON, {"sequence": 1}))
        r = curl(base + "?session_id=a", data=end_record())
        assert r.status == 409 and "already has a process-stream" in r.json()["message"]
        r = curl(srv.http + API + "/sessions/a/frames", data=read(FRAMES[0]))
        assert r.status == 409 and "streaming" in r.json()["message"]
        # DELETE while streaming: the stream hears session_closed and ends
        assert curl(srv.http + API + "/sessions/a", method="DELETE").status == 200
        r = c.wait(sid)
        recs = RecordReader()
        recs.feed(bytes(r.body))
        types = [p["type"] for t, p in recs.take() if t == REC_JSON]
        assert types[-2:] == ["stats", "session_closed"], types
    finally:
        c.close()


def test_shutdown_finishes_streams_and_frames(srv):
    """SIGTERM: accepted frames are finished, a running stream gets stats, close_session
    (server_shutdown) and END, new requests get 503, and the service exits 0."""
    import signal
    c = H2Client(srv.h2c_port)
    try:
        sid = c.open_stream(API + "/process-stream?session_id=a")
        c.send(sid, record(REC_JSON, {"sequence": 1}) + record(REC_IMAGE, read(FRAMES[0])))
        rd, got = RecordReader(), []
        while not any(t == REC_IMAGE for t, _ in got):
            c.pump()
            rd.feed(bytes(c.responses[sid].body))
            c.responses[sid].body.clear()
            got += rd.take()
        frame = c.open("POST", API + "/sessions/b/frames?sequence=3",
                       [("content-length", str(len(read(FRAMES[1]))))])
        c.send(frame, read(FRAMES[1]), end=True)
        srv.proc.send_signal(signal.SIGTERM)
        r = c.wait(frame)
        assert r.status in (200, 503), r.status  # finished if it was accepted before the signal
        if r.status == 503:
            assert r.json()["code"] in ("SHUTTING_DOWN", "INVALID_SESSION")
        r = c.wait(sid)
        rd.feed(bytes(r.body))
        got += rd.take()
        assert got[-1] == (REC_END, b"")
        kinds = [p["type"] for t, p in got if t == REC_JSON]
        assert kinds[-2:] == ["stats", "close_session"], kinds
        assert got[-2][1]["reason"] == "server_shutdown"
    finally:
        c.close()
    assert srv.proc.wait(30 * SLOW) == 0
