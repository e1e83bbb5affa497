"""Which storage a sync talks to: a manifest target (or a URL) turned into an fsspec filesystem.

Every backend goes through `fsspec.core.url_to_fs`, so s3://, gs://, az://, abfs://, file://
and plain paths share one code path; only the few local-disk tricks (rename into place)
ask `target.local`. Storage options come from the manifest with `${ENV}` expanded at run
time; credentials themselves come from each cloud's own chain (environment, profile,
workload identity), never from us.
"""
from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from compiler.errors import FatalError, printable
from compiler.sync.urls import is_local_url

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
# Option names whose values are secrets: scrubbed from every message we print.
_SECRET_KEYS = re.compile(r"(secret|token|password|passwd|key|credential|connection_string|sas|signature)", re.I)


@dataclass
class Target:
    name: str  # the manifest's name for it, "" for a URL given on the command line
    url: str  # after ${ENV} expansion
    _fs: object  # fsspec filesystem; for an object store None until first used (see `fs`)
    _root: str  # the repository's path inside `fs`, without a trailing slash
    local: bool
    secrets: tuple = field(default_factory=tuple)
    endpoint: str = ""  # an endpoint the options or environment name explicitly ("" = the cloud's own)
    options: dict = field(default_factory=dict, repr=False)  # storage options, expanded (secrets: never print)

    @property
    def fs(self):
        """The filesystem, opened on first use: importing a cloud SDK costs ~0.2 s, and a run whose
        state and listing were read by the prefetch child (prefetch.py) may never need it."""
        if self._fs is None and not self.local:
            self._fs, self._root = _open_store(self.url, self.options, self)
        return self._fs

    @property
    def root(self) -> str:
        if not self._root:
            self.fs  # noqa: B018 - opening it is what tells the root
        return self._root

    @property
    def display(self) -> str:
        """How messages name the target: never with a query string or user info (SAS tokens, keys)."""
        url = printable(redact_url(self.url))  # and no control characters: it reaches logs
        return f"{self.name} ({url})" if self.name else url

    def path(self, rel: str) -> str:
        return f"{self.root}/{rel}" if self.root else rel

    def rel(self, full: str) -> str:
        prefix = self.root + "/"
        return full[len(prefix):] if full.startswith(prefix) else full

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


def redact_url(url: str) -> str:
    """A URL fit to print: no user:password, no query string (SAS tokens live there)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.scheme or len(parts.scheme) == 1:  # a plain path (or a Windows drive)
        return url
    netloc = parts.netloc
    if "@" in netloc and ":" in netloc.split("@", 1)[0]:  # user:password@host
        netloc = "***@" + netloc.split("@", 1)[1]
    return urlunsplit((parts.scheme, netloc, parts.path, "***" if parts.query else "", ""))


def expand_env(value, where: str, target_name: str):
    """Expand ${VAR} and ${VAR:-default} in every string of `value` (dicts and lists too)."""
    if isinstance(value, dict):
        return {k: expand_env(v, f"{where}.{k}", target_name) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_env(v, f"{where}[{i}]", target_name) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def replace(match):
        name, default = match.group(1), match.group(2)
        found = os.environ.get(name)
        if found is None or (found == "" and default is not None):
            if default is not None:
                return default
            raise FatalError(f"target {target_name!r}: {where} refers to ${{{name}}}, which is not set",
                             f"export {name}=... before running, or write ${{{name}:-default}} in the manifest")
        return found
    return _ENV_REF.sub(replace, value)


def _secrets_of(options, key: str = "") -> list:
    if isinstance(options, dict):
        return [s for k, v in options.items() for s in _secrets_of(v, str(k))]
    if isinstance(options, list):
        return [s for v in options for s in _secrets_of(v, key)]
    if isinstance(options, str) and len(options) >= 4 and _SECRET_KEYS.search(key):
        return [options]
    return []


def local_path(url: str, base: Path) -> Path:
    path = Path(url[len("file://"):] if url.startswith("file://") else url).expanduser()
    return path if path.is_absolute() else (base / path)


def _choose(manifest, requested):
    """(name, url, storage options) for --target NAME, --target URL or the default local target."""
    targets = manifest.targets
    if requested:
        if requested in targets:
            spec = targets[requested]
            return spec.name, spec.url, spec.storage_options
        if "://" in requested or "/" in requested or requested.startswith("."):
            # A URL: reuse the options of a manifest target with that very URL (endpoint, region).
            for spec in targets.values():
                if _expanded_url(spec) == requested:
                    return spec.name, requested, spec.storage_options
            return "", requested, {}
        known = ", ".join(sorted(targets)) or "none"
        raise FatalError(f"no target named {requested!r} in {manifest.path.name} (targets: {known})",
                         "pass a target name from the manifest, or a URL such as s3://bucket/prefix")
    local = [spec for spec in targets.values() if is_local_url(_expanded_url(spec))]
    if len(local) > 1:
        local = [spec for spec in local if spec.name == "local"] or local
        if len(local) > 1:
            names = ", ".join(spec.name for spec in local)
            raise FatalError(f"{manifest.path.name} has several local targets ({names}) and none is named 'local'",
                             "pick one with --target NAME")
    if not local:
        raise FatalError(f"no --target given and {manifest.path.name} has no local target",
                         "pass --target NAME or --target URL, or add `targets: {local: {url: DIR}}` to the manifest")
    spec = local[0]
    return spec.name, spec.url, spec.storage_options


def _expanded_url(spec) -> str:
    try:
        return expand_env(spec.url, "url", spec.name)
    except FatalError:
        return spec.url


def resolve_target(manifest, requested=None, cwd: Path = None) -> Target:
    """The target to plan or sync against. Relative paths in the manifest are relative to it.
    An object store is opened (its SDK imported) on first use of `Target.fs`."""
    name, url, options = _choose(manifest, requested)
    label = name or requested
    url = expand_env(url, "url", label)
    options = expand_env(dict(options or {}), "storage_options", label)
    secrets = tuple(sorted(set(_secrets_of(options)), key=len, reverse=True))
    if is_local_url(url):
        import fsspec

        base = manifest.root if name else (cwd or Path.cwd())
        root = os.path.abspath(local_path(url, base))
        fs = fsspec.filesystem("file")
        return Target(name, url, fs, root.rstrip("/") or "/", True, secrets)
    return Target(name, url, None, "", False, secrets, _endpoint(url, options), options)


def _open_store(url: str, options: dict, target: Target) -> tuple:
    """(fsspec filesystem, root) of an object store URL."""
    import fsspec

    try:
        fs, root = fsspec.core.url_to_fs(url, **options)
    except (ValueError, ImportError, TypeError) as exc:
        raise FatalError(f"target {redact_url(url)}: cannot open: {target.scrub(str(exc))}",
                         "check the URL scheme (s3://, gs://, az://, abfs://, file://) and storage_options")
    root = root.rstrip("/")
    if not root:
        raise FatalError(f"target {redact_url(url)} names no bucket or container", "use s3://BUCKET/PREFIX")
    return fs, root


_ENDPOINT_KEYS = ("endpoint_url", "endpoint", "account_url")
_ENDPOINT_ENV = {"s3": ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"), "gs": ("STORAGE_EMULATOR_HOST",),
                 "gcs": ("STORAGE_EMULATOR_HOST",)}


def _endpoint(url: str, options: dict) -> str:
    """The endpoint the user pointed this target at, if any: worth a quick reachability probe."""
    for where in (options, options.get("client_kwargs") or {}):
        for key in _ENDPOINT_KEYS:
            if isinstance(where.get(key), str) and where[key]:
                return where[key]
    connection = options.get("connection_string") or ""
    scheme = url.split("://", 1)[0].lower()
    if not connection and scheme in ("az", "abfs", "abfss"):
        connection = os.environ.get("AZURE_STORAGE_CONNECTION_STRING", "")
    match = re.search(r"BlobEndpoint=([^;]+)", connection)
    if match:
        return match.group(1)
    for name in _ENDPOINT_ENV.get(scheme, ()):
        if os.environ.get(name):
            return os.environ[name]
    return ""


def probe(target, timeout: float = 3.0) -> None:
    """Fail in a second, not after minutes of SDK retries, when an explicit endpoint is down.

    Only endpoints the user named (emulators, MinIO, private links) are probed; the clouds'
    own endpoints are left to the SDKs.
    """
    if target.local or not target.endpoint:
        return
    parts = urlsplit(target.endpoint if "://" in target.endpoint else f"http://{target.endpoint}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return
    if not parts.hostname:
        return
    try:
        socket.create_connection((parts.hostname, port), timeout=timeout).close()
    except OSError as exc:
        shown = redact_url(target.endpoint)
        raise FatalError(f"{target.display}: endpoint unreachable: cannot connect to {shown} "
                         f"({exc.strerror or type(exc).__name__})",
                         "check the endpoint in the target's storage_options (or AWS_ENDPOINT_URL and the like), "
                         "that the service is up, and the network or proxy settings")
