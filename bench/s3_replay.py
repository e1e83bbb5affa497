"""An S3 stand-in for the benches whose CPU is not the store's: it answers from a recording.

Every S3 store that runs on this machine (moto, s3rver, SeaweedFS) spends seconds of its own CPU
listing 30,000 keys, on the same two cores as the tool, so a bench against it times the store
(docs/benchmarks.md). Real S3's CPU is elsewhere; what a request costs the tool is its latency.
So: record the answers of a real store once, then time the tool against a server that replays
them, with a chosen delay per request, and costs next to nothing itself.

    Recorder(upstream).start()   a loopback proxy in front of a store: forwards each request and
                                 keeps its answer (status, headers, body) under `request_key`
    Replay(recording, latency)   a threaded loopback server answering the same requests from the
                                 recording, `latency` seconds after each arrives; a request it has
                                 no answer for is answered 501 (NotRecorded) and listed in
                                 `unrecorded`, never a made-up 404 the tool could take for an answer

Both listen on 127.0.0.1, on a port the kernel picks. `GET /__replay__/stats` (a name no bucket
can have) answers their counts and their own CPU seconds as JSON, not counted itself. A replay
can run in a process of its own, so that its CPU is its own and its threads never hold the
tool's bench process's GIL:

    python bench/s3_replay.py serve RECORDING.json --latency 0.03

prints its endpoint, then serves until its standard input closes. The bench using both is
bench/replay_plan_bench.py.
"""
from __future__ import annotations

import argparse
import base64
import http.client
import json
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

STATS_PATH = "/__replay__/stats"
# Query parameters of a presigned request (SigV4's, then SigV2's, which boto3 still presigns with),
# which change with every signature; a request signed in its Authorization header (what the tool
# sends) has none of them.
SIGNATURE_PARAMS = {"x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-expires", "x-amz-signature",
                    "x-amz-signedheaders", "x-amz-security-token", "awsaccesskeyid", "signature", "expires"}
# Hop-by-hop headers, and those the server writes itself (the length of the body it sends).
_NOT_REPLAYED = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
                 "content-length"}


def request_key(method: str, target: str) -> str:
    """`METHOD /path?query` with the query's parameters sorted (as written, still encoded) and the
    signature's left out: what identifies a request whoever signed it, whenever."""
    parts = urlsplit(target)
    params = sorted(pair for pair in parts.query.split("&")
                    if pair and unquote(pair.split("=", 1)[0]).lower() not in SIGNATURE_PARAMS)
    return f"{method} {parts.path}" + (f"?{'&'.join(params)}" if params else "")


class _Server:
    """What the recorder and the replay share: the threaded loopback server, the counts, stats."""

    handler: type

    def __init__(self):
        self.lock = threading.Lock()
        self.requests: Counter = Counter()  # request_key -> times asked
        self.server: ThreadingHTTPServer | None = None

    @property
    def endpoint(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self):
        owner = self

        class Handler(self.handler):  # type: ignore[name-defined]
            server_owner = owner

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, name="s3-replay", daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def stats(self) -> dict:
        with self.lock:
            return {"requests": sum(self.requests.values()), "keys": len(self.requests),
                    "cpu": time.process_time()}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the tool keeps a connection per thread
    server_owner: _Server

    def log_message(self, *args):  # quiet
        pass

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, headers, body: bytes) -> None:
        self.send_response_only(status)  # no Date or Server of our own: the recorded ones are sent
        for name, value in headers:
            if name.lower() not in _NOT_REPLAYED:
                self.send_header(name, value)
        head = self.command == "HEAD"  # a HEAD's Content-Length is the object's, with no body
        length = next((value for name, value in headers if name.lower() == "content-length"), None)
        self.send_header("Content-Length", str(length if head and length is not None else len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _handle(self) -> None:
        if self.path == STATS_PATH:
            body = json.dumps(self.server_owner.stats()).encode()
            return self._send(200, [("Content-Type", "application/json")], body)
        return self.answer(request_key(self.command, self.path), self._body())

    def answer(self, key: str, body: bytes) -> None:
        raise NotImplementedError

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle


class _RecordingHandler(_Handler):
    server_owner: Recorder

    def answer(self, key: str, body: bytes) -> None:
        host, port = self.server_owner.upstream
        conn = http.client.HTTPConnection(host, port, timeout=600)
        headers = {name: value for name, value in self.headers.items() if name.lower() not in _NOT_REPLAYED}
        if body:
            headers["Content-Length"] = str(len(body))
        try:
            conn.request(self.command, self.path, body=body or None, headers=headers)
            response = conn.getresponse()
            data = response.read()
            kept = (response.status, response.getheaders(), data)
        finally:
            conn.close()
        self.server_owner.keep(key, *kept)
        self._send(*kept)


class Recorder(_Server):
    """A loopback proxy in front of `upstream` (http://host:port) keeping every answer by
    request_key: the last one for a request asked more than once (`changed` counts those whose
    answer was not the same)."""

    handler = _RecordingHandler

    def __init__(self, upstream: str):
        super().__init__()
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname, parts.port)
        self.answers: dict = {}  # request_key -> (status, [(header, value)], body)
        self.changed = 0

    def keep(self, key: str, status: int, headers, body: bytes) -> None:
        with self.lock:
            self.requests[key] += 1
            if key in self.answers and self.answers[key] != (status, headers, body):
                self.changed += 1
            self.answers[key] = (status, headers, body)

    def save(self, path: Path) -> None:
        with self.lock:
            answers = [{"key": key, "status": status, "headers": headers, "body": base64.b64encode(body).decode()}
                       for key, (status, headers, body) in sorted(self.answers.items())]
        path.write_text(json.dumps({"answers": answers}))


def load(path: Path) -> dict:
    """request_key -> (status, [(header, value)], body) of a recording Recorder.save wrote."""
    return {item["key"]: (item["status"], [tuple(pair) for pair in item["headers"]], base64.b64decode(item["body"]))
            for item in json.loads(path.read_text())["answers"]}


class _ReplayHandler(_Handler):
    server_owner: Replay

    def answer(self, key: str, body: bytes) -> None:
        owner = self.server_owner
        if owner.latency:
            time.sleep(owner.latency)  # the store's time to the first byte; no CPU spent
        found = owner.answers.get(key)
        with owner.lock:
            owner.requests[key] += 1
            if found is None:
                owner.unrecorded.append(key)
        if found is None:
            print(f"s3_replay: no recording for {key}", file=sys.stderr, flush=True)
            message = f"s3_replay has no recording for {key}".replace("&", "&amp;").replace("<", "&lt;")
            error = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NotRecorded</Code>'
                     f"<Message>{message}</Message></Error>").encode()
            return self._send(501, [("Content-Type", "application/xml")], error)
        self._send(*found)


class Replay(_Server):
    """A loopback server answering from `answers` (load's), `latency` seconds after each request."""

    handler = _ReplayHandler

    def __init__(self, answers: dict, latency: float = 0.0):
        super().__init__()
        self.answers, self.latency = answers, latency
        self.unrecorded: list = []  # request_key of every request without an answer, in order

    def stats(self) -> dict:
        found = super().stats()
        with self.lock:
            found["unrecorded"] = list(self.unrecorded)
        return found


def stats_of(endpoint: str) -> dict:
    """A recorder's or replay's stats (STATS_PATH), from outside its process."""
    parts = urlsplit(endpoint)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request("GET", STATS_PATH)
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="replay a recording until standard input closes")
    serve.add_argument("recording", type=Path)
    serve.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    args = parser.parse_args()
    replay = Replay(load(args.recording), args.latency).start()
    print(replay.endpoint, flush=True)
    sys.stdin.read()
    replay.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
