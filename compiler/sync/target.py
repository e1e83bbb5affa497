"""Which storage a sync talks to: a manifest target (or a URL) turned into an fsspec filesystem.

Every backend goes through `compiler.storage` (fsspec's `url_to_fs`, bounded in time), so
s3://, gs://, az://, abfs://, file:// and plain paths share one code path; only the few
local-disk tricks (rename into place) ask `target.local`. Storage options come from the
manifest with `${ENV}` expanded at run time, only for variables the storage policy allows,
and only towards endpoints it allows (checked before the store is opened); credentials
themselves come from each cloud's own chain (environment, profile, workload identity). A
manifest's local target is resolved by compiler/manifest/local_target.py, under the same
policy; only a path given on the command line expands every variable (it is the user's own).
Messages show the URL as written, never an expanded value.
"""
from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Optional
from urllib.parse import urlsplit

from compiler.errors import FatalError, format_path, printable
from compiler.extras import missing_extra
from compiler.manifest import local_target
from compiler.manifest.local_target import local_path
from compiler.storage import destinations
from compiler.storage.env import expanded
from compiler.storage.redact import scrub, secrets_of
from compiler.storage.stores import open_url
from compiler.storage.urls import is_local_url, redact_url
from compiler.sync.boundary import from_command_line

if TYPE_CHECKING:  # for annotations only: never imported at run time
    from fsspec import AbstractFileSystem

    from compiler.storage.policy import Policy


@dataclass
class Target:
    name: str  # the manifest's name for it, "" for a URL given on the command line
    url: str  # after ${ENV} expansion: for the SDKs only, never printed
    _fs: Optional[AbstractFileSystem]  # fsspec filesystem; for an object store None until first used (see `fs`)
    _root: str  # the repository's path inside `fs`, without a trailing slash
    local: bool
    secrets: tuple = field(default_factory=tuple)
    endpoint: str = ""  # an endpoint the options or environment name explicitly ("" = the cloud's own)
    options: dict = field(default_factory=dict, repr=False)  # storage options, expanded (secrets: never print)
    written: str = ""  # the URL as the manifest or the command line wrote it: what messages show
    values: dict = field(default_factory=dict, repr=False)  # {variable: value} expanded into url and options
    timeout: float = 0.0  # seconds a listing or small read may take, retries included (0: the setting)
    _carries: Optional[Callable] = field(default=None, repr=False)  # see `provide`

    @property
    def fs(self):
        """The filesystem, opened on first use: importing a cloud SDK costs ~0.2 s, and a run whose
        state and listing were read by the prefetch child (prefetch.py) may never need it."""
        if self._fs is None and not self.local:
            self._fs, self._root = _open_store(self)
        return self._fs

    def provide(self, fs, root: str, carries: Callable) -> None:
        """Use `fs` instead of opening the SDK: an object offering the filesystem methods a sync
        calls (compiler/fastpath/s3_store.py). `carries(plan)`: whether it can carry out `plan`."""
        self._fs, self._root, self._carries = fs, root, carries

    @property
    def opened(self) -> bool:
        """Has a filesystem been opened (or provided) for it yet?"""
        return self._fs is not None

    def fit(self, plan) -> None:
        """Before the first write of `plan`: a target provided with a filesystem that cannot carry
        it out whole (a multipart upload, a server-side copy) opens its SDK instead, now."""
        if self._carries is not None and not self._carries(plan):
            self._fs, self._root = _open_store(self)
            self._carries = None

    @property
    def root(self) -> str:
        if not self._root:
            self.fs  # noqa: B018 - opening it is what tells the root
        return self._root

    @property
    def display(self) -> str:
        """How messages name the target: as written, without user info or query (SAS tokens, keys),
        and without control characters (it reaches logs)."""
        url = printable(redact_url(self.written or self.url))
        return f"{self.name} ({url})" if self.name else url

    def path(self, rel: str) -> str:
        return f"{self.root}/{rel}" if self.root else rel

    def rel(self, full: str) -> str:
        prefix = self.root + "/"
        return full[len(prefix):] if full.startswith(prefix) else full

    def scrub(self, text: str) -> str:
        """`text` without secrets, and with each expanded value put back as the ${VAR} it came from."""
        text = scrub(text, self.secrets)
        for name, value in sorted(self.values.items(), key=lambda item: len(item[1]), reverse=True):
            if len(value) >= 3:
                text = text.replace(value, f"${{{name}}}")
        return text


def _choose(manifest, requested, policy: Policy):
    """(name, url, storage options) for --target NAME, --target URL or the default local target."""
    targets = manifest.targets
    if requested:
        if requested in targets:
            spec = targets[requested]
            return spec.name, spec.url, spec.storage_options
        if "://" in requested or "/" in requested or requested.startswith("."):
            # A URL: reuse the options of a manifest target with that very URL (endpoint, region).
            for spec in targets.values():
                if _expanded_url(spec, policy) == requested:
                    return spec.name, requested, spec.storage_options
            return "", requested, {}
        known = ", ".join(sorted(targets)) or "none"
        raise FatalError(f"no target named {requested!r} in {manifest.path.name} (targets: {known})",
                         "pass a target name from the manifest, or a URL such as s3://bucket/prefix")
    name = default_local({spec.name: _expanded_url(spec, policy) for spec in targets.values()}, manifest.path.name,
                         "--target NAME or --target URL")
    spec = targets[name]
    return spec.name, spec.url, spec.storage_options


def default_local(urls: dict, manifest_name: str, option: str = "--target NAME") -> str:
    """The name of the manifest's local target among {name: url}: the only one, else the one
    named `local`. `sync`, `plan` and `compile` (its default --out) all write there."""
    local = [name for name, url in urls.items() if is_local_url(url)]
    if len(local) > 1:
        local = [name for name in local if name == "local"] or local
        if len(local) > 1:
            raise FatalError(f"{manifest_name} has several local targets ({', '.join(local)}) and none is "
                             "named 'local'", f"pick one with {option}")
    if not local:
        raise FatalError(f"no {option.split()[0]} given and {manifest_name} has no local target",
                         f"pass {option}, or add `targets: {{local: {{url: DIR}}}}` to the manifest")
    return local[0]


def _expanded_url(spec, policy: Policy) -> str:
    """The URL with the references the policy allows expanded (others left empty), for matching."""
    return expanded(spec.url, (), [], policy)[0]


def resolve_target(manifest, requested, policy: Policy, cwd: Path | None = None, timeout: float = 0.0) -> Target:
    """The target to plan or sync against. Relative paths in the manifest are relative to it.
    `policy`: the run's storage policy (Settings.policy), which an object store's URL and options
    must keep to. An object store is opened (its SDK imported) on first use of `Target.fs`."""
    name, url, options = _choose(manifest, requested, policy)
    label = name or requested
    written = url
    local = is_local_url(url)
    if local and name and not from_command_line(manifest, requested):
        return _manifest_local(manifest, name, policy)
    if not local and name:
        # The manifest's own targets were checked when it was built; once more right before use.
        refused = destinations.check(url, options, ("targets", name), policy, "target", unset_ok=True)
        if refused:
            raise FatalError(f"target {label!r}: {refused[0].message}", refused[0].hint)
    problems: list = []
    # A path given on the command line is the user's own, not the manifest's: all its variables
    # are expanded (and the folder may be anywhere, compiler/sync/boundary.py).
    allowed = None if local else policy
    url, used = expanded(url, (), problems, allowed)
    _raise_env(problems, label, "url")
    if local:  # a folder has no storage options
        base = manifest.root if name else (cwd or Path.cwd())
        try:
            root = os.path.abspath(local_path(url, base))
        except FatalError as exc:  # ~user of no user
            raise FatalError(f"target {printable(label)!r}: local folder {printable(written)!r}: {exc.message}",
                             exc.hint)
        return _folder(name, url, root, written, used)
    options, used_options = expanded(dict(options or {}), (), problems, policy)
    _raise_env(problems, label, "storage_options")
    used.update(used_options)
    secrets = tuple(sorted(set(secrets_of(options)), key=len, reverse=True))
    return Target(name, url, None, "", False, secrets, explicit_endpoint(url, options), options, written=written,
                  values=used, timeout=timeout)


def _manifest_local(manifest, name: str, policy: Policy) -> Target:
    """The manifest's local target `name`, resolved by the one rule validate checked it with
    (compiler/manifest/local_target.py): only the variables the policy allows are expanded."""
    spec = manifest.targets[name]
    folder, used, problems = local_target.resolve(spec.url, manifest.path, policy, spec.doc_path)
    if problems:
        problem = problems[0]
        # resolve's words are said at the `url` (validate: `targets.NAME.url: refers to ...`)
        place = "url " if problem.message.startswith("refers to ") else ""
        raise FatalError(f"target {printable(name)!r}: {place}{problem.message}", problem.hint)
    return _folder(name, os.path.abspath(folder), os.path.abspath(folder), spec.url, used)


def _folder(name: str, url: str, root: str, written: str, values: dict) -> Target:
    import fsspec  # noqa: PLC0415 - fsspec ~90 ms: compile loads this module (default_local) without resolving a target

    return Target(name, url, fsspec.filesystem("file"), root.rstrip("/") or "/", True, written=written, values=values)


def _raise_env(problems: list, label: str, where: str) -> None:
    """Stop at the first unset or refused variable, naming where it is written."""
    if not problems:
        return

    problem = problems[0]
    place = format_path((where, *problem.path))
    if problem.message.endswith(" is not set"):
        variable = problem.message[:-len(" is not set")]
        raise FatalError(f"target {label!r}: {place} refers to {variable}, which is not set", problem.hint)
    raise FatalError(f"target {label!r}: {place}: {problem.message}", problem.hint)


def _open_store(target: Target) -> tuple:
    """(fsspec filesystem, root) of an object store target."""
    try:
        fs, root = open_url(target.url, target.options, target.timeout)
    except ImportError as exc:
        raise missing_extra(target.url, f"target {target.display}", exc) or FatalError(
            f"target {target.display}: cannot open: {target.scrub(str(exc))}", "check the URL scheme")
    except (ValueError, TypeError) as exc:
        raise FatalError(f"target {target.display}: cannot open: {target.scrub(str(exc))}",
                         "check the URL scheme (s3://, gs://, az://, abfs://, file://) and storage_options")
    root = root.rstrip("/")
    if not root:
        raise FatalError(f"target {target.display} names no bucket or container", "use s3://BUCKET/PREFIX")
    return fs, root


_ENDPOINT_KEYS = ("endpoint_url", "endpoint", "account_url")
_ENDPOINT_ENV = {"s3": ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"), "gs": ("STORAGE_EMULATOR_HOST",),
                 "gcs": ("STORAGE_EMULATOR_HOST",)}


def explicit_endpoint(url: str, options: dict, environ=None) -> str:
    """The endpoint the user pointed this target at, if any ("" for the cloud's own): worth a
    quick reachability probe, and on S3 the one the client gets (compiler/fastpath/s3_route.py).
    `environ`: os.environ unless given."""
    environ = os.environ if environ is None else environ
    for where in (options, options.get("client_kwargs") or {}):
        for key in _ENDPOINT_KEYS:
            if isinstance(where.get(key), str) and where[key]:
                return where[key]
    connection = options.get("connection_string") or ""
    scheme = url.split("://", 1)[0].lower()
    if not connection and scheme in ("az", "abfs", "abfss"):
        connection = environ.get("AZURE_STORAGE_CONNECTION_STRING", "")
    match = re.search(r"BlobEndpoint=([^;]+)", connection)
    if match:
        return match.group(1)
    for name in _ENDPOINT_ENV.get(scheme, ()):
        if environ.get(name):
            return environ[name]
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
        shown = target.scrub(redact_url(target.endpoint))
        raise FatalError(f"{target.display}: endpoint unreachable: cannot connect to {shown} "
                         f"({exc.strerror or type(exc).__name__})",
                         "check the endpoint in the target's storage_options (or AWS_ENDPOINT_URL and the like), "
                         "that the service is up, and the network or proxy settings")
