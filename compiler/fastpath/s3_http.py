"""One signed S3 request over http.client: what the prefetch helper's plain reader (s3_raw.py)
and plain writer (s3_store.py) share, and nothing of what they decide each their own way
(which answers to retry, what an answer means, which exception tells it).

- Signed with SigV4 (sigv4.py): the caller's headers and the payload's sha256 (of b"" without
  a body) signed with the rest; a User-Agent of its own, unsigned, tells these requests from
  botocore's in a store's logs.
- One kept-alive connection per calling thread: the reader's state and listing in flight at
  once, the applier's pool, the lock's refresh.
- Every wait (connecting, sending, each read of the answer) within the caller's deadline, past
  which it raises StorageTimeout.
- A redirect is never followed (http.client does not): it is an answer like any other, which
  both callers refuse, so nothing signed is sent anywhere else.
- https verified as botocore verifies it: the route's CA bundle only, host names checked.

A connection that fails (refused, reset, an answer that is not HTTP) is closed, so that the
next request opens a fresh one, and the error is raised as it came (OSError or
http.client.HTTPException): the reader leaves it to the SDK, the writer retries it.
"""
from __future__ import annotations

import hashlib
import http.client
import re
import threading
import time
import weakref
from typing import NamedTuple

from compiler.fastpath import sigv4
from compiler.fastpath.s3_route import Route
from compiler.storage.stores import StorageTimeout

USER_AGENT = "triton-gitops (plain S3)"  # not signed
_CODE = re.compile(rb"<Code>([^<]{1,100})</Code>")


class Answer(NamedTuple):
    status: int
    headers: dict  # {name in lower case: value}
    body: bytes  # b"" for a HEAD


class SignedRequests:
    """Requests to one route, signed with its credentials, each on a connection of its calling
    thread (kept alive from request to request until `close`)."""

    def __init__(self, where: Route, seconds: float):
        self.where, self.seconds = where, seconds  # seconds: a connection's first timeout, StorageTimeout's figure
        self._context = _tls(where.cafile) if where.scheme == "https" else None
        self._local = threading.local()
        # For `close`; a thread's connection still goes with the thread (the applier's pools come
        # and go, and the writer is never closed: its process ends).
        self._open: weakref.WeakSet = weakref.WeakSet()

    def request(self, method: str, path: str, deadline: float, what: str, params=(), body: bytes = b"",
                headers=None) -> Answer:
        """The store's answer to one request, read whole before `deadline` (time.monotonic());
        `path`: encoded (sigv4.uri_encode, slashes kept); `what`: StorageTimeout's words."""
        query = sigv4.query_string(params)
        signed = self.signed(method, path, query, body, headers)
        connection = self._connection()
        try:
            connection.timeout = _left(deadline, self.seconds, what)
            if connection.sock is not None:
                connection.sock.settimeout(connection.timeout)
            connection.request(method, f"{path}?{query}" if query else path, body=body or None, headers=signed)
            response = connection.getresponse()
            chunks = []
            while method != "HEAD":
                if connection.sock is not None:
                    connection.sock.settimeout(_left(deadline, self.seconds, what))
                chunk = response.read(1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
            if method == "HEAD":
                response.read()
            answer = {name.lower(): value for name, value in response.getheaders()}
            if answer.get("connection", "").lower() == "close":
                connection.close()
            return Answer(response.status, answer, b"".join(chunks))
        except TimeoutError as exc:  # socket.timeout: the deadline, which every wait was given
            connection.close()
            raise StorageTimeout(self.seconds, what) from exc
        except (OSError, http.client.HTTPException):
            connection.close()  # a fresh one next time: the old one may be mid-answer
            raise

    def signed(self, method: str, path: str, query: str = "", body: bytes = b"", headers=None) -> dict:
        """The headers to send: `headers` and the SigV4 ones, signed; Content-Length for a body or
        a PUT; the User-Agent."""
        amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        payload = hashlib.sha256(body).hexdigest() if body else sigv4.EMPTY_SHA256
        where = self.where
        signed = sigv4.sign(method, where.host_header, path, query, where.region, where.credentials, amz_date,
                            headers, payload_hash=payload)
        if body or method == "PUT":
            signed["content-length"] = str(len(body))
        signed["user-agent"] = USER_AGENT
        return signed

    def new_connection(self):
        """A connection not kept for the thread (a streamed download reads on its own); its
        timeout is the whole storage timeout."""
        where = self.where
        if self._context is not None:
            return http.client.HTTPSConnection(where.host, where.port, timeout=self.seconds, context=self._context)
        return http.client.HTTPConnection(where.host, where.port, timeout=self.seconds)

    def close(self) -> None:
        """Close every thread's connection."""
        for connection in list(self._open):
            connection.close()

    def _connection(self):
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self.new_connection()
            self._open.add(connection)
        return connection


def error_code(body: bytes) -> str:
    """The <Code> of the store's error answer, "" if none."""
    found = _CODE.search(body or b"")
    return found.group(1).decode("ascii", "replace") if found else ""


def _left(deadline: float, seconds: float, what: str) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise StorageTimeout(seconds, what)
    return left


def _tls(cafile: str):
    """What botocore verifies an https endpoint with: its CA bundle only, host names checked."""
    import ssl  # noqa: PLC0415 - fastpath: https endpoints only

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED and check_hostname
    context.load_verify_locations(cafile)
    return context
