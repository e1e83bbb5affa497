"""Local HTTP servers on 127.0.0.1 for the storage security tests.

`Recorder` plays the attacker's host: it logs every request (method, path, headers, body) and
answers each with `status`. `Failing` is a store that answers 503 to everything, forever.
"""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.owner.log.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                      "body": body})
        status, payload = self.server.owner.status, self.server.owner.payload
        self.send_response(status)
        for name, value in self.server.owner.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _answer

    def log_message(self, *args):
        pass


class Recorder:
    """An HTTP server on 127.0.0.1 that writes down everything it receives."""

    def __init__(self, status: int = 200, payload: bytes = b"not a model", headers: dict | None = None):
        self.status, self.payload, self.log = status, payload, []
        self.headers = headers or {}  # sent with every answer (a redirect's Location)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.owner = self
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def received(self) -> str:
        """Everything received, as one text to search for secrets."""
        return "\n".join(f"{r['method']} {r['path']} {r['headers']} {r['body']!r}" for r in self.log)


def failing() -> Recorder:
    """A store that answers every request with 503 Service Unavailable, forever."""
    return Recorder(status=503, payload=b"<Error><Code>ServiceUnavailable</Code><Message>down</Message></Error>")

