"""Request logs seen from the server side: a loopback HTTP file server, and moto's recorder.

Assertions such as "the second compile did not download again" or "the copy was
server-side" are made on what the server received, not on what the client claims.
"""
from __future__ import annotations

import contextlib
import http.server
import json
import threading
import time
import urllib.request
from pathlib import Path


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean; the log below is what matters
        pass

    def _record(self):
        server = self.server
        with server.lock:
            server.log.append((self.command, self.path))
            server.active += 1
            server.peak = max(server.peak, server.active)

    def _done(self):
        with self.server.lock:
            self.server.active -= 1

    def do_HEAD(self):
        self._record()
        try:
            super().do_HEAD()
        finally:
            self._done()

    def do_GET(self):
        self._record()
        try:
            with self.server.lock:
                fault = self.server.faults.get(self.path, 0) > 0
                if fault:
                    self.server.faults[self.path] -= 1
            if self.server.delay:
                time.sleep(self.server.delay)
            if fault:
                # Promise the whole file, send half, drop the connection: a dropped download.
                data = Path(self.translate_path(self.path)).read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            super().do_GET()
        finally:
            self._done()


class FileServer:
    """Serves `root` on 127.0.0.1; `log` lists (method, path) of every request received."""

    def __init__(self, root: Path):
        handler = lambda *a, **kw: _Handler(*a, directory=str(root), **kw)  # noqa: E731
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.log, self.httpd.faults = [], {}
        self.httpd.lock, self.httpd.active, self.httpd.peak, self.httpd.delay = threading.Lock(), 0, 0, 0.0
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.root = root

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, rel: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{rel}"

    @property
    def log(self) -> list:
        return list(self.httpd.log)

    def gets(self, rel: str) -> int:
        return sum(1 for method, path in self.httpd.log if method == "GET" and path == f"/{rel}")

    def fail_next(self, rel: str, times: int = 1):
        """The next `times` GETs of `rel` are cut off half way."""
        self.httpd.faults[f"/{rel}"] = times

    @property
    def peak_concurrency(self) -> int:
        return self.httpd.peak


@contextlib.contextmanager
def moto_requests(emulator):
    """Record what the moto server receives inside the block; yields a function returning
    [(method, path, headers)] recorded so far (moto's own /moto-api/recorder)."""
    def call(action, method="POST"):
        request = urllib.request.Request(f"{emulator.endpoint}/moto-api/recorder/{action}", method=method,
                                         data=b"" if method == "POST" else None)
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.read()

    def recorded():
        out = []
        for line in call("download-recording", "GET").decode().splitlines():
            entry = json.loads(line)
            path = entry["url"].split("://", 1)[-1].split("/", 1)[-1]
            out.append((entry["method"], "/" + path, {k.lower(): v for k, v in entry["headers"].items()}))
        return out

    call("reset-recording")
    call("start-recording")
    try:
        yield recorded
    finally:
        call("stop-recording")
