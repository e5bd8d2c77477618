#!/usr/bin/python3
"""Local HTTP server for the reference fetcher's tests (stdlib only).

Usage: refserver.py --root DIR [--host 127.0.0.1] [--port 0]

Prints "PORT <n>" on stdout once it listens, then serves until its stdin
closes (the test process exited or closed the pipe) or it gets SIGTERM.

Routes (GET):
  /file/<rel>[?delay_ms=N&ctype=T&tag=X]  a file under --root (after delay_ms;
                                          ctype overrides the Content-Type;
                                          tag only makes the URL unique)
  /redirect/<n>/<rest>                    exactly n (>= 1) redirects (302), then /<rest>
  /loop                                   302 to /loop, forever
  /redirect_to?url=U[&code=C]             C (302) with Location: U
  /status/<code>                          that status with a short text body
  /endless                                200 image/jpeg, JPEG magic then zeros until the
                                          client goes away (no Content-Length)
  /huge                                   200 image/jpeg with Content-Length 10^12, a few
                                          bytes, then silence for 30 s
  /trickle                                200 image/jpeg, Content-Length 100000, one byte
                                          every 100 ms
  /html                                   200 text/html page
  /liar                                   200 image/jpeg whose body is an HTML page
  /gif                                    200 image/gif (a GIF, which is not accepted)
  /empty                                  200 with an empty body
  /hits?path=P                            how many requests had exactly the path P
                                          (path and query as sent); not counted itself
"""
import argparse
import mimetypes
import os
import posixpath
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
HTML = b"<!DOCTYPE html><html><head><title>Not an image</title></head><body>hello</body></html>"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"

HITS = {}
HITS_LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    server_version = "lq-refserver/1"

    def log_message(self, fmt, *args):  # quiet: the tests print what matters
        if os.environ.get("LQ_REFSERVER_VERBOSE"):
            sys.stderr.write("refserver: " + (fmt % args) + "\n")

    def send_body(self, code, ctype, body, length=None):
        self.send_response(code)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location, code=302):
        self.send_response(code)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path == "/hits":
            want = query.get("path", [""])[0]
            with HITS_LOCK:
                n = HITS.get(want, 0)
            self.send_body(200, "text/plain", str(n).encode())
            return
        with HITS_LOCK:
            HITS[self.path] = HITS.get(self.path, 0) + 1
        try:
            self.route(url, query)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def route(self, url, query):
        path = url.path
        if path.startswith("/file/"):
            return self.serve_file(path[len("/file/"):], query)
        if path.startswith("/redirect/"):
            parts = path.split("/", 3)  # '', 'redirect', n, rest
            n = int(parts[2])
            rest = parts[3] if len(parts) > 3 else ""
            suffix = ("?" + url.query) if url.query else ""
            if n > 1:
                return self.redirect("/redirect/%d/%s%s" % (n - 1, rest, suffix))
            return self.redirect("/" + rest + suffix)
        if path == "/loop":
            return self.redirect("/loop")
        if path == "/redirect_to":
            return self.redirect(query["url"][0], int(query.get("code", ["302"])[0]))
        if path.startswith("/status/"):
            code = int(path[len("/status/"):])
            return self.send_body(code, "text/plain", b"status page\n")
        if path == "/endless":
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(JPEG_HEAD)
            chunk = bytes(65536)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                self.wfile.write(chunk)
            return
        if path == "/huge":
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(10**12))
            self.end_headers()
            self.wfile.write(JPEG_HEAD)
            self.wfile.flush()
            time.sleep(30)
            return
        if path == "/trickle":
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(JPEG_HEAD)
            for _ in range(100000):
                self.wfile.flush()
                time.sleep(0.1)
                self.wfile.write(b"\0")
            return
        if path == "/html":
            return self.send_body(200, "text/html; charset=utf-8", HTML)
        if path == "/liar":
            return self.send_body(200, "image/jpeg", HTML)
        if path == "/gif":
            return self.send_body(200, "image/gif", GIF)
        if path == "/empty":
            return self.send_body(200, "image/png", b"")
        return self.send_body(404, "text/plain", b"no such route\n")

    def serve_file(self, rel, query):
        rel = urllib.parse.unquote(rel)
        norm = posixpath.normpath("/" + rel).lstrip("/")
        if norm.startswith("..") or norm != rel:
            return self.send_body(403, "text/plain", b"bad path\n")
        full = os.path.join(self.server.root, norm)
        if not os.path.isfile(full):
            return self.send_body(404, "text/plain", b"no such file\n")
        delay = int(query.get("delay_ms", ["0"])[0])
        if delay > 0:
            time.sleep(delay / 1000.0)
        with open(full, "rb") as fh:
            body = fh.read()
        ctype = query.get("ctype", [None])[0] or mimetypes.guess_type(full)[0] or "application/octet-stream"
        return self.send_body(200, ctype, body)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # clients that hang up on purpose are the point of several routes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    srv = Server((args.host, args.port), Handler)
    srv.root = os.path.abspath(args.root)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    sys.stdout.write("PORT %d\n" % srv.server_address[1])
    sys.stdout.flush()
    # Live exactly as long as whoever holds our stdin.
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except KeyboardInterrupt:
        pass
    os._exit(0)


if __name__ == "__main__":
    main()
