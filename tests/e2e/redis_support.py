"""A redis-server of the test's own for the Redis-backed tests (AUTH_MODE=redis, the HTTP API's
tokens, the batch worker): Debian's redis-server on a loopback port, no persistence.

Ready when it answers PING from its own listening socket (listens_on): tests run in parallel,
and another test's Redis on the same port would answer PING too. A first start whose port was
taken meanwhile gets a new one; a restart on a given port (port=...) keeps it.
"""
import os
import shutil
import subprocess
import tempfile
import time

import redis

from conftest import free_port, listens_on

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisServer:
    def __init__(self, port=None, workdir=None):
        assert os.path.exists(REDIS_SERVER), "redis-server is needed (scripts/deps.sh --test)"
        self.own_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix="lacquer-redis-")
        self.log_path = os.path.join(self.dir, "redis.log")
        for attempt in range(3):
            self.port = port or free_port()
            if self._start():
                return
            taken = "Address already in use" in self.logs()
            assert port is None and taken and attempt < 2, "redis-server did not start:\n" + \
                self.logs()[-2000:]

    def _start(self):
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir, "--protected-mode", "yes"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.client = redis.Redis(host="127.0.0.1", port=self.port)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                self.log.close()
                return False
            try:
                if self.client.ping() and listens_on(self.proc.pid, self.port):
                    return True
            except redis.exceptions.ConnectionError:
                pass
            time.sleep(0.05)
        self.stop()
        return False

    def logs(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.log.close()

    def remove(self):
        """stop, and delete the folder if it made it."""
        self.stop()
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
