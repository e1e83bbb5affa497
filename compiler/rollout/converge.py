"""Waiting for POLL-mode servers to take a sync: `status --wait`.

A server in POLL mode loads what appears in its repository by itself, every
`--repository-poll-secs`, and says nothing when it is done. This watches each server's
repository index until every model of the manifest has exactly the versions its policy
selects READY, on every server. It ends early neither on a failure (the poller may be
between two passes, or the files may still be arriving) nor on success of some servers:
it ends when all converged, or at the deadline, with what is missing on which server and
Triton's reason per version.

A stuck poller: the index a server returns did not change at all during the wait while
it does not serve what the manifest says, and it names no reason for a missing version (it
has not even tried them). Polling has stopped (Triton 2.51 stops after some
failed loads), or the interval is longer than the wait, or the server reads another
repository. That is said as such, with the remedies.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Optional

from compiler.rollout.client import TritonClient, TritonError
from compiler.rollout.served import expected_versions, read_served

POLL_SECONDS = 0.5


@dataclass
class Missing:
    model: str
    expected: set
    ready: set
    reasons: dict = field(default_factory=dict)  # version -> Triton's reason


@dataclass
class ServerWait:
    url: str
    missing: list = field(default_factory=list)
    error: str = ""
    index_changed: bool = False  # the index differed at some point from the first look
    last_failure: dict = field(default_factory=dict)  # (model, version) -> the last reason seen
    _first: Optional[tuple] = None

    @property
    def converged(self) -> bool:
        return not self.missing and not self.error

    @property
    def stuck(self) -> bool:
        """Not serving the manifest, the index never moved, and Triton gives no reason for a
        missing version: it has not tried them (a failed try is reported as such instead)."""
        tried = any(m.reasons for m in self.missing)
        return not self.converged and not self.error and not self.index_changed and not tried

    def as_dict(self) -> dict:
        return {"url": self.url, "converged": self.converged, "stuck_poller": self.stuck, "error": self.error,
                "missing": [{"model": m.model, "expected_versions": sorted(m.expected), "ready_versions": sorted(m.ready),
                             "reasons": {str(v): r for v, r in m.reasons.items()}} for m in self.missing]}


def _look(manifest, client, server: ServerWait) -> None:
    entries = client.index()
    snapshot = tuple(sorted((e.name, e.version, e.state, e.reason) for e in entries))
    if server._first is None:
        server._first = snapshot
    elif snapshot != server._first:
        server.index_changed = True
    for e in entries:  # a poller retries a failed load each pass: keep the reason across its LOADING
        if e.state == "UNAVAILABLE" and e.reason and e.version.isdigit():
            server.last_failure[(e.name, int(e.version))] = e.reason
    served = read_served(client)
    server.missing = []
    for name, model in sorted(manifest.models.items()):
        expected = expected_versions(model)
        now = served.get(name)
        ready = set(now.ready) if now else set()
        if ready != expected or (now and now.busy):
            reasons = {}
            for v in sorted(expected | ready):
                if now and v in now.versions and now.versions[v][0] != "READY":
                    reasons[v] = now.reason(v)
                    earlier = server.last_failure.get((name, v))
                    if earlier and now.versions[v][0] != "UNAVAILABLE":
                        reasons[v] = f"{now.versions[v][0]} again; the last attempt failed: {earlier}"
            server.missing.append(Missing(name, expected, ready, reasons))


def wait_converged(manifest, replicas: list, timeout: float, request_timeout: float = 30.0,
                   sleep=time.sleep) -> list:
    """[ServerWait] once every replica serves the manifest, or at `timeout` seconds."""
    servers = [ServerWait(r.url) for r in replicas]
    clients = [TritonClient(r.url, timeout=request_timeout) for r in replicas]
    deadline = time.monotonic() + timeout
    try:
        while True:
            for client, server in zip(clients, servers):
                if server.converged and server._first is not None:
                    continue
                try:
                    _look(manifest, client, server)
                    server.error = ""
                except TritonError as exc:
                    server.error = exc.message
            if all(s.converged for s in servers) or time.monotonic() >= deadline:
                return servers
            sleep(POLL_SECONDS)
    finally:
        for client in clients:
            client.close()
