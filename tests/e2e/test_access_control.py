"""Access control of `lacquer serve` (docs/security.md "Access control"), end to end.

Every rule is broken once and the exact refusal checked: the HTTP status and JSON error of
a refused WebSocket upgrade, or the error message and close code of a refused connection;
and /metrics shows that nothing was processed (no session, no frame, no decode).

JWTs are signed here with Debian's python3-jwt (PyJWT); the RS256 and ES256 key pairs are
made here with openssl. AUTH_MODE=redis runs against a real redis-server started by the
test. The forgeries (alg none, HS256 signed with the RSA public key, a swapped payload) are
built by hand: PyJWT rightly refuses to make them.
"""
import asyncio
import base64
import hashlib
import hmac
import http.client
import json
import os
import shutil
import subprocess
import tempfile
import time

import jwt
import pytest
import websockets

from conftest import (SLOW, frame_header, init_msg, png_bytes, read, recv_json, recv_reply, run,
                      send_frame, video_frames)
from redis_support import RedisServer

SECRET = "test-secret-that-is-long-enough-for-hs256!"
AUD = "lacquer"


# ---- helpers ----

def metrics(srv):
    status, _, body = srv.get("/metrics")
    assert status == 200
    out = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def processed_nothing(m):
    """No session was created and no frame reached a worker."""
    assert m.get("tryon_sessions_total", 0) == 0, m
    for status in ("success", "no_result", "error"):
        assert m.get(f'tryon_frames_processed_total{{status="{status}"}}', 0) == 0, m
    assert m.get('tryon_stage_seconds_count{stage="decode"}', 0) == 0, m


def token(claims=None, key=SECRET, alg="HS256", headers=None, **kw):
    now = int(time.time())
    c = {"session_id": "s1", "exp": now + 300, "aud": AUD, "iat": now}
    c.update(claims or {})
    for k, v in kw.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return jwt.encode(c, key, algorithm=alg, headers=headers)


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def hand_token(header, payload, sign_key=None):
    """A JWT made by hand: HS256-signed with sign_key (any bytes), or unsigned."""
    h = b64url(json.dumps(header).encode())
    p = b64url(json.dumps(payload).encode())
    sig = b""
    if sign_key is not None:
        sig = hmac.new(sign_key, f"{h}.{p}".encode(), hashlib.sha256).digest()
    return f"{h}.{p}.{b64url(sig)}"


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def keys():
    d = tempfile.mkdtemp(prefix="lq-keys-")
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
            "-out", f"{d}/rsa.pem")
    openssl("pkey", "-in", f"{d}/rsa.pem", "-pubout", "-out", f"{d}/rsa.pub")
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-out", f"{d}/ec.pem")
    openssl("pkey", "-in", f"{d}/ec.pem", "-pubout", "-out", f"{d}/ec.pub")
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-out", f"{d}/ec2.pem")
    yield d
    shutil.rmtree(d)


async def connect(url, token=None, how="header", **kw):
    headers = {}
    if token and how == "header":
        headers["Authorization"] = f"Bearer {token}"
    if token and how == "query":
        url += f"?token={token}"
    if token and how == "subprotocol":
        kw["subprotocols"] = ["lacquer-tryon", f"bearer.{token}"]
    return await websockets.connect(url, max_size=None, extra_headers=headers, **kw)


async def expect_refused(ws, close_code, needle, eager=True):
    """The server answers UNAUTHORIZED (with needle in the message) and closes with close_code.
    With eager, the client sends init_session and a frame at once, as a hasty client would:
    neither may be processed."""
    if eager:
        try:
            await ws.send(init_msg("s1"))
            await send_frame(ws, "s1", 1, read(video_frames("palm_reach")[45]), 1)
        except websockets.ConnectionClosed:
            pass
    msgs = []
    with pytest.raises(websockets.ConnectionClosed) as e:
        while True:
            msgs.append(json.loads(await asyncio.wait_for(ws.recv(), 10 * SLOW)))
    assert e.value.code == close_code, (e.value, msgs)
    assert len(msgs) == 1, msgs
    m = msgs[0]
    assert m["type"] == "error" and m["code"] == "UNAUTHORIZED", m
    assert m["recoverable"] is False and m["session_id"] is None, m
    assert needle in m["message"], m
    return m


async def expect_ready(ws, sid="s1", frame=True):
    await ws.send(init_msg(sid))
    ready = await recv_json(ws, 30)
    assert ready["type"] == "session_ready", ready
    if frame:
        await send_frame(ws, sid, 7, read(video_frames("palm_reach")[45]), 1)
        meta, _ = await recv_reply(ws, 1, timeout=30)
        assert meta["sequence"] == 7 and meta["type"] in ("processed_frame", "error"), meta
    await ws.close()


def raw_upgrade(srv, headers=None, path="/ws/tryon"):
    """A WebSocket upgrade request by hand: (status, headers, body) of the answer."""
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    h = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
         "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode()}
    h.update(headers or {})
    c.request("GET", path, headers=h)
    r = c.getresponse()
    body = r.read() if r.status != 101 else b""
    out = (r.status, {k.lower(): v for k, v in r.getheaders()}, body)
    c.close()
    return out


def check_http_refusal(answer, status, code, needle):
    st, headers, body = answer
    assert st == status, answer
    assert headers["content-type"].startswith("application/json"), headers
    m = json.loads(body)
    assert m["type"] == "error" and m["code"] == code, m
    assert needle in m["message"], m
    return headers, m


# ---- AUTH_MODE=jwt ----

def test_jwt_hs256(server_factory):
    srv = server_factory(env={"AUTH_MODE": "jwt", "AUTH_JWT_SECRET": SECRET})
    now = int(time.time())
    good = {"session_id": "s1", "exp": now + 300, "aud": AUD}
    refusals = [
        (None, "no token"),
        (token(key="another-secret-another-secret-another-secret"), "signature does not verify"),
        (token()[:-4] + ("AAAA" if not token().endswith("AAAA") else "BBBB"),
         "signature does not verify"),
        (token(alg="HS512"), "only HS256 is accepted"),
        (hand_token({"alg": "none", "typ": "JWT"}, good), "alg 'none'"),
        (token(exp=now - 120), "expired"),
        (token(nbf=now + 600, exp=now + 900), "not valid for another"),
        (token(exp=now + 30 * 86400), "AUTH_JWT_MAX_TTL=3600"),
        (token(aud="someone-else"), "audience"),
        (token(exp=None), "no exp"),
        (token(session_id=None), "session_id"),
        ("not-a-jwt", "not a JWT"),
    ]

    async def go():
        for tok, needle in refusals:
            ws = await connect(srv.url, tok, how="query" if tok and "." not in tok else "header")
            await expect_refused(ws, 1008, needle)
        # a good token for s1 used for s2: refused at init_session, before any session exists
        ws = await connect(srv.url, token())
        await ws.send(init_msg("s2"))
        await expect_refused(ws, 1008, "the token is for session 's1', not for 's2'", eager=False)
    run(go())
    m = metrics(srv)
    processed_nothing(m)
    assert m['tryon_rejected_total{reason="auth"}'] == len(refusals) + 1

    async def good():
        await expect_ready(await connect(srv.url, token(), how="header"))
        await expect_ready(await connect(srv.url, token(), how="query"), frame=False)
        # aud may be a list
        await expect_ready(await connect(srv.url, token(aud=["shop", AUD])), frame=False)
    run(good())
    assert metrics(srv)["tryon_sessions_total"] == 3
    logs = srv.logs()
    assert token() not in logs and SECRET not in logs


def test_jwt_rs256_and_alg_confusion(server_factory, keys):
    srv = server_factory(env={"AUTH_MODE": "jwt", "AUTH_JWT_ALG": "RS256",
                              "AUTH_JWT_PUBLIC_KEY_FILE": f"{keys}/rsa.pub",
                              "AUTH_JWT_ISSUER": "https://shop.example"})
    priv = read(f"{keys}/rsa.pem")
    pub = read(f"{keys}/rsa.pub")
    now = int(time.time())
    claims = {"session_id": "s1", "exp": now + 300, "aud": AUD, "iss": "https://shop.example"}

    async def go():
        # HS256 "signed" with the public key as the HMAC secret: the classic confusion
        forged = hand_token({"alg": "HS256", "typ": "JWT"}, claims, sign_key=pub)
        await expect_refused(await connect(srv.url, forged), 1008, "only RS256 is accepted")
        # a good signature over another payload
        good = jwt.encode(claims, priv, algorithm="RS256")
        h, _, sig = good.split(".")
        swapped = f"{h}.{b64url(json.dumps(dict(claims, session_id='victim')).encode())}.{sig}"
        await expect_refused(await connect(srv.url, swapped), 1008, "signature does not verify")
        await expect_refused(await connect(srv.url, jwt.encode(dict(claims, iss="https://evil"),
                                                               priv, algorithm="RS256")),
                             1008, "issuer")
        # then the real thing
        await expect_ready(await connect(srv.url, good))
    run(go())
    assert metrics(srv)["tryon_sessions_total"] == 1


def test_jwt_es256(server_factory, keys):
    srv = server_factory(env={"AUTH_MODE": "jwt", "AUTH_JWT_ALG": "ES256",
                              "AUTH_JWT_PUBLIC_KEY_FILE": f"{keys}/ec.pub"})
    now = int(time.time())
    claims = {"session_id": "s1", "exp": now + 300, "aud": AUD}

    async def go():
        other = jwt.encode(claims, read(f"{keys}/ec2.pem"), algorithm="ES256")
        await expect_refused(await connect(srv.url, other), 1008, "signature does not verify")
        rs = jwt.encode(claims, read(f"{keys}/rsa.pem"), algorithm="RS256")
        await expect_refused(await connect(srv.url, rs), 1008, "only ES256 is accepted")
        await expect_ready(await connect(srv.url, jwt.encode(claims, read(f"{keys}/ec.pem"),
                                                             algorithm="ES256")))
    run(go())


def test_bad_auth_settings_stop_start_up(keys):
    from conftest import BIN, MODELS, free_port
    cases = [
        ({"AUTH_MODE": "jwt"}, "AUTH_JWT_SECRET"),
        ({"AUTH_MODE": "jwt", "AUTH_JWT_SECRET": "short"}, "at least 32 bytes"),
        ({"AUTH_MODE": "jwt", "AUTH_JWT_ALG": "RS256"}, "AUTH_JWT_PUBLIC_KEY_FILE"),
        ({"AUTH_MODE": "jwt", "AUTH_JWT_ALG": "RS256",
          "AUTH_JWT_PUBLIC_KEY_FILE": f"{keys}/ec.pub"}, "RSA public key"),
        ({"AUTH_MODE": "jwt", "AUTH_JWT_ALG": "ES256",
          "AUTH_JWT_PUBLIC_KEY_FILE": f"{keys}/missing.pub"}, "cannot open"),
        ({"AUTH_MODE": "jwt", "AUTH_JWT_ALG": "none"}, "AUTH_JWT_ALG"),
        ({"AUTH_MODE": "token"}, "AUTH_TOKEN"),
        ({"AUTH_MODE": "redis", "AUTH_REDIS_URL": "http://x"}, "AUTH_REDIS_URL"),
        ({"TRUSTED_PROXIES": "10.0.0.0/33"}, "TRUSTED_PROXIES"),
        ({"ALLOWED_ORIGINS": "shop.example"}, "ALLOWED_ORIGINS"),
    ]
    for env, needle in cases:
        full = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH_", "WS_"))}
        full.update({"MODEL_PATH": MODELS, "WS_HOST": "127.0.0.1", "WS_PORT": str(free_port()),
                     **env})
        p = subprocess.run([BIN, "serve"], env=full, capture_output=True, text=True,
                           timeout=60 * SLOW, cwd=tempfile.gettempdir())
        assert p.returncode != 0, (env, p.stdout[-2000:])
        assert needle in p.stderr + p.stdout, (env, p.stderr, p.stdout[-2000:])


# ---- AUTH_MODE=redis ----

@pytest.fixture
def rds():
    r = RedisServer()
    yield r
    r.remove()


def test_redis_tokens(server_factory, rds):
    srv = server_factory(env={"AUTH_MODE": "redis",
                              "AUTH_REDIS_URL": f"redis://127.0.0.1:{rds.port}/0"})
    r = rds.client
    r.set("tryon:token:tok-good-1", "s1", ex=60)
    r.set("tryon:token:tok-sub", "s1", ex=60)
    r.set("tryon:token:tok-other", "s2", ex=60)
    r.set("tryon:token:tok-short", "s1", px=300)
    r.set("tryon:token:tok-junk", "not a session id!", ex=60)

    async def go():
        for tok, needle in [(None, "no token"), ("tok-unknown", "unknown or expired token"),
                            ("tok-junk", "not a session id"), ("bad\"token", "malformed")]:
            ws = await connect(srv.url, tok, how="query")
            await expect_refused(ws, 1008, needle)
        await asyncio.sleep(0.4)  # tok-short's TTL runs out
        await expect_refused(await connect(srv.url, "tok-short"), 1008, "unknown or expired")
        # valid token, wrong session: refused at init_session
        ws = await connect(srv.url, "tok-other")
        await ws.send(init_msg("s1"))
        await expect_refused(ws, 1008, "the token is for session 's2', not for 's1'", eager=False)
    run(go())
    processed_nothing(metrics(srv))

    async def good():
        # init_session sent at once, while the lookup is still out: it waits, then works
        await expect_ready(await connect(srv.url, "tok-good-1"))
        ws = await connect(srv.url, "tok-sub", how="subprotocol")
        assert ws.subprotocol == "lacquer-tryon"
        await expect_ready(ws, frame=False)
        await expect_ready(await connect(srv.url, "tok-good-1", how="query"), frame=False)
    run(good())
    assert metrics(srv)["tryon_sessions_total"] == 3

    # Redis goes away: refused with 1013 (try again later), not as a bad token
    rds.stop()

    async def down():
        ws = await connect(srv.url, "tok-good-1")
        m = await expect_refused(ws, 1013, "could not be checked")
        assert "try again later" in m["message"]
    run(down())
    assert "tok-good-1" not in srv.logs()


def test_shared_token_still_works(server_factory):
    srv = server_factory(env={"AUTH_TOKEN": "s3cret-token"})  # AUTH_MODE unset: token mode

    async def go():
        await expect_refused(await connect(srv.url, "wrong"), 1008, "wrong token")
        await expect_refused(await connect(srv.url, None), 1008, "no token")
        await expect_ready(await connect(srv.url, "s3cret-token", how="subprotocol"),
                           frame=False)
    run(go())


def test_token_transport_limits_pinned(server_factory):
    """Where a token can travel, pinned: libwebsockets 4.1.6 keeps at most 126 bytes of
    Sec-WebSocket-Protocol and drops the connection without an HTTP answer when it is longer
    (so the subprotocol carries short tokens, not JWTs); a ?token= value is URL-decoded by
    lws, so a raw '+' arrives as a space and is refused: percent-encode it (%2B)."""
    short = "T" * 104   # "lacquer-tryon, bearer." + 104 bytes = 126 bytes
    srv = server_factory(env={"AUTH_TOKEN": short})

    async def go():
        await expect_ready(await connect(srv.url, short, how="subprotocol"), frame=False)
        with pytest.raises((websockets.InvalidMessage, websockets.InvalidHandshake, OSError)):
            await connect(srv.url, short + "T", how="subprotocol")   # 127 bytes
    run(go())
    assert srv.get("/health")[0] == 200   # the dropped handshake harmed nothing

    plus = server_factory(env={"AUTH_TOKEN": "ab+cd/ef=="})
    c = http.client.HTTPConnection("127.0.0.1", plus.port, timeout=10)
    c.request("GET", "/api/tryon/sessions/x/stats?token=ab+cd/ef==")
    r = c.getresponse()
    m = json.loads(r.read())
    c.close()
    assert r.status == 401 and "token query parameter is malformed" in m["message"], m
    c = http.client.HTTPConnection("127.0.0.1", plus.port, timeout=10)
    c.request("GET", "/api/tryon/sessions/x/stats?token=ab%2Bcd%2Fef%3D%3D")
    r = c.getresponse()
    m = json.loads(r.read())
    c.close()
    assert r.status == 404 and m["code"] == "INVALID_SESSION", m   # accepted, then no session

    async def go_ws():
        await expect_refused(await connect(plus.url, "ab+cd/ef==", how="query"), 1008,
                             "token query parameter is malformed")
        await expect_ready(await connect(plus.url, "ab%2Bcd%2Fef%3D%3D", how="query"),
                           frame=False)
    run(go_ws())


def test_auth_none_is_announced(server):
    assert "AUTH_MODE=none: ANYONE" in server.logs()


# ---- Origin ----

def test_origins_default_same_origin_only(server):
    own = f"http://127.0.0.1:{server.port}"
    headers, m = check_http_refusal(raw_upgrade(server, {"Origin": "https://evil.example"}),
                                    403, "UNAUTHORIZED", "Origin https://evil.example")
    assert m["recoverable"] is False
    assert raw_upgrade(server, {"Origin": own})[0] == 101
    assert raw_upgrade(server)[0] == 101  # no Origin: a server, not a browser

    async def go():
        with pytest.raises(websockets.InvalidStatusCode) as e:
            await websockets.connect(server.url, origin="http://localhost:9999")
        assert e.value.status_code == 403
        await expect_ready(await websockets.connect(server.url, origin=own), frame=False)
    run(go())
    m = metrics(server)
    assert m['tryon_rejected_total{reason="origin"}'] == 2
    assert m["tryon_sessions_total"] == 1


def test_origins_listed(server_factory):
    srv = server_factory(env={"ALLOWED_ORIGINS": "https://shop.example, http://localhost:3000"})
    assert raw_upgrade(srv, {"Origin": "https://shop.example"})[0] == 101
    assert raw_upgrade(srv, {"Origin": "http://localhost:3000"})[0] == 101
    for bad in ["https://shop.example.evil.example", "http://shop.example", "null"]:
        check_http_refusal(raw_upgrade(srv, {"Origin": bad}), 403, "UNAUTHORIZED", "ALLOWED_ORIGINS")
    processed_nothing(metrics(srv))


# ---- per-address connection limits ----

def test_connection_rate_per_address(server_factory):
    srv = server_factory(env={"CONN_RATE_PER_ADDR": "1", "CONN_BURST_PER_ADDR": "2"})
    assert raw_upgrade(srv)[0] == 101
    assert raw_upgrade(srv)[0] == 101
    headers, m = check_http_refusal(raw_upgrade(srv), 429, "RATE_LIMITED", "CONN_RATE_PER_ADDR=1")
    assert m["recoverable"] is True
    assert int(headers["retry-after"]) >= 1
    time.sleep(1.1)
    assert raw_upgrade(srv)[0] == 101  # the bucket refilled
    m = metrics(srv)
    assert m['tryon_rejected_total{reason="conn_rate"}'] == 1
    processed_nothing(m)


def test_open_connections_per_address_and_trusted_proxy(server_factory):
    srv = server_factory(env={"MAX_CONNS_PER_ADDR": "2", "CONN_RATE_PER_ADDR": "0",
                              "TRUSTED_PROXIES": "127.0.0.1"})

    async def go():
        a = await connect(srv.url)
        b = await connect(srv.url)
        with pytest.raises(websockets.InvalidStatusCode) as e:
            await connect(srv.url)
        assert e.value.status_code == 429
        check_http_refusal(raw_upgrade(srv), 429, "RATE_LIMITED", "MAX_CONNS_PER_ADDR=2")
        # behind the trusted proxy (127.0.0.1), each X-Forwarded-For client has its own count
        c1 = await websockets.connect(srv.url, extra_headers={"X-Forwarded-For": "203.0.113.1"})
        c2 = await websockets.connect(srv.url, extra_headers={"X-Forwarded-For": "203.0.113.1"})
        check_http_refusal(raw_upgrade(srv, {"X-Forwarded-For": "203.0.113.1"}), 429,
                           "RATE_LIMITED", "MAX_CONNS_PER_ADDR")
        # a client cannot escape by forging entries to the left of the proxy's
        check_http_refusal(raw_upgrade(srv, {"X-Forwarded-For": "1.2.3.4, 203.0.113.1"}), 429,
                           "RATE_LIMITED", "MAX_CONNS_PER_ADDR")
        d = await websockets.connect(srv.url, extra_headers={"X-Forwarded-For": "203.0.113.2"})
        # a closed connection frees its slot
        await a.close()
        await asyncio.sleep(0.3)
        e2 = await connect(srv.url)
        for w in (b, c1, c2, d, e2):
            await w.close()
    run(go())
    m = metrics(srv)
    assert m['tryon_rejected_total{reason="conn_limit"}'] == 4
    processed_nothing(m)


def test_forwarded_for_ignored_without_trusted_proxies(server_factory):
    srv = server_factory(env={"MAX_CONNS_PER_ADDR": "1", "CONN_RATE_PER_ADDR": "0"})

    async def go():
        a = await websockets.connect(srv.url, extra_headers={"X-Forwarded-For": "203.0.113.1"})
        check_http_refusal(raw_upgrade(srv, {"X-Forwarded-For": "203.0.113.2"}), 429,
                           "RATE_LIMITED", "MAX_CONNS_PER_ADDR=1")
        await a.close()
    run(go())


# ---- frames per second per session ----

def test_frame_rate_per_session(server_factory):
    srv = server_factory(env={"RATE_LIMIT_FPS": "2", "FRAME_QUEUE_SIZE": "8"})

    async def go():
        ws = await websockets.connect(srv.url, max_size=None)
        await ws.send(init_msg("s1"))
        assert (await recv_json(ws, 30))["type"] == "session_ready"
        data = read(video_frames("palm_reach")[45])
        for seq in range(1, 6):
            await send_frame(ws, "s1", seq, data, 2)
        limited, answered = [], []
        for _ in range(5):
            meta, _ = await recv_reply(ws, 2, timeout=30)
            (limited if meta.get("code") == "RATE_LIMITED" else answered).append(meta)
        assert sorted(m["sequence"] for m in answered) == [1, 2]
        assert sorted(m["sequence"] for m in limited) == [3, 4, 5]
        for m in limited:
            assert m["recoverable"] is True and "RATE_LIMIT_FPS=2" in m["message"], m
        await ws.close()
    run(go())
    m = metrics(srv)
    # the limited frames never reached a worker: two decodes, two results
    assert m['tryon_stage_seconds_count{stage="decode"}'] == 2
    assert sum(m.get(f'tryon_frames_processed_total{{status="{s}"}}', 0)
               for s in ("success", "no_result", "error")) == 2
    assert m['tryon_errors_total{code="RATE_LIMITED"}'] == 3


def test_rate_limit_default_is_the_guides_30():
    # the default is in --help, generated from the settings table
    from conftest import BIN
    p = subprocess.run([BIN, "serve", "--help"], capture_output=True, text=True)
    line = p.stdout[p.stdout.index("--rate-limit-fps"):]
    assert "default 30," in line.splitlines()[1], line[:300]


# ---- input limits ----

def test_message_over_limit_closes_1009(server_factory):
    srv = server_factory("--ws-max-message-size", "64k")

    async def go():
        ws = await websockets.connect(srv.url, max_size=None)
        await ws.send(init_msg("s1"))
        assert (await recv_json(ws, 30))["type"] == "session_ready"
        await ws.send(json.dumps(frame_header("s1", 1)))
        await ws.send(b"\xff\xd8\xff" + b"\x00" * 200_000)
        m = await recv_json(ws)
        assert m["code"] == "FRAME_TOO_LARGE" and "WS_MAX_MESSAGE_SIZE=65536" in m["message"], m
        with pytest.raises(websockets.ConnectionClosed) as e:
            while True:
                msg = await asyncio.wait_for(ws.recv(), 10 * SLOW)
                assert json.loads(msg)["type"] in ("stats", "close_session"), msg
        assert e.value.code == 1009
    run(go())
    m = metrics(srv)
    assert m['tryon_rejected_total{reason="message_too_big"}'] == 1
    assert m.get('tryon_stage_seconds_count{stage="decode"}', 0) == 0


def test_json_size_cap(server_factory):
    srv = server_factory("--json-max-size", "1k")

    async def go():
        ws = await websockets.connect(srv.url, max_size=None)
        # 10 000 array values: refused before parsing, the connection stays usable
        big = {"type": "init_session", "session_id": "s1",
               "nail_reference": {"metadata": {}}, "padding": [1] * 10000}
        await ws.send(json.dumps(big))
        m = await recv_json(ws)
        assert m["type"] == "error" and m["code"] == "INVALID_MESSAGE", m
        assert "JSON_MAX_SIZE=1024" in m["message"] and m["recoverable"] is True, m
        await ws.send(init_msg("s1"))
        assert (await recv_json(ws, 30))["type"] == "session_ready"
        # a base64 frame larger than 1k passes: frame_data is not counted
        data = read(video_frames("palm_reach")[45])
        assert len(base64.b64encode(data)) > 4 * 1024
        await send_frame(ws, "s1", 1, data, 3)
        meta, _ = await recv_reply(ws, 3, timeout=30)
        assert meta["sequence"] == 1 and meta.get("code") != "INVALID_MESSAGE", meta
        await ws.close()
    run(go())
    assert metrics(srv)["tryon_sessions_total"] == 1


def test_image_dimensions_checked_before_decoding(server):
    async def go():
        ws = await websockets.connect(server.url, max_size=None)
        await ws.send(init_msg("s1"))
        assert (await recv_json(ws, 30))["type"] == "session_ready"
        await send_frame(ws, "s1", 1, png_bytes(1921, 100), 1, fmt="png")
        meta, _ = await recv_reply(ws, 1)
        assert meta["code"] == "FRAME_TOO_LARGE" and "1921x100" in meta["message"], meta
        await send_frame(ws, "s1", 2, png_bytes(1200, 1200), 1, fmt="png")  # 1.44 Mpx, 1200 > 1080
        meta, _ = await recv_reply(ws, 1)
        assert meta["code"] == "FRAME_TOO_LARGE", meta
        await ws.close()
    run(go())
    m = metrics(server)
    assert m.get('tryon_stage_seconds_count{stage="decode"}', 0) == 0
    assert m.get('tryon_stage_seconds_count{stage="landmark"}', 0) == 0
