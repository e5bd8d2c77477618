"""Helpers for the tests of the Python client (clients/python) and the Django example
(examples/django): a `lacquer serve` that can be killed and restarted on the same port, and a
Daphne process running the example project. Uses conftest's paths and SLOW factor."""
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from conftest import BIN, MODELS, PORT_TAKEN, ROOT, SLOW, free_port, listens_on

CLIENT_DIR = os.path.join(ROOT, "clients", "python")
DJANGO_DIR = os.path.join(ROOT, "examples", "django")
PYTHON = "/usr/bin/python3"
if CLIENT_DIR not in sys.path:
    sys.path.insert(0, CLIENT_DIR)


def _wait_http(url, proc, what, log_path, timeout, port=None):
    """Until url answers 200 (and, given port, proc is the one listening on it)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited with {proc.returncode}:\n{_read(log_path)}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200 and (port is None or listens_on(proc.pid, port)):
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"{what} did not become ready:\n{_read(log_path)}")


def _read(path):
    with open(path, errors="replace") as f:
        return f.read()


class LacquerServer:
    """`lacquer serve` on a fixed loopback port that survives kill/start cycles."""

    def __init__(self, *args, env=None):
        self.args = list(args)
        self.extra_env = dict(env or {})
        self.port = free_port()
        self.url = f"ws://127.0.0.1:{self.port}/ws/tryon"
        self.http = f"http://127.0.0.1:{self.port}"
        self.log_path = tempfile.mktemp(prefix="lacquer-pyclient-", suffix=".log")
        self.proc = None
        self.exit_codes = []

    def start(self):
        assert self.proc is None or self.proc.poll() is not None
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("WS_", "MODEL_", "LOG_", "METRICS_", "ENABLE_"))}
        # These tests drive the client faster than the service's per-session
        # frame-rate limit (RATE_LIMIT_FPS, 30 by default) on purpose; the limit
        # itself is tested in test_access_control.py. A test may set it back.
        env.update({"MODEL_PATH": MODELS, "WS_HOST": "127.0.0.1", "WS_PORT": str(self.port),
                    "LOG_LEVEL": "info", "RATE_LIMIT_FPS": "0"})
        env.update(self.extra_env)
        first = not self.exit_codes and self.proc is None
        for attempt in range(3):
            log = open(self.log_path, "a")
            try:
                self.proc = subprocess.Popen([BIN, "serve", *self.args], env=env, stdout=log,
                                             stderr=subprocess.STDOUT, cwd=tempfile.gettempdir())
            finally:
                log.close()
            try:
                _wait_http(self.http + "/health", self.proc, "lacquer serve", self.log_path,
                           60.0 * SLOW, port=self.port)
                return self
            except AssertionError:
                # on its first start, another test's server may have taken free_port's port
                # first: take another (later starts keep theirs: clients reconnect to it)
                if (not first or attempt == 2 or "WS_PORT" in self.extra_env
                        or PORT_TAKEN not in _read(self.log_path)):
                    raise
                self.port = free_port()
                self.url = f"ws://127.0.0.1:{self.port}/ws/tryon"
                self.http = f"http://127.0.0.1:{self.port}"
                env["WS_PORT"] = str(self.port)

    def stop(self, sig=signal.SIGTERM, timeout=30.0 * SLOW):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("server did not stop:\n" + self.logs())
        if self.proc is not None:
            self.exit_codes.append(self.proc.returncode)
        self.proc = None

    def health(self):
        import json
        with urllib.request.urlopen(self.http + "/health", timeout=5) as r:
            return json.loads(r.read())

    def logs(self):
        return _read(self.log_path)

    def check_clean(self):
        logs = self.logs()
        assert "AddressSanitizer" not in logs and "runtime error" not in logs, logs


class DaphneExample:
    """Daphne (Debian's package) serving examples/django on a free loopback port."""

    def __init__(self, lacquer_url, extra_env=None):
        self.port = free_port()
        self.http = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws/tryon/"
        self.origin = f"http://127.0.0.1:{self.port}"
        self.log_path = tempfile.mktemp(prefix="daphne-example-", suffix=".log")
        env = dict(os.environ)
        env.update({"PYTHONPATH": os.pathsep.join([CLIENT_DIR, DJANGO_DIR]),
                    "DJANGO_SETTINGS_MODULE": "tryon_site.settings",
                    "LACQUER_URL": lacquer_url,
                    "LACQUER_FRAME_TIMEOUT": str(3.0 * SLOW),
                    "LACQUER_READY_TIMEOUT": str(10.0 * SLOW)})
        env.update(extra_env or {})
        log = open(self.log_path, "w")
        try:
            self.proc = subprocess.Popen(
                [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port),
                 "tryon_site.asgi:application"],
                env=env, cwd=DJANGO_DIR, stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()
        _wait_http(self.http + "/healthz", self.proc, "daphne", self.log_path, 60.0)

    def logs(self):
        return _read(self.log_path)

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        logs = self.logs()
        os.unlink(self.log_path)
        return logs
