"""Check every target: its storage with `plan`'s core, its servers with `status`'s core.

Nothing here writes: the storage is read through `engine.plan_only` (a listing and the sync
state, no lock), the servers through Triton's index and config APIs. One target that cannot
be read does not stop the others; what went wrong is kept as that target's error.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

from compiler.artifacts.cache import Cache
from compiler.errors import FatalError
from compiler.manifest.variants import serve_variant
from compiler.storage.redact import environment_secrets, scrub
from compiler.storage.urls import redact_url
from compiler.sync import engine
from compiler.sync.summary import plan_json

if TYPE_CHECKING:  # for annotations only: never imported at run time
    from compiler.sync.plan import Plan


@dataclass
class ServerCheck:
    url: str
    findings: list = field(default_factory=list)  # compiler.rollout.drift.Drift
    error: str = ""  # not reachable, not live: its drift is unknown

    def as_dict(self) -> dict:
        return {"triton_url": self.url, "in_sync": not self.findings and not self.error, "error": self.error,
                "drift": [f.as_dict() for f in self.findings]}


@dataclass
class TargetCheck:
    name: str
    url: str  # credentials redacted
    plan: Optional[Plan] = None  # None when the storage could not be read
    storage_error: str = ""
    servers: list = field(default_factory=list)  # ServerCheck
    servers_error: str = ""  # the servers could not be named (a dns+ name without addresses)

    @property
    def storage_drifted(self) -> bool:
        return self.plan is not None and not self.plan.in_sync

    @property
    def servers_drifted(self) -> list:
        return [s for s in self.servers if s.findings]

    @property
    def drifted(self) -> bool:
        return self.storage_drifted or bool(self.servers_drifted)

    @property
    def errors(self) -> list:
        """What could not be checked, one line each."""
        out = [f"storage: {self.storage_error}"] if self.storage_error else []
        if self.servers_error:
            out.append(f"servers: {self.servers_error}")
        out += [f"server {s.url}: {s.error}" for s in self.servers if s.error]
        return out

    def as_dict(self) -> dict:
        storage = {"in_sync": not self.storage_drifted and not self.storage_error, "error": self.storage_error}
        if self.plan is not None:
            storage.update({k: v for k, v in plan_json(self.plan, _Display(self.url)).items() if k != "target"})
        return {"target": self.name, "url": self.url, "in_sync": not self.drifted and not self.errors,
                "storage": storage, "servers_error": self.servers_error,
                "servers": [s.as_dict() for s in self.servers]}


@dataclass
class _Display:
    display: str


def _message(exc: BaseException) -> str:
    if isinstance(exc, FatalError):
        return exc.message + (f" ({exc.hint})" if exc.hint else "")
    # Not explained by the storage layer: an SDK's own text, which may quote what it was given.
    return scrub(f"{type(exc).__name__}: {exc}", environment_secrets())


def check_storage(loaded, built: engine.IndexedTree, settings, check: TargetCheck) -> None:
    """`plan --target NAME`'s core: the plan of the manifest's tree (built once by the command,
    its wanted files worked out once for every target), or the reason there is none."""
    try:
        ctx, _ = engine.prepare(loaded, check.name, settings, jobs=8, built=built)
        if ctx is None:  # not with a tree given; said plainly should that ever change
            raise FatalError("the manifest does not build: " + "; ".join(p.message for p in loaded.problems[:3]))
        check.plan = engine.plan_only(ctx).plan
    except Exception as exc:  # noqa: BLE001 - one unreadable store is that target's finding, not the run's end
        check.storage_error = _message(exc)


@contextlib.contextmanager
def serving(manifest, target: str):
    """The manifest's configs as the target's servers load them (its `config_name`), and back
    afterwards: one loaded manifest serves the checks of every target."""
    saved = {name: (model.config, model.config_dict) for name, model in manifest.models.items()}
    try:
        serve_variant(manifest, "", target)
        yield manifest
    finally:
        for name, (config, config_dict) in saved.items():
            manifest.models[name].config, manifest.models[name].config_dict = config, config_dict


def check_servers(manifest, check: TargetCheck, timeout: float, nameserver=None) -> None:
    """`status --target NAME`'s core, each replica on its own."""
    from compiler.rollout.client import TritonError  # noqa: PLC0415 - the rollout stage ~30 ms: only targets with servers
    from compiler.rollout.drift import server_drift  # noqa: PLC0415 - the rollout stage ~30 ms: only targets with servers
    from compiler.rollout.fleet import fleet  # noqa: PLC0415 - the rollout stage ~30 ms: only targets with servers

    spec = manifest.targets[check.name]
    if not spec.servers:
        return
    try:
        replicas = fleet(target_servers=spec.servers, nameserver=nameserver)
    except FatalError as exc:
        check.servers_error = _message(exc)
        return
    with serving(manifest, check.name):
        for replica in replicas:
            server = ServerCheck(replica.url)
            try:
                server.findings = server_drift(manifest, replica.url, timeout)
            except TritonError as exc:
                server.error = exc.message or type(exc).__name__
            except FatalError as exc:
                server.error = _message(exc)
            check.servers.append(server)


def check_all(loaded, tree, settings, names, cache: Cache, timeout: float = 30.0, nameserver=None) -> list:
    """A TargetCheck for each of `names` (targets of the loaded manifest, whose `tree` the
    command built with this run's `settings` and `cache`, its hash index)."""
    manifest = loaded.manifest
    built = engine.IndexedTree(tree, cache)
    out = []
    for name in names:
        check = TargetCheck(name, redact_url(manifest.targets[name].url))
        check_storage(loaded, built, settings, check)
        check_servers(manifest, check, timeout, nameserver)
        out.append(check)
    return out
