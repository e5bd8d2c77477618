"""Helpers for the HTTP API tests (docs/http-api.md): curl, a small HTTP/2 client on Debian's
python3-h2 (cleartext prior knowledge or TLS with ALPN), the process-stream record framing,
and a self-signed certificate made with openssl."""
import json
import os
import shutil
import socket
import ssl
import struct
import subprocess
import tempfile
import time

import h2.config
import h2.connection
import h2.events
import h2.settings

from conftest import SLOW

CURL = shutil.which("curl") or "/usr/bin/curl"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
API = "/api/tryon"

REC_JSON, REC_IMAGE, REC_END = 1, 2, 3


# ---- curl -------------------------------------------------------------------------------

class CurlResult:
    def __init__(self, status, version, headers, body):
        self.status, self.version, self.headers, self.body = status, version, headers, body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<{self.status} HTTP/{self.version} {self.body[:200]!r}>"


def curl(url, *args, data=None, data_file=None, method=None, headers=(), http="1.1",
         cacert=None, timeout=60, stdin=None):
    """Runs curl; returns status, HTTP version, headers (lower-case names) and body.
    stdin: a body streamed from standard input (-T -): no content-length, which is how a
    process-stream must go over HTTP/2 with libwebsockets 4.1.6 (docs/http-api.md)."""
    with tempfile.TemporaryDirectory() as d:
        hdr_path, body_path = os.path.join(d, "h"), os.path.join(d, "b")
        cmd = [CURL, "-sS", "-D", hdr_path, "-o", body_path, "-w", "%{http_code} %{http_version}",
               "--max-time", str(timeout * SLOW)]
        cmd += {"1.1": ["--http1.1"], "h2c": ["--http2-prior-knowledge"], "2": ["--http2"]}[http]
        if cacert:
            cmd += ["--cacert", cacert]
        if method:
            cmd += ["-X", method]
        for h in headers:
            cmd += ["-H", h]
        if data is not None:
            src = os.path.join(d, "in")
            with open(src, "wb") as f:
                f.write(data if isinstance(data, bytes) else data.encode())
            cmd += ["--data-binary", "@" + src]
        if data_file is not None:
            cmd += ["--data-binary", "@" + data_file]
        if stdin is not None:
            cmd += ["-T", "-"] + ([] if method else ["-X", "POST"])
        cmd += list(args) + [url]
        p = subprocess.run(cmd, capture_output=True, input=stdin)
        assert p.returncode == 0, f"curl failed ({p.returncode}): {p.stderr.decode()}"
        code, version = p.stdout.decode().split()
        headers = {}
        with open(hdr_path, "rb") as f:
            for line in f.read().decode("latin-1").splitlines():
                if ":" in line and not line.startswith("HTTP/"):
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
        with open(body_path, "rb") as f:
            body = f.read()
        return CurlResult(int(code), version, headers, body)


# ---- HTTP/2 on python3-h2 -----------------------------------------------------------------

class H2Response:
    def __init__(self):
        self.status = None
        self.headers = {}
        self.body = bytearray()
        self.ended = False
        self.reset = None

    def json(self):
        return json.loads(bytes(self.body))


class H2Client:
    """One HTTP/2 connection: cleartext with prior knowledge, or TLS with ALPN "h2"."""

    def __init__(self, port, tls_ca=None, host="127.0.0.1", window=None):
        raw = socket.create_connection((host, port), timeout=10 * SLOW)
        if tls_ca:
            ctx = ssl.create_default_context(cafile=tls_ca)
            ctx.set_alpn_protocols(["h2"])
            raw = ctx.wrap_socket(raw, server_hostname="localhost")
            assert raw.selected_alpn_protocol() == "h2", raw.selected_alpn_protocol()
        self.sock = raw
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.conn.initiate_connection()
        if window:
            self.conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window})
        self.flush()
        self.responses = {}
        self.authority = f"{host}:{port}"
        self.scheme = "https" if tls_ca else "http"
        self.pending_send = {}   # stream id -> (bytes waiting for the window, end)
        # Take the server's SETTINGS (and send their ACK) before any request: an ACK that
        # followed a request body into the server's read would meet lws 4.1.6's
        # content-length check (see request()).
        deadline = time.time() + 10 * SLOW
        while not any(isinstance(e, h2.events.RemoteSettingsChanged) for e in self.pump()):
            assert time.time() < deadline, "no SETTINGS from the server"

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def close(self):
        try:
            self.conn.close_connection()
            self.flush()
        except Exception:
            pass
        self.sock.close()

    def open(self, method, path, headers=(), end=False):
        sid = self.conn.get_next_available_stream_id()
        hdrs = [(":method", method), (":path", path), (":scheme", self.scheme),
                (":authority", self.authority)] + list(headers)
        self.conn.send_headers(sid, hdrs, end_stream=end)
        self.flush()
        self.responses[sid] = H2Response()
        return sid

    def open_stream(self, path, headers=(), timeout=30.0):
        """Opens a process-stream and waits for its response head (200) before anything is
        sent on it: body bytes that reach libwebsockets 4.1.6 before it has dispatched the
        request are never credited back to the client's window (docs/http-api.md)."""
        sid = self.open("POST", path, headers)
        deadline = time.time() + timeout * SLOW
        r = self.responses[sid]
        while r.status is None and not r.ended:
            assert time.time() < deadline, "no response head for the stream"
            self.pump(timeout)
        return sid

    def send(self, sid, data, end=False):
        """Queues body bytes (and the end of the body); they go out as the peer's flow-control
        window allows, here and in every pump()."""
        buf, ended = self.pending_send.get(sid, (b"", False))
        self.pending_send[sid] = (buf + data, ended or end)
        self._push()

    def _push(self):
        for sid in list(self.pending_send):
            data, end = self.pending_send[sid]
            while data:
                room = min(self.conn.local_flow_control_window(sid),
                           self.conn.max_outbound_frame_size)
                if room <= 0:
                    break
                # END_STREAM rides on the last DATA frame, as curl does (see upload())
                last = end and room >= len(data)
                self.conn.send_data(sid, data[:room], end_stream=last)
                data = data[room:]
                if last:
                    end = False
            if not data and end:
                self.conn.end_stream(sid)
            if not data:
                del self.pending_send[sid]
            else:
                self.pending_send[sid] = (data, end)
        self.flush()

    def pump(self, timeout=10.0):
        """Reads once (or times out): returns the h2 events."""
        self.sock.settimeout(timeout * SLOW)
        data = self.sock.recv(1 << 16)
        if not data:
            raise ConnectionError("the server closed the connection")
        events = self.conn.receive_data(data)
        for ev in events:
            r = self.responses.get(getattr(ev, "stream_id", None))
            if isinstance(ev, h2.events.ResponseReceived):
                hd = {k.decode(): v.decode() for k, v in ev.headers}
                r.status = int(hd[":status"])
                r.headers = hd
            elif isinstance(ev, h2.events.DataReceived):
                r.body += ev.data
                self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                r.ended = True
            elif isinstance(ev, h2.events.StreamReset):
                if r:
                    r.reset = ev.error_code
                    r.ended = True
        self._push()
        self.flush()
        return events

    def wait(self, sid, timeout=30.0):
        deadline = time.time() + timeout * SLOW
        r = self.responses[sid]
        while not r.ended:
            assert time.time() < deadline, f"stream {sid} did not end"
            self.pump(timeout)
        return r

    def request(self, method, path, body=None, headers=(), timeout=30.0):
        """One request, waited for. Bodies carry a content-length; libwebsockets 4.1.6 answers
        GOAWAY when the last DATA frame of such a body reaches it in the same read as a later
        frame (docs/http-api.md), so uploads on one connection go one at a time."""
        hdrs = list(headers)
        if body is not None:
            hdrs.append(("content-length", str(len(body))))
        sid = self.open(method, path, hdrs, end=body is None)
        if body is not None:
            self.send(sid, body, end=True)
        return self.wait(sid, timeout)


# ---- process-stream records ------------------------------------------------------------

def record(rtype, payload=b""):
    if isinstance(payload, (dict, list)):
        payload = json.dumps(payload).encode()
    return struct.pack(">IB", len(payload), rtype) + payload


def end_record():
    return record(REC_END)


class RecordReader:
    """Incremental parser of the response's records: feed bytes, take complete records."""

    def __init__(self):
        self.buf = bytearray()

    def feed(self, data):
        self.buf += data

    def take(self):
        out = []
        while len(self.buf) >= 5:
            n, t = struct.unpack(">IB", self.buf[:5])
            if len(self.buf) < 5 + n:
                break
            p = bytes(self.buf[5:5 + n])
            del self.buf[:5 + n]
            out.append((t, json.loads(p) if t == REC_JSON else p))
        return out


def parse_records(data):
    rd = RecordReader()
    rd.feed(data)
    recs = rd.take()
    assert not rd.buf, f"{len(rd.buf)} trailing bytes"
    return recs


def results_by_sequence(recs):
    """{sequence: (json, image or None)} from a list of records, checking that every image
    follows its processed_frame."""
    out, last = {}, None
    for t, p in recs:
        if t == REC_JSON:
            last = p
            if p["type"] in ("processed_frame", "error") and p.get("sequence") is not None:
                assert p["sequence"] not in out, f"two answers for {p['sequence']}"
                out[p["sequence"]] = (p, None)
        elif t == REC_IMAGE:
            assert last and last["type"] == "processed_frame", "image without processed_frame"
            out[last["sequence"]] = (last, p)
    return out


# ---- TLS --------------------------------------------------------------------------------

def make_cert(directory):
    """A self-signed certificate for localhost and 127.0.0.1: (cert path, key path)."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key
