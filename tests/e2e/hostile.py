"""Helpers for the hostile-peer tests (test_hostile_*.py): a raw RFC 6455 client that can
break every rule, and the canary that proves the server still serves a good frame correctly.

RawWS speaks WebSocket over a plain socket: frames are built by hand, so a test can send an
unmasked frame, set reserved bits, split a control frame or lie about a length. Server frames
are parsed strictly (a server frame that is masked or malformed fails the test).
"""
import asyncio
import base64
import hashlib
import json
import os
import socket
import struct
import time

import websockets

from conftest import SLOW, open_session, read, recv_reply, send_frame, video_frames

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

# The canary frame: palm_reach/0021.webp shows a whole hand with five painted nails.
CANARY_FRAME = 20


def ws_frame(opcode, payload=b"", fin=True, rsv=0, mask=True, length=None, ext=None):
    """One frame. length: the length to claim (default: the real one); ext: force the
    16-bit (126) or 64-bit (127) length form even when a shorter one fits."""
    if isinstance(payload, str):
        payload = payload.encode()
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0xF)
    mbit = 0x80 if mask else 0
    if ext is None:
        ext = 0 if n < 126 else 126 if n < 65536 else 127
    if ext == 0:
        head = bytes([b0, mbit | n])
    elif ext == 126:
        head = bytes([b0, mbit | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, mbit | 127]) + struct.pack(">Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    body = bytes(b ^ key[i & 3] for i, b in enumerate(payload))
    return head + key + body


def close_payload(code, reason=b""):
    return struct.pack(">H", code) + reason


class RawWS:
    """A WebSocket client on a raw socket (the handshake done, nothing else checked)."""

    def __init__(self, port, path="/ws/tryon", timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout * SLOW)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
                          .encode())
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            assert chunk, "connection closed during the handshake"
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head
        accept = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
        assert b"Sec-WebSocket-Accept: " + accept in head, head

    def send(self, data):
        self.sock.sendall(data)

    def send_text(self, text):
        self.send(ws_frame(OP_TEXT, text))

    def send_binary(self, data):
        self.send(ws_frame(OP_BINARY, data))

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv_frame(self):
        """(fin, opcode, payload) of the next server frame; EOFError if the TCP stream ends."""
        b0, b1 = self._need(2)
        assert not b1 & 0x80, "a server frame must not be masked"
        assert not b0 & 0x70, "the server set reserved bits"
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", self._need(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self._need(8))[0]
        return bool(b0 & 0x80), b0 & 0xF, self._need(n)

    def recv_message(self):
        """The next whole data message as str or bytes (pings answered, pongs skipped);
        a close frame is returned as ("close", code, reason)."""
        parts, first = [], None
        while True:
            fin, op, payload = self.recv_frame()
            if op == OP_PING:
                self.send(ws_frame(OP_PONG, payload))
                continue
            if op == OP_PONG:
                continue
            if op == OP_CLOSE:
                code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
                return ("close", code, payload[2:].decode("utf-8"))
            if first is None:
                first = op
            parts.append(payload)
            if fin:
                data = b"".join(parts)
                return data.decode("utf-8") if first == OP_TEXT else data

    def recv_json(self):
        m = self.recv_message()
        assert isinstance(m, str), f"expected a text message, got {m!r:.200}"
        return json.loads(m)

    def expect_close(self, timeout=10.0):
        """Reads until the server's close frame; returns (code, reason, [messages before it]).
        Then checks that the server also ends the TCP connection. code is None when the
        server closed the TCP connection without a close frame."""
        self.sock.settimeout(timeout * SLOW)
        before = []
        try:
            while True:
                m = self.recv_message()
                if isinstance(m, tuple):
                    break
                before.append(json.loads(m) if isinstance(m, str) else m)
        except (EOFError, ConnectionResetError):
            return None, None, before
        code, reason = m[1], m[2]
        with _suppress_reset():
            self.send(ws_frame(OP_CLOSE, close_payload(code or 1000)))
        assert self.eof_within(timeout), "the server did not close the TCP connection"
        return code, reason, before

    def eof_within(self, timeout):
        """True if the server ends the TCP stream within timeout seconds (data is discarded)."""
        deadline = time.time() + timeout * SLOW
        self.sock.settimeout(0.2)
        while time.time() < deadline:
            try:
                if not self.sock.recv(65536):
                    return True
            except socket.timeout:
                continue
            except ConnectionResetError:
                return True
        return False

    def close(self):
        with _suppress_reset():
            self.sock.close()


class _suppress_reset:
    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        return et is not None and issubclass(et, (BrokenPipeError, ConnectionResetError))


def init_session_text(session_id="h1"):
    return json.dumps({"type": "init_session", "session_id": session_id,
                       "nail_reference": {"metadata": {"shape": "almond",
                                                       "colors": ["#c8102e"]}}})


def open_raw_session(port, session_id="h1"):
    ws = RawWS(port)
    ws.send_text(init_session_text(session_id))
    ready = ws.recv_json()
    assert ready["type"] == "session_ready", ready
    return ws


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def _canary(url, session_id):
    # smoothing off: a fresh tracking session would hold its first nails back
    ws, _ = await open_session(url, session_id, config={"smoothing": False})
    data = read(video_frames("palm_reach")[CANARY_FRAME])
    await send_frame(ws, session_id, 1, data, 1)
    meta, img = await recv_reply(ws, 1)
    await ws.close()
    return meta, img


def canary(server, session_id="canary"):
    """Processes the canary frame in a fresh session: (what must not change, image digest)."""
    meta, img = asyncio.run(_canary(server.url, session_id))
    assert meta["type"] == "processed_frame", meta
    assert img[:4] == b"RIFF" and img[8:12] == b"WEBP", img[:16]
    keep = {"hands": meta["detection_info"]["hands_detected"],
            "fingertips": meta["detection_info"]["fingertips_detected"],
            "overlay": meta["detection_info"]["overlay_applied"],
            "size": (meta["frame_metadata"]["width"], meta["frame_metadata"]["height"]),
            "nails": [(n["finger"], n["cx"], n["cy"]) for n in meta["nails"]]}
    return keep, hashlib.sha256(img).hexdigest()


class Canary:
    """The server's answer to the canary frame when fresh; check() after each bad input
    asserts the server is alive (GET /health) and answers the frame exactly as before."""

    def __init__(self, server):
        self.server = server
        self.baseline = canary(server)
        assert self.baseline[0]["overlay"] and len(self.baseline[0]["nails"]) >= 4, self.baseline
        self.checks = 0

    def check(self, what=""):
        assert self.server.proc.poll() is None, f"server died after {what}:\n{self.server.logs()}"
        status, _, body = self.server.get("/health")
        assert status == 200, (what, status, body)
        self.checks += 1
        got = canary(self.server, f"canary{self.checks}")
        assert got == self.baseline, f"after {what}: {got} != {self.baseline}"


async def connect(url, **kw):
    return await websockets.connect(url, max_size=None, **kw)


def module_server(*args, env=None):
    """A module-scoped fixture: one server for a batch of bad inputs, with its Canary.
    Yields (server, canary); at the end the server must exit 0 on SIGTERM with no
    sanitizer report in its log."""
    import pytest
    from conftest import Server

    # Hundreds of connections a minute come from 127.0.0.1 here: per-address connection
    # limits (CONN_RATE_PER_ADDR, MAX_CONNS_PER_ADDR) would refuse the canary, not a bad input.
    full_env = {"CONN_RATE_PER_ADDR": "0", "MAX_CONNS_PER_ADDR": "0", **(env or {})}

    @pytest.fixture(scope="module")
    def fixture():
        srv = Server(args, env=full_env)
        try:
            yield srv, Canary(srv)
        finally:
            rc = srv.close()
            logs = srv.logs()
            assert rc == 0, f"server exit code {rc}:\n{logs[-4000:]}"
            assert "AddressSanitizer" not in logs and "runtime error" not in logs, logs[-4000:]
            os.unlink(srv.log_path)
    return fixture
