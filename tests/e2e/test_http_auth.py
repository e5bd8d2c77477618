"""AUTH_MODE on the HTTP API (docs/http-api.md "Access control"): JWTs bound to a session
and Redis tokens looked up off the event loop, over HTTP/1.1 and HTTP/2, including a
process-stream whose body arrives while its token is still being looked up. Every refusal is
a 401 (503 when Redis cannot be asked) and leaves nothing behind."""
import json
import time

import jwt
import pytest

from conftest import free_port, read, video_frames
from http_support import (API, REC_IMAGE, REC_JSON, H2Client, curl, end_record, parse_records,
                          record, results_by_sequence)
from redis_support import RedisServer

FRAMES = video_frames("palm_reach")[40:50]
SECRET = "0123456789abcdef0123456789abcdef-http"


def token(sid, secret=SECRET, exp=60, aud="lacquer"):
    return jwt.encode({"session_id": sid, "exp": int(time.time()) + exp, "aud": aud}, secret,
                      algorithm="HS256")


def bearer(t):
    return [f"Authorization: Bearer {t}"]


def active(srv):
    return json.loads(srv.get("/health")[2])["active_sessions"]


def test_jwt_bound_to_its_session(server_factory):
    srv = server_factory(env={"AUTH_MODE": "jwt", "AUTH_JWT_SECRET": SECRET})
    good = token("j1")
    # the body may leave session_id out: the token's is used
    r = curl(srv.http + API + "/sessions", data=json.dumps({"nail_reference": {}}),
             headers=bearer(good))
    assert r.status == 201 and r.json()["session_id"] == "j1"
    # another session with j1's token: refused by init, nothing created
    r = curl(srv.http + API + "/sessions", data=json.dumps({"session_id": "x",
                                                            "nail_reference": {}}),
             headers=bearer(good))
    assert r.status == 401 and "the token is for session 'j1'" in r.json()["message"]
    for bad, needle in [(token("j1", secret="z" * 40), "signature"),
                        (token("j1", exp=-120), "expired"),
                        (token("j1", aud="someone-else"), "aud"),
                        ("not.a.jwt", "")]:
        r = curl(srv.http + API + "/sessions/j1/stats", headers=bearer(bad))
        assert r.status == 401 and r.headers["www-authenticate"] == "Bearer", bad
        assert needle in r.json()["message"]
    assert active(srv) == 1
    # the right token works on the session's routes, as a header or ?token=
    r = curl(f"{srv.http}{API}/sessions/j1/frames?token={good}", data=read(FRAMES[0]))
    assert r.status == 200
    r = curl(srv.http + API + "/sessions/x/stats", headers=bearer(good))  # not its session
    assert r.status == 401
    assert curl(srv.http + API + "/sessions/j1/stats", headers=bearer(good)).json()[
        "frames_received"] == 1
    assert curl(srv.http + API + "/sessions/j1", method="DELETE",
                headers=bearer(good)).status == 200


@pytest.fixture
def rds():
    r = RedisServer()
    yield r
    r.remove()


def test_redis_tokens_over_http1_and_http2(server_factory, rds):
    h2c = free_port()
    srv = server_factory(env={"AUTH_MODE": "redis", "H2C_PORT": str(h2c),
                              "AUTH_REDIS_URL": f"redis://127.0.0.1:{rds.port}/0"})
    rds.client.set("tryon:token:tok-r1", "r1", ex=60)
    rds.client.set("tryon:token:tok-r2", "r2", ex=60)
    r = curl(srv.http + API + "/sessions", data=json.dumps({"nail_reference": {}}),
             headers=bearer("tok-r1"))
    assert r.status == 201 and r.json()["session_id"] == "r1"
    assert curl(srv.http + API + "/sessions/r1/stats", headers=bearer("tok-none")).status == 401
    assert curl(srv.http + API + "/sessions/r1/stats", headers=bearer("tok-r2")).status == 401
    # HTTP/1.1: the request is not read until Redis answered, then the frame goes through
    r = curl(srv.http + API + "/sessions/r1/frames", data=read(FRAMES[0]),
             headers=bearer("tok-r1"))
    assert r.status == 200
    # HTTP/2: a process-stream whose records are all sent before the lookup is back
    c = H2Client(h2c)
    try:
        body = json.dumps({"nail_reference": {}}).encode()
        r2 = c.request("POST", API + "/sessions", body, [("authorization", "Bearer tok-r2")])
        assert r2.status == 201
        sid = c.open("POST", API + "/process-stream?session_id=r2",
                     [("authorization", "Bearer tok-r2")])
        # sent at once, before the 200, on purpose: held while Redis answers (a few frames:
        # within lws's first window, see H2Client.open_stream)
        c.send(sid, b"".join(record(REC_JSON, {"sequence": k}) + record(REC_IMAGE, read(f))
                             for k, f in enumerate(FRAMES[1:4])) + end_record(), end=True)
        r = c.wait(sid)
        assert r.status == 200
        assert sorted(results_by_sequence(parse_records(bytes(r.body)))) == [0, 1, 2]
    finally:
        c.close()
    # Redis gone: 503, the token could not be checked
    rds.stop()
    r = curl(srv.http + API + "/sessions/r1/stats", headers=bearer("tok-r1"))
    assert r.status == 503 and r.json()["code"] == "UNAUTHORIZED"
    assert "could not be checked" in r.json()["message"]
