"""Per-address connection limits on the HTTP API (docs/security.md "Per-address limits"),
end to end with http.client (HTTP/1.1, one connection per request) and python3-h2 (h2c).

What counts: an HTTP API request in progress is one open connection of its client address
(MAX_CONNS_PER_ADDR), in the same table as the WebSockets; a new network connection takes a
token from the address's bucket (CONN_RATE_PER_ADDR, CONN_BURST_PER_ADDR): every HTTP/1.1
request (the service serves one per connection) and the first request of an HTTP/2
connection, whose later streams only count as open while they run. A refusal is 429 with
Retry-After and a RATE_LIMITED error body; nothing of a refused request is processed.
/health and /metrics are not limited (probes). X-Forwarded-For counts only from
TRUSTED_PROXIES.
"""
import base64
import http.client
import json
import os
import socket
import time

from conftest import SLOW, free_port, init_msg
from http_support import API, H2Client
from test_access_control import metrics   # /metrics as {name: value}

STATS = API + "/sessions/nosuch/stats"   # a cheap request: 404 INVALID_SESSION when admitted


def request(srv, method="GET", path=STATS, body=None, headers=None):
    """One HTTP/1.1 request on a new connection: (status, headers, body)."""
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10 * SLOW)
    h = dict(headers or {})
    if body is not None:
        h.setdefault("Content-Type", "application/json")
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    out = (r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    c.close()
    return out


def upgrade(srv):
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10 * SLOW)
    c.request("GET", "/ws/tryon", headers={
        "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode()})
    r = c.getresponse()
    st = r.status
    body = r.read() if st != 101 else b""
    return st, c, body


def refused(answer, needle, status=429, code="RATE_LIMITED"):
    st, headers, body = answer
    assert st == status, answer
    assert headers["content-type"].startswith("application/json"), headers
    assert int(headers["retry-after"]) >= 1, headers
    m = json.loads(body)
    assert m["type"] == "error" and m["code"] == code, m
    assert needle in m["message"], m
    return m


def admitted(answer):
    st, _, body = answer
    assert st == 404, answer   # the route ran: no such session
    assert json.loads(body)["code"] == "INVALID_SESSION"


def test_http11_new_connection_rate(server_factory):
    srv = server_factory(env={"CONN_RATE_PER_ADDR": "1", "CONN_BURST_PER_ADDR": "2",
                              "MAX_CONNS_PER_ADDR": "0"})
    admitted(request(srv))
    admitted(request(srv))
    m = refused(request(srv), "CONN_RATE_PER_ADDR=1")
    assert m["recoverable"] is True
    # a refused POST /sessions creates nothing (its body is never looked at)
    refused(request(srv, "POST", API + "/sessions", body=init_msg("s1")), "CONN_RATE_PER_ADDR")
    # probes are not limited
    assert srv.get("/health")[0] == 200
    # WebSockets draw on the same bucket
    st, c, body = upgrade(srv)
    c.close()
    assert st == 429 and json.loads(body)["code"] == "RATE_LIMITED", (st, body)
    time.sleep(1.1)
    admitted(request(srv))   # the bucket refilled
    mt = metrics(srv)
    assert mt['tryon_rejected_total{reason="conn_rate"}'] == 3, mt
    assert mt.get("tryon_sessions_total", 0) == 0, mt
    assert mt['tryon_errors_total{code="RATE_LIMITED"}'] == 2, mt   # the two API refusals


def test_http11_request_in_progress_counts_as_open(server_factory):
    srv = server_factory(env={"MAX_CONNS_PER_ADDR": "2", "CONN_RATE_PER_ADDR": "0"})
    # a WebSocket and an HTTP request whose body is still coming: two open connections
    st, ws, _ = upgrade(srv)
    assert st == 101
    slow = socket.create_connection(("127.0.0.1", srv.port), timeout=10 * SLOW)
    slow.sendall(b"POST " + API.encode() + b"/sessions HTTP/1.1\r\nHost: x\r\n"
                 b"Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"session_id\"")
    time.sleep(0.3)
    refused(request(srv), "MAX_CONNS_PER_ADDR=2")
    ws.close()   # frees one
    time.sleep(0.3)
    admitted(request(srv))
    # the unfinished request still holds its place: a second WebSocket fills the cap again
    st, ws2, _ = upgrade(srv)
    assert st == 101
    refused(request(srv), "MAX_CONNS_PER_ADDR=2")
    slow.close()
    ws2.close()
    time.sleep(0.3)
    admitted(request(srv))
    mt = metrics(srv)
    assert mt['tryon_rejected_total{reason="conn_limit"}'] == 2, mt
    assert mt.get("tryon_sessions_total", 0) == 0, mt


def test_http11_finished_requests_free_their_place(server_factory):
    """Every way an HTTP/1.1 API request can end gives its place back: answered before its
    body (404), with a body read (400), refused by the route (405), a session created and
    deleted, and a client that hangs up mid-body. With MAX_CONNS_PER_ADDR=1 the next request
    would get 429 if any place leaked."""
    srv = server_factory(env={"MAX_CONNS_PER_ADDR": "1", "CONN_RATE_PER_ADDR": "0"})
    for _ in range(3):
        admitted(request(srv))
        st, _, body = request(srv, "POST", API + "/sessions", body="{not json")
        assert st == 400, (st, body)
        st, _, body = request(srv, "PUT", API + "/sessions", body="{}")
        assert st == 405, (st, body)
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10 * SLOW)
        s.sendall(b"POST " + API.encode() + b"/sessions HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Length: 100\r\n\r\n{")
        time.sleep(0.2)
        s.close()
        time.sleep(0.3)
    st, _, body = request(srv, "POST", API + "/sessions", body=init_msg("s1"))
    assert st == 201, (st, body)
    st, _, body = request(srv, "DELETE", API + "/sessions/s1")
    assert st == 200, (st, body)
    admitted(request(srv))
    assert metrics(srv).get('tryon_rejected_total{reason="conn_limit"}', 0) == 0


def h2server(server_factory, env):
    port = free_port()
    srv = server_factory(env={"H2C_PORT": str(port), **env})
    srv.h2c_port = port
    return srv


def dispatched(client, sids):
    """Waits until the service has taken up these streams: libwebsockets 4.1.6 opens a new
    stream's receive window (WINDOW_UPDATE) when it dispatches the request."""
    deadline = time.time() + 10 * SLOW
    while any(client.conn.local_flow_control_window(s) <= 0 for s in sids):
        assert time.time() < deadline, "streams not dispatched"
        try:
            client.pump(0.2)
        except socket.timeout:
            pass


def h2_refused_soon(client, needle):
    """A GET stats on this connection is refused once the held streams count as open. lws
    may open a new stream's window (what dispatched() waits for) a moment before the request
    reaches the service's callback: until then the probe is answered (404, it holds
    nothing), so ask again for a few seconds."""
    deadline = time.time() + 5 * SLOW
    while True:
        r = client.request("GET", STATS)
        if r.status != 404 or time.time() > deadline:
            return h2_refused(r, needle)
        time.sleep(0.1)


def h2_refused(r, needle):
    assert r.status == 429, (r.status, bytes(r.body))
    assert int(r.headers["retry-after"]) >= 1, r.headers
    m = r.json()
    assert m["code"] == "RATE_LIMITED" and needle in m["message"], m


def test_http2_connection_takes_one_token(server_factory):
    srv = h2server(server_factory, {"CONN_RATE_PER_ADDR": "1", "CONN_BURST_PER_ADDR": "1",
                                    "MAX_CONNS_PER_ADDR": "0"})
    a = H2Client(srv.h2c_port)
    for _ in range(6):   # one connection, many streams: one token
        r = a.request("GET", STATS)
        assert r.status == 404 and r.json()["code"] == "INVALID_SESSION", bytes(r.body)
    b = H2Client(srv.h2c_port)   # a new connection: the bucket is empty
    h2_refused(b.request("GET", STATS), "CONN_RATE_PER_ADDR=1")
    # the refused connection stays up; once a token is back its next stream is admitted
    time.sleep(1.1)
    r = b.request("GET", STATS)
    assert r.status == 404, bytes(r.body)
    r = b.request("GET", STATS)   # and it is now admitted: no token needed
    assert r.status == 404, bytes(r.body)
    r = a.request("GET", STATS)
    assert r.status == 404, bytes(r.body)
    a.close()
    b.close()
    assert metrics(srv)['tryon_rejected_total{reason="conn_rate"}'] == 1


def test_http2_streams_in_progress_count_as_open(server_factory):
    srv = h2server(server_factory, {"MAX_CONNS_PER_ADDR": "2", "CONN_RATE_PER_ADDR": "0"})
    # two requests whose bodies have not come: two open connections of 127.0.0.1. Under heavy
    # load the held streams were once seen not to count within 5 s (cause not found: lws's
    # stream dispatch); the scenario is tried up to three times on fresh connections, so only
    # a service that never counts them fails.
    for attempt in range(3):
        a = H2Client(srv.h2c_port)
        hold = [a.open("POST", API + "/sessions", [("content-length", "400"),
                                                    ("content-type", "application/json")])
                for _ in range(2)]
        dispatched(a, hold)
        try:
            h2_refused_soon(a, "MAX_CONNS_PER_ADDR=2")
            break
        except AssertionError:
            if attempt == 2:
                raise
            a.close()
            time.sleep(0.5)
    st, ws, body = upgrade(srv)   # a WebSocket too
    assert st == 429 and json.loads(body)["code"] == "RATE_LIMITED", (st, body)
    ws.close()
    # one ends: its place is free
    a.send(hold[0], b"x" * 400, end=True)
    r = a.wait(hold[0])
    assert r.status == 400 and r.json()["code"] == "INVALID_MESSAGE", bytes(r.body)
    r = a.request("GET", STATS)
    assert r.status == 404, bytes(r.body)
    a.close()   # the other goes with its connection
    time.sleep(0.3)
    # two held streams on a new connection count again; the same lws dispatch delay as above
    # (seen once more in a clean-clone ASan run under load), so the same three tries
    for attempt in range(3):
        b = H2Client(srv.h2c_port)
        dispatched(b, [b.open("POST", API + "/sessions", [("content-length", "400")])
                       for _ in range(2)])
        try:
            h2_refused_soon(b, "MAX_CONNS_PER_ADDR=2")
            break
        except AssertionError:
            if attempt == 2:
                raise
            b.close()
            time.sleep(0.5)
    b.close()
    mt = metrics(srv)
    # the three refusals above; under load one more is possible when b's held stream arrives
    # before the service has released a's (each refusal that matters is asserted above)
    assert mt['tryon_rejected_total{reason="conn_limit"}'] >= 3, mt
    assert mt.get("tryon_sessions_total", 0) == 0, mt


def test_forwarded_for_from_trusted_proxy_only(server_factory):
    srv = server_factory(env={"CONN_RATE_PER_ADDR": "0.01", "CONN_BURST_PER_ADDR": "1",
                              "MAX_CONNS_PER_ADDR": "0", "TRUSTED_PROXIES": "127.0.0.1"})
    xff = lambda v: {"X-Forwarded-For": v}   # noqa: E731
    admitted(request(srv, headers=xff("203.0.113.1")))
    refused(request(srv, headers=xff("203.0.113.1")), "CONN_RATE_PER_ADDR")
    admitted(request(srv, headers=xff("203.0.113.2")))   # another client behind the proxy
    # entries left of the one the proxy wrote are the client's own: never used
    refused(request(srv, headers=xff("198.51.100.9, 203.0.113.1")), "CONN_RATE_PER_ADDR")
    # IPv6 clients are counted per /64
    admitted(request(srv, headers=xff("2001:db8:1:2::1")))
    refused(request(srv, headers=xff("2001:db8:1:2::ffff")), "CONN_RATE_PER_ADDR")
    admitted(request(srv))   # the proxy itself (no header) is a client of its own

    untrusted = server_factory(env={"CONN_RATE_PER_ADDR": "0.01", "CONN_BURST_PER_ADDR": "1",
                                    "MAX_CONNS_PER_ADDR": "0"})
    admitted(request(untrusted, headers=xff("203.0.113.1")))
    # without TRUSTED_PROXIES the header is ignored: the same peer, refused
    refused(request(untrusted, headers=xff("203.0.113.2")), "CONN_RATE_PER_ADDR")
