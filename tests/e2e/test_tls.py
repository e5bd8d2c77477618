"""TLS on WS_PORT (TLS_CERT_FILE, TLS_KEY_FILE) with a self-signed certificate made by
openssl: https:// over HTTP/1.1 and HTTP/2 (ALPN) with curl --cacert and python3-h2, the
full-duplex stream over TLS, wss:// with python3-websockets, cleartext refused on the TLS
port, /health on METRICS_PORT, and the start-up errors of a bad configuration."""
import asyncio
import json
import os
import ssl
import subprocess
import time
import urllib.request

import pytest
import websockets

from conftest import BIN, MODELS, SLOW, Server, free_port, listens_on, read, run, video_frames
from http_support import (API, CURL, REC_IMAGE, REC_JSON, H2Client, curl, end_record,
                          make_cert, parse_records, record, results_by_sequence)

FRAMES = video_frames("asl_hand")[95:107]  # the back of the hand: every frame painted


class TlsServer(Server):
    """Ready when https://localhost:PORT/health answers (the certificate is checked)."""

    def __init__(self, cert, **kw):
        self.cert = cert
        super().__init__(**kw)
        self.https = f"https://localhost:{self.port}"
        self.wss = f"wss://localhost:{self.port}/ws/tryon"

    def wait_ready(self, timeout=60.0 * SLOW):
        ctx = ssl.create_default_context(cafile=self.cert)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.logs()}")
            try:
                with urllib.request.urlopen(f"https://localhost:{self.port}/health", timeout=1,
                                            context=ctx) as r:
                    if r.status == 200 and listens_on(self.proc.pid, self.port):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("TLS server did not become ready:\n" + self.logs())


@pytest.fixture
def tls(tmp_path):
    cert, key = make_cert(str(tmp_path))
    mport = free_port()
    s = TlsServer(cert, env={"TLS_CERT_FILE": cert, "TLS_KEY_FILE": key,
                             "METRICS_PORT": str(mport)})
    s.metrics_port = mport
    yield s
    assert s.close() == 0, s.logs()
    assert "AddressSanitizer" not in s.logs() and "runtime error" not in s.logs()


@pytest.mark.parametrize("http", ["1.1", "2"])
def test_https_with_curl(tls, http):
    kw = {"http": http, "cacert": tls.cert}
    r = curl(tls.https + API + "/sessions", data=json.dumps({"session_id": "t" + http,
                                                             "nail_reference": {}}), **kw)
    assert (r.status, r.version) == (201, "2" if http == "2" else "1.1"), r  # ALPN picked it
    r = curl(f"{tls.https}{API}/sessions/t{http}/frames?sequence=4", data=read(FRAMES[0]), **kw)
    assert r.status == 200 and r.body[8:12] == b"WEBP"
    assert json.loads(r.headers["x-tryon-metadata"])["sequence"] == 4
    r = curl(f"{tls.https}{API}/sessions/t{http}/stats", **kw)
    assert r.json()["frames_processed"] == 1
    assert curl(f"{tls.https}{API}/sessions/t{http}", method="DELETE", **kw).status == 200
    assert curl(tls.https + "/health", **kw).json()["status"] == "healthy"


def test_curl_reuses_one_tls_connection(tls):
    """Create, frame, stats on one HTTP/2 connection (curl --next reuses it over TLS)."""
    ca = ["--cacert", tls.cert]
    p = subprocess.run(
        [CURL, "-sS", "-v", *ca, "-o", "/dev/null", "-w", "%{http_version} %{http_code}\n",
         "--data-binary", json.dumps({"session_id": "re", "nail_reference": {}}),
         tls.https + API + "/sessions",
         "--next", *ca, "-o", "/dev/null", "-w", "%{http_version} %{http_code}\n",
         "--data-binary", "@" + FRAMES[2], tls.https + API + "/sessions/re/frames",
         "--next", *ca, "-o", "/dev/null", "-w", "%{http_version} %{http_code}\n",
         tls.https + API + "/sessions/re/stats"], capture_output=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode().split("\n")[:3] == ["2 201", "2 200", "2 200"]
    assert p.stderr.decode().count("Re-using existing connection") == 2


def test_http2_client_over_tls_with_a_stream(tls):
    c = H2Client(tls.port, tls_ca=tls.cert)  # asserts that ALPN chose h2
    try:
        body = json.dumps({"session_id": "s", "nail_reference": {}}).encode()
        assert c.request("POST", API + "/sessions", body).status == 201
        r = c.request("POST", API + "/sessions/s/frames?format=json", read(FRAMES[1]),
                      [("content-type", "image/webp")])
        assert r.status == 200 and r.json()["type"] == "processed_frame"
        sid = c.open_stream(API + "/process-stream?session_id=s")
        body = b"".join(record(REC_JSON, {"sequence": 10 + k}) + record(REC_IMAGE, read(f))
                        for k, f in enumerate(FRAMES[2:5]))
        c.send(sid, body + end_record(), end=True)
        r = c.wait(sid)
        assert r.status == 200
        res = results_by_sequence(parse_records(bytes(r.body)))
        assert sorted(res) == [10, 11, 12]
    finally:
        c.close()


def test_wss(tls):
    ctx = ssl.create_default_context(cafile=tls.cert)

    async def go():
        async with websockets.connect(tls.wss, ssl=ctx, max_size=None) as ws:
            await ws.send(json.dumps({"type": "init_session", "session_id": "w",
                                      "nail_reference": {}}))
            ready = json.loads(await asyncio.wait_for(ws.recv(), 30 * SLOW))
            assert ready["type"] == "session_ready"
            data = read(FRAMES[6])
            await ws.send(json.dumps({"type": "process_frame", "session_id": "w", "sequence": 1,
                                      "frame_metadata": {"format": "webp",
                                                         "size_bytes": len(data)}}))
            await ws.send(data)
            meta = json.loads(await asyncio.wait_for(ws.recv(), 30 * SLOW))
            img = await asyncio.wait_for(ws.recv(), 30 * SLOW)
            assert meta["type"] == "processed_frame" and img[:4] == b"RIFF"
    run(go())


def test_cleartext_refused_on_the_tls_port(tls):
    p = subprocess.run([CURL, "-sS", "--max-time", "5", f"http://127.0.0.1:{tls.port}/health"],
                       capture_output=True)
    assert p.returncode != 0 or not p.stdout.startswith(b"{")
    # /health stays plain on METRICS_PORT (for probes)
    with urllib.request.urlopen(f"http://127.0.0.1:{tls.metrics_port}/health", timeout=5) as r:
        assert json.loads(r.read())["status"] == "healthy"
    # and the certificate is really checked: an unknown CA is refused
    p = subprocess.run([CURL, "-sS", "--max-time", "5", tls.https + "/health"],
                       capture_output=True)
    assert p.returncode == 60, p.stderr  # SSL certificate problem


def start_fails(env):
    e = {k: v for k, v in os.environ.items() if not k.startswith(("WS_", "TLS_", "H2C_"))}
    e.update({"MODEL_PATH": MODELS, "WS_HOST": "127.0.0.1", "WS_PORT": str(free_port())})
    e.update(env)
    p = subprocess.run([BIN, "serve"], env=e, capture_output=True, timeout=60 * SLOW)
    assert p.returncode != 0
    return (p.stdout + p.stderr).decode()


def test_bad_tls_configuration_stops_start_up(tmp_path):
    cert, key = make_cert(str(tmp_path))
    out = start_fails({"TLS_CERT_FILE": cert})
    assert "TLS_KEY_FILE" in out
    out = start_fails({"TLS_KEY_FILE": key})
    assert "TLS_CERT_FILE" in out
    out = start_fails({"TLS_CERT_FILE": cert, "TLS_KEY_FILE": str(tmp_path / "missing.pem")})
    assert "tls_key_file (TLS_KEY_FILE): cannot read" in out and "missing.pem" in out
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    out = start_fails({"TLS_CERT_FILE": str(junk), "TLS_KEY_FILE": key})
    assert "is not a PEM file" in out
    port = free_port()
    out = start_fails({"WS_PORT": str(port), "H2C_PORT": str(port)})
    assert "H2C_PORT" in out
