"""A fault-injecting HTTP proxy on loopback, put between the tool and a storage emulator.

    proxy = FaultProxy(s3_emulator.endpoint, rate=0.1, seed=7).start()
    ... point the target's endpoint_url at proxy.endpoint ...
    proxy.stop()

Each request is forwarded to the emulator as is (method, path, headers, body; a fresh
upstream connection per request), or, on a seeded fraction `rate` of requests, one fault:

    500         an S3 InternalError answer, nothing forwarded
    503         an S3 SlowDown answer, nothing forwarded
    drop        the connection closed before anything is forwarded
    drop-after  forwarded (the store did it), then the connection closed without an answer
    slow        forwarded after `delay` seconds

`fail_after=N` makes every request after the N-th fail (500/503/drop), for "the store went
away in the middle"; `kill_at=(N, pid)` sends SIGKILL to `pid` when the N-th request
arrives, before it is forwarded, for "the sync died at the N-th request";
`kill_after_match=(predicate, pid)` forwards the first request for which
predicate(method, path) holds, then kills `pid` before answering it;
`answer_match=(predicate, kind, location)` answers every request it matches with a redirect to
`location`, a 403, a 500 or bytes that are not HTTP, without forwarding it. `agents` counts
requests by (method, User-Agent's first word); `seen` keeps every request's method, path and
headers (lower-case names), bodies left out.
"""
from __future__ import annotations

import http.client
import os
import random
import signal
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

FAILING = ("500", "503", "drop", "drop-after")
ALL = FAILING + ("slow",)
_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}
_S3_ERROR = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message>"
             "<RequestId>fault-proxy</RequestId></Error>")


class FaultProxy:
    def __init__(self, upstream: str, rate: float = 0.0, seed: int = 0, kinds=ALL, delay: float = 0.3):
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname, parts.port)
        self.rate, self.kinds, self.delay = rate, tuple(kinds), delay
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.requests = 0
        self.faults: Counter = Counter()
        self.fail_after = None  # int: every request after that many fails
        self.kill_at = None  # (n, pid)
        self.kill_after_match = None  # (predicate(method, path), pid)
        # (predicate(method, path), "redirect" | "403" | "500" | "garbage", where a redirect points):
        # every matching request is answered so, never forwarded
        self.answer_match = None
        self.killed = False  # after a kill, requests still in flight are dropped: nothing more arrives
        self.log: list = []  # (n, method, path, fault or "")
        self.agents: Counter = Counter()  # (method, User-Agent up to its first "/" or space): who sent what
        self.seen: list = []  # (method, path, {header: value}) of every request, in arrival order
        self.server = None

    # -- control -------------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FaultProxy:
        proxy = self

        class Handler(_Handler):
            owner = proxy

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def reset(self, rate: float | None = None, seed: int | None = None, kinds=None) -> None:
        with self.lock:
            if rate is not None:
                self.rate = rate
            if seed is not None:
                self.rng = random.Random(seed)
            if kinds is not None:
                self.kinds = tuple(kinds)
            self.requests = 0
            self.faults.clear()
            self.fail_after = None
            self.kill_at = None
            self.kill_after_match = None
            self.answer_match = None
            self.killed = False
            self.log = []
            self.agents = Counter()
            self.seen = []

    # -- per request ---------------------------------------------------------------------------
    def decide(self, method: str, path: str) -> str:
        with self.lock:
            self.requests += 1
            n = self.requests
            fault = ""
            if self.killed:
                fault = "killed"
            elif self.kill_at and n == self.kill_at[0]:
                try:
                    os.kill(self.kill_at[1], signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.killed = True
                fault = "killed"
            elif self.kill_after_match and self.kill_after_match[0](method, path):
                fault = "kill-after"
                self.killed = True  # this one is forwarded; nothing after it
            elif self.answer_match and self.answer_match[0](method, path):
                fault = f"answer-{self.answer_match[1]}"
            elif self.fail_after is not None and n > self.fail_after:
                fault = self.rng.choice(FAILING)
            elif self.rate and self.rng.random() < self.rate:
                fault = self.rng.choice(self.kinds)
            if fault:
                self.faults[fault] += 1
            self.log.append((n, method, path, fault))
            return fault


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner: FaultProxy = None

    def log_message(self, *args):  # quiet
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _error(self, status: int, code: str, message: str) -> None:
        body = _S3_ERROR.format(code=code, message=message).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _answer(self, kind: str) -> None:
        """A hostile store's answer (answer_match)."""
        if kind == "redirect":
            self.send_response(307)
            self.send_header("Location", self.owner.answer_match[2] if self.owner.answer_match else "/")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif kind == "403":
            self._error(403, "AccessDenied", "Access Denied")
        elif kind == "500":
            self._error(500, "InternalError", "We encountered an internal error. Please try again.")
        else:  # garbage: not HTTP at all
            self.close_connection = True
            self.wfile.write(b"\x00\xffSSH-2.0-not-http\r\n")

    def _forward(self, body: bytes):
        host, port = self.owner.upstream
        conn = http.client.HTTPConnection(host, port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            headers["Content-Length"] = str(len(body))
        try:
            conn.request(self.command, self.path, body=body or None, headers=headers)
            response = conn.getresponse()
            data = response.read()
            return response.status, response.reason, response.getheaders(), data
        finally:
            conn.close()

    def _handle(self) -> None:
        body = self._body()
        agent = (self.headers.get("User-Agent") or "").replace("/", " ").split(" ")[0]
        with self.owner.lock:
            self.owner.agents[(self.command, agent)] += 1
            self.owner.seen.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
        fault = self.owner.decide(self.command, self.path)
        if fault in ("drop", "killed"):
            return self._drop()
        if fault == "500":
            return self._error(500, "InternalError", "We encountered an internal error. Please try again.")
        if fault == "503":
            return self._error(503, "SlowDown", "Please reduce your request rate.")
        if fault.startswith("answer-"):
            return self._answer(fault[len("answer-"):])
        if fault == "slow":
            time.sleep(self.owner.delay)
        try:
            status, reason, headers, data = self._forward(body)
        except OSError:
            return self._drop()
        if fault == "kill-after":
            with self.owner.lock:
                match, self.owner.kill_after_match = self.owner.kill_after_match, None
            if match:
                try:
                    os.kill(match[1], signal.SIGKILL)
                except ProcessLookupError:
                    pass
            return self._drop()
        if fault == "drop-after":
            return self._drop()
        self.send_response(status, reason)
        head = self.command == "HEAD"  # its Content-Length is the object's, with no body
        for key, value in headers:
            if key.lower() not in _HOP and (head or key.lower() != "content-length"):
                self.send_header(key, value)
        if not head:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _handle
