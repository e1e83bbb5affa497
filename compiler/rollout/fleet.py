"""Which Triton servers a rollout or status talks to: every replica, however they are named.

Servers come from repeated `--triton-url`, a file listing URLs (`--servers-file`), or the
`servers:` list of a manifest target. A URL `dns+grpc://NAME:8001` or `dns+http://NAME:8000`
stands for every address NAME resolves to (A and AAAA records): a Kubernetes headless
Service answers with one address per ready pod, so each pod is reached on its own instead
of through a load balancer that would send a load request to only one of them.

DNS is asked directly (dnspython), not through the C library, so that the answer is every
record the name has, and so that a nameserver can be named (`--nameserver IP[:PORT]`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from compiler.errors import FatalError

DNS_SCHEMES = {"dns+http": "http", "dns+https": "https", "dns+grpc": "grpc", "dns+grpcs": "grpcs"}
DEFAULT_METRICS_PORT = 8002


@dataclass(frozen=True)
class Replica:
    url: str  # what tritonclient is given: scheme://ip:port or scheme://host:port
    source: str  # how it was named: the --triton-url, file line or target entry it came from
    metrics_url: str  # Triton's Prometheus endpoint on the same host

    def __str__(self) -> str:
        return self.url if self.url == self.source else f"{self.url} (from {self.source})"


def _split(url: str) -> tuple:
    """(scheme, host, port or None) of scheme://host[:port]."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    try:
        port = parts.port
    except ValueError:
        raise FatalError(f"server {url!r}: the port is not a number", "write scheme://HOST:PORT") from None
    if not parts.hostname:
        raise FatalError(f"server {url!r}: no host", "write scheme://HOST:PORT, for example grpc://triton:8001")
    return parts.scheme.lower(), parts.hostname, port


def _host_text(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _resolver(nameserver: str | None):
    import dns.resolver  # noqa: PLC0415 - dnspython ~125 ms: dns+ URLs only

    if not nameserver:
        return dns.resolver.Resolver()
    resolver = dns.resolver.Resolver(configure=False)
    host, port = nameserver, 53
    if nameserver.count(":") == 1 or nameserver.startswith("["):  # IP:PORT or [v6]:PORT
        head, _, tail = nameserver.rpartition(":")
        host, port = head.strip("[]"), int(tail) if tail.isdigit() else 53
    resolver.nameservers = [host]
    resolver.port = port
    return resolver


def resolve_dns(name: str, nameserver: str | None = None, timeout: float = 5.0) -> list:
    """Every A and AAAA address of `name`, sorted; a FatalError when it has none."""
    import dns.exception  # noqa: PLC0415 - dnspython ~125 ms: dns+ URLs only
    import dns.resolver  # noqa: PLC0415 - dnspython ~125 ms: dns+ URLs only

    resolver = _resolver(nameserver)
    resolver.lifetime = timeout
    found, errors = [], []
    for kind in ("A", "AAAA"):
        try:
            found += [record.address for record in resolver.resolve(name, kind)]
        except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN):
            continue
        except dns.exception.DNSException as exc:
            errors.append(f"{kind}: {exc}")
    if not found:
        said = "; ".join(errors) or "no A or AAAA records"
        raise FatalError(f"dns+ server name {name!r} resolves to no address ({said})",
                         "check the name (a Kubernetes headless Service: SERVICE.NAMESPACE.svc.cluster.local) "
                         "and --nameserver")
    return sorted(set(found))


def expand(url: str, nameserver: str | None = None, metrics_port: int = DEFAULT_METRICS_PORT,
           source: str | None = None) -> list:
    """The replicas one server URL stands for: itself, or one per address of a dns+ name."""
    scheme, host, port = _split(url.strip())
    source = source or url
    if scheme in DNS_SCHEMES:
        real = DNS_SCHEMES[scheme]
        port = port or (8001 if real.startswith("grpc") else 8000)
        return [Replica(f"{real}://{_host_text(ip)}:{port}", source, f"http://{_host_text(ip)}:{metrics_port}/metrics")
                for ip in resolve_dns(host, nameserver)]
    if scheme not in ("http", "https", "grpc", "grpcs"):
        raise FatalError(f"server {url!r}: unknown scheme {scheme!r}",
                         "use http://, https://, grpc://, grpcs:// or dns+http://, dns+grpc:// for every address "
                         "of a DNS name")
    port = port or (8001 if scheme.startswith("grpc") else 8000)
    return [Replica(f"{scheme}://{_host_text(host)}:{port}", source,
                    f"http://{_host_text(host)}:{metrics_port}/metrics")]


def read_servers_file(path) -> list:
    """URLs from a file: one a line; blank lines and `#` comments skipped."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FatalError(f"--servers-file {path}: cannot be read ({exc})",
                         "one server URL a line, for example grpc://triton-0:8001") from None
    urls = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            urls.append(line)
    if not urls:
        raise FatalError(f"--servers-file {path}: lists no server", "one server URL a line, for example grpc://triton-0:8001")
    return urls


def fleet(urls=(), servers_file=None, target_servers=(), nameserver=None,
          metrics_port: int = DEFAULT_METRICS_PORT) -> list:
    """Every replica named, each once (the first naming wins), in the order given.
    `target_servers` (the manifest target's `servers:`) apply when nothing else names one."""
    named = list(urls or ())
    if servers_file:
        named += read_servers_file(servers_file)
    if not named:
        named = list(target_servers or ())
    if not named:
        raise FatalError("no Triton server named",
                         "pass --triton-url (repeat it for each replica), --servers-file FILE, or list the "
                         "target's `servers:` in the manifest and pass --target NAME")
    replicas, seen = [], set()
    for url in named:
        for replica in expand(url, nameserver, metrics_port):
            if replica.url not in seen:
                seen.add(replica.url)
                replicas.append(replica)
    return replicas


def waves(replicas: list, canary: int, max_unavailable: int) -> list:
    """Replicas in the order they change: `canary` first (a wave of its own, when > 0), then
    the rest `max_unavailable` at a time, so never more than that many load at once."""
    if max_unavailable < 1:
        raise FatalError("--max-unavailable must be at least 1", "how many replicas may load at the same time")
    if canary < 0:
        raise FatalError("--canary must be 0 or more", "how many replicas change first, alone")
    out = []
    first = min(canary, len(replicas))
    for start in range(0, first, max_unavailable):  # a canary larger than the limit is itself split
        out.append(("canary", replicas[start:min(first, start + max_unavailable)]))
    rest = replicas[first:]
    for start in range(0, len(rest), max_unavailable):
        out.append(("wave", rest[start:start + max_unavailable]))
    return out


def replicas(manifest, target: str, urls=(), servers_file=None, nameserver=None,
             metrics_port: int = DEFAULT_METRICS_PORT, target_may_be_url: bool = False) -> list:
    """The replicas a command talks to: the servers named on the command line, else the `servers:`
    of the manifest's target `target`. A `target` the manifest does not name is an error, unless
    it may be a URL (`rollout --target s3://...`), which has no servers of its own."""
    found = manifest.targets.get(target) if target else None
    if target and found is None and not target_may_be_url:
        raise FatalError(f"--target {target}: the manifest has no such target",
                         f"targets: {', '.join(sorted(manifest.targets)) or 'none'}")
    return fleet(urls, servers_file, found.servers if found else (), nameserver, metrics_port)
