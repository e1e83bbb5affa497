"""Which Triton a rollout talks to: the same server, however its URL is spelled.

`http://localhost:8000` and `grpc://127.0.0.1:8001` can be one process. The rollout record
(rollout_record.py) keeps what each server was given, so it must know them for one, or it would
reload every model with a false reason. A server is known by what it says about itself and
by where it listens:

- every address it was reached at, resolved (`localhost` is 127.0.0.1), with protocol and
  port: the same address again is the same server;
- otherwise its server metadata (name, which is Triton's `--id`, version and extensions) and
  the host it runs on. One Triton has one HTTP port and one gRPC port, so a server met on the
  other protocol of the same host may be it. It is taken for it only if an address recorded
  for it still answers now and says the same about itself, metadata and repository index
  alike; anything less and it is another server, which costs one full reload, never a
  skipped one that was needed.

Two Tritons on one host with the same `--id`, the same repository and the same models loaded
cannot be told apart this way; give each its own `--id`.
"""
from __future__ import annotations

import socket
from dataclasses import dataclass, field


@dataclass
class Identity:
    name: str  # Triton's --id, from the server metadata
    version: str
    extensions: list
    protocol: str  # http | grpc
    addresses: list  # "<protocol>://<ip>:<port>" for each address the host resolves to
    hosts: list  # those IPs
    index: list = field(default_factory=list)  # the repository index, as comparable tuples

    def says_the_same(self, other: Identity) -> bool:
        return (self.name, self.version, self.extensions, self.index) == \
            (other.name, other.version, other.extensions, other.index)


def _resolve(address: str) -> tuple:
    """(host IPs, port) of "host:port" ("[v6]:port" too); the host itself if it does not resolve."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    try:
        infos = socket.getaddrinfo(host, int(port), proto=socket.IPPROTO_TCP)
        ips = sorted({info[4][0] for info in infos})
    except (OSError, ValueError):
        ips = [host]
    return ips, port


def identify(client) -> Identity:
    """Ask the server behind `client` who it is (raises TritonError when it cannot answer)."""
    meta = client.metadata()
    endpoint = client.endpoint
    ips, port = _resolve(endpoint.address)
    scheme = f"{endpoint.protocol}{'s' if endpoint.ssl else ''}"
    addresses = [f"{scheme}://{f'[{ip}]' if ':' in ip else ip}:{port}" for ip in ips]
    index = sorted((e.name, e.version, e.state) for e in client.index())
    return Identity(meta["name"], meta["version"], list(meta["extensions"]), endpoint.protocol, addresses, ips,
                    index)


def _protocol_of(address: str) -> str:
    return "grpc" if address.startswith("grpc") else "http"


def find_entry(servers: list, me: Identity, ask) -> dict | None:
    """The entry of `servers` (the record's list) that is the server `me`, or None.
    `ask(address)` identifies whatever answers at a recorded address now (None if nothing does)."""
    for entry in servers:
        if set(entry.get("addresses", ())) & set(me.addresses):
            return entry
    for entry in servers:
        if (entry.get("name"), entry.get("version")) != (me.name, me.version):
            continue
        recorded = entry.get("addresses", [])
        if not set(entry.get("hosts", ())) & set(me.hosts):
            continue
        if any(_protocol_of(a) == me.protocol for a in recorded):
            continue  # it has its own port for this protocol: another server on the same host
        for address in recorded:
            other = ask(address)
            if other is not None and other.says_the_same(me):
                return entry
    return None


def ask_with(make_client, timeout: float = 10.0):
    """`ask` for find_entry: identify the server at an address with a short-lived client."""
    def ask(address: str):
        client = None
        try:
            client = make_client(address, timeout)
            return identify(client)
        except Exception:  # noqa: BLE001 - gone, or not a Triton (TritonError, a bad URL): not the same server
            return None
        finally:
            if client is not None:
                client.close()
    return ask
