"""Shared fixtures for the end-to-end tests of `lacquer serve`.

Each test starts the real binary on a free loopback port and talks to it with
Debian's python3-websockets, the library the Django backend uses. CTest passes
LACQUER_BIN (the binary), LQ_MODELS_DIR and LQ_SHARED_DATA; run by hand with
    LACQUER_BIN=build/lacquer /usr/bin/python3 -m pytest tests/e2e
"""
import asyncio
import base64
import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest
import websockets

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
BIN = os.environ.get("LACQUER_BIN", os.path.join(ROOT, "build", "lacquer"))
MODELS = os.environ.get("LQ_MODELS_DIR", os.path.join(ROOT, "models"))
DATA = os.environ.get("LQ_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))
SANITIZED = os.environ.get("LQ_SANITIZED") == "1"
# Frames take much longer under ASan/UBSan; timeouts scale with this.
SLOW = 8.0 if SANITIZED else 1.0
HEADER_SIZE = 1024


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listens_on(pid, port):
    """True if process pid holds a TCP socket listening on port (Linux /proc). Tests run in
    parallel, and free_port's port can be taken by another test's server before ours binds
    it: a /health answer on the port is only ours if the socket is."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            for line in f.readlines()[1:]:
                col = line.split()
                if col[3] == "0A" and int(col[1].rsplit(":", 1)[1], 16) == port:  # LISTEN
                    inodes.add(f"socket:[{col[9]}]")
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                    return True
    return False


PORT_TAKEN = "address in use or not available"  # lacquer serve's message when it cannot bind


def video_frames(name, count=None):
    files = sorted(glob.glob(os.path.join(DATA, "video", name, "*.webp")))
    assert files, f"no frames in {DATA}/video/{name}"
    return files[:count] if count else files


def read(path):
    with open(path, "rb") as f:
        return f.read()


def convert(src, args, suffix):
    """Runs ImageMagick (Debian's imagemagick package) and returns the bytes."""
    exe = "/usr/bin/convert" if os.path.exists("/usr/bin/convert") else shutil.which("convert")
    assert exe, "ImageMagick 'convert' is needed (scripts/deps.sh --test)"
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "out" + suffix)
        subprocess.run([exe, src, *args, out], check=True, capture_output=True)
        return read(out)


class Server:
    def __init__(self, args=(), env=None, workdir=None):
        self.port = free_port()
        self.log_path = tempfile.mktemp(prefix="lacquer-e2e-", suffix=".log")
        full_env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("WS_", "MODEL_", "LOG_", "METRICS_", "ENABLE_"))}
        full_env.update({"MODEL_PATH": MODELS, "WS_HOST": "127.0.0.1",
                         "WS_PORT": str(self.port), "LOG_LEVEL": "info"})
        full_env.update(env or {})
        explicit_port = (env or {}).get("WS_PORT")
        if explicit_port:
            self.port = int(explicit_port)
        for attempt in range(3):
            self.log = open(self.log_path, "w+")
            self.proc = subprocess.Popen([BIN, "serve", *args], env=full_env, stdout=self.log,
                                         stderr=subprocess.STDOUT,
                                         cwd=workdir or tempfile.gettempdir())
            self.url = f"ws://127.0.0.1:{self.port}/ws/tryon"
            self.http = f"http://127.0.0.1:{self.port}"
            try:
                self.wait_ready()
                return
            except AssertionError:
                # another test's server took free_port's port first: try another one
                if explicit_port or attempt == 2 or PORT_TAKEN not in self.logs():
                    raise
                self.log.close()
                self.port = free_port()
                full_env["WS_PORT"] = str(self.port)

    def wait_ready(self, timeout=60.0 * SLOW):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.logs()}")
            try:
                with urllib.request.urlopen(self.http + "/health", timeout=1) as r:
                    if r.status == 200 and listens_on(self.proc.pid, self.port):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("server did not become ready:\n" + self.logs())

    def logs(self):
        with open(self.log_path) as f:
            return f.read()

    def log_records(self):
        out = []
        for line in self.logs().splitlines():
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
        return out

    def get(self, path, port=None):
        url = f"http://127.0.0.1:{port or self.port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def stop(self, sig=signal.SIGTERM, timeout=30.0 * SLOW):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("server did not stop:\n" + self.logs())
        return self.proc.returncode

    def close(self):
        rc = self.stop()
        self.log.close()
        return rc


@pytest.fixture
def server_factory():
    started = []

    def make(*args, env=None, workdir=None):
        s = Server(args, env=env, workdir=workdir)
        started.append(s)
        return s

    yield make
    for s in started:
        rc = s.close()
        assert rc == 0, f"server exit code {rc}:\n{s.logs()}"
        assert "AddressSanitizer" not in s.logs() and "runtime error" not in s.logs(), s.logs()
        os.unlink(s.log_path)


@pytest.fixture
def server(server_factory):
    return server_factory()


def run(coro):
    return asyncio.run(coro)


async def recv_json(ws, timeout=10.0):
    msg = await asyncio.wait_for(ws.recv(), timeout * SLOW)
    assert isinstance(msg, str), f"expected a text message, got {len(msg)} binary bytes"
    return json.loads(msg)


async def recv_until(ws, mtype, timeout=10.0):
    """Receives messages until one of type mtype; returns (it, the ones before)."""
    seen = []
    deadline = time.time() + timeout * SLOW
    while True:
        left = deadline - time.time()
        assert left > 0, f"no {mtype} message; got {seen}"
        msg = await asyncio.wait_for(ws.recv(), left)
        if isinstance(msg, bytes):
            seen.append(msg)
            continue
        m = json.loads(msg)
        if m.get("type") == mtype:
            return m, seen
        seen.append(m)


def init_msg(session_id="s1", metadata=None, config=None, url=""):
    m = {"type": "init_session", "session_id": session_id,
         "nail_reference": {"url": url, "post_id": 123,
                            "metadata": metadata if metadata is not None else
                            {"shape": "almond", "pattern": "solid", "size": "medium",
                             "colors": ["#c8102e"], "finish": "glossy"}},
         "timestamp": int(time.time() * 1000)}
    if config is not None:
        m["config"] = config
    return json.dumps(m)


async def open_session(ws_url, session_id="s1", **kw):
    ws = await websockets.connect(ws_url, max_size=None)
    await ws.send(init_msg(session_id, **kw))
    ready = await recv_json(ws, 30)
    assert ready["type"] == "session_ready", ready
    return ws, ready


def frame_header(session_id, seq, size=None, fmt="webp", **extra):
    h = {"type": "process_frame", "session_id": session_id, "sequence": seq,
         "timestamp": int(time.time() * 1000), "frame_metadata": {"format": fmt}}
    if size is not None:
        h["frame_metadata"]["size_bytes"] = size
    h.update(extra)
    return h


async def send_frame(ws, session_id, seq, data, encoding, fmt="webp"):
    """Sends one frame in encoding 1 (split), 2 (1024-byte header) or 3 (base64)."""
    if encoding == 1:
        await ws.send(json.dumps(frame_header(session_id, seq, len(data), fmt)))
        await ws.send(data)
    elif encoding == 2:
        hdr = json.dumps(frame_header(session_id, seq, len(data), fmt)).encode()
        assert len(hdr) <= HEADER_SIZE
        await ws.send(hdr.ljust(HEADER_SIZE, b" ") + data)
    else:
        h = frame_header(session_id, seq, None, fmt)
        h["frame_data"] = base64.b64encode(data).decode()
        await ws.send(json.dumps(h))


async def recv_reply(ws, encoding, timeout=20.0):
    """One reply in the request's encoding: (metadata dict, image bytes or None)."""
    msg = await asyncio.wait_for(ws.recv(), timeout * SLOW)
    if isinstance(msg, bytes):
        assert encoding == 2, "binary reply to a non-header request"
        meta = json.loads(msg[:HEADER_SIZE].rstrip(b" \0"))
        return meta, msg[HEADER_SIZE:]
    meta = json.loads(msg)
    if meta["type"] != "processed_frame":
        return meta, None
    if encoding == 1:
        img = await asyncio.wait_for(ws.recv(), timeout * SLOW)
        assert isinstance(img, bytes)
        return meta, img
    if encoding == 3:
        return meta, base64.b64decode(meta["frame_data"])
    raise AssertionError("text processed_frame reply to a header request")


def png_bytes(width, height, rgb=(128, 128, 128)):
    """A uniform RGB PNG, written with zlib only."""
    import struct
    import zlib

    def chunk(tag, data):
        c = struct.pack(">I", len(data)) + tag + data
        return c + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    row = b"\0" + bytes(rgb) * width
    raw = zlib.compress(row * height, 6)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")
