"""Putting a replica back to what it served before a rollout changed it.

Why Triton's load API with the config and the files in the request, and not a sync of the
previous revision: replicas usually share one repository (one bucket), and in EXPLICIT mode
each loads only when asked. The target already holds the new content (rollout checks that
first), and the replicas of later waves must keep serving the old models untouched; a sync
back would also undo the reviewed change for the replicas that took it fine, and leave the
target disagreeing with `main`. A load with `config` and `files` (Triton's repository
extension, override parameters) makes one replica load a model from the bytes in the
request only, without touching the shared repository.

What goes in the request:
- the config: the one the replica itself reported for the model before the rollout
  (GetModelConfig, Triton's defaults filled in), so it is exactly what it ran;
- the files: Triton cannot hand back the files a model was loaded from, so they come from the
  manifest as it was at the previous git revision (`--rollback-to`, default `HEAD~1`: on
  `main` after a merge, the state before the merge), compiled in memory. Only the versions
  that were READY before are sent.

A model that was not served before is unloaded; a model whose load failed is left alone
when Triton kept serving what it served before (it does, in EXPLICIT mode).
Override loads send the files through the API, so a model of many gigabytes is better
rolled back with `sync --revision` and a reload.
"""
from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

from google.protobuf import json_format

from compiler.errors import FatalError
from compiler.gitinfo import checkout_tree
from compiler.pipeline import load_and_build
from compiler.rollout.client import TritonError
from compiler.rollout.rollout_record import model_digests
from compiler.rollout.served import read_served

if TYPE_CHECKING:  # for annotations only: never imported at run time
    from tritonclient.grpc.model_config_pb2 import ModelConfig  # generated protobuf: Any to mypy

    from compiler.artifacts.settings import Settings
    from compiler.compile.tree import Tree

RESTORED, UNLOADED_AGAIN, KEPT, NOT_RESTORED = "restored", "unloaded", "kept", "not restored"


@dataclass
class Served:
    """One model as a replica served it before the rollout touched it."""

    name: str
    ready: set
    config: Optional[ModelConfig] = None  # what the replica ran (None when not served)


@dataclass
class Restore:
    model: str
    action: str  # restored | unloaded | kept | not restored
    detail: str = ""
    ready: set = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return self.action != NOT_RESTORED

    def as_dict(self) -> dict:
        return {"model": self.model, "action": self.action, "detail": self.detail, "ready_versions": sorted(self.ready)}


def snapshot(client) -> dict:
    """{model: Served} for every model the replica serves now (READY versions and config)."""
    out = {}
    for name, served in read_served(client).items():
        config = None
        if served.ready:
            try:
                config = client.config(name)
            except TritonError:
                config = None
        out[name] = Served(name, set(served.ready), config)
    return out


class PreviousFiles:
    """Model files as the manifest at a git revision compiles them (read lazily, once)."""

    def __init__(self, manifest_path, ref: str, settings: Settings, given: Optional[Callable] = None):
        self.manifest_path, self.ref, self.settings = manifest_path, ref, settings
        # given(endpoint) -> {model: digest} the rollout record holds of what that server was last
        # given, or None (rollout_record.ServerRecords.given): the files sent back must be those.
        self.given = given
        self._digests: dict = {}  # model -> digest of its files at `ref`, as the record computes it
        self._stack = contextlib.ExitStack()
        self._tree: Optional[Tree] = None
        self.problem = ""

    def _load(self):
        if self._tree is not None or self.problem:
            return

        try:
            path = self._stack.enter_context(checkout_tree(self.ref, self.manifest_path))
        except FatalError as exc:
            self.problem = f"the manifest at {self.ref} cannot be read: {exc.message}"
            return
        if path is None or not path.is_file():
            self.problem = f"{self.manifest_path} did not exist at {self.ref}"
            return
        # Its notes (compiler/notes.py) are not shown: they speak of the manifest as it was at
        # `ref`, and the rollout already showed those of the manifest it serves.
        _loaded, tree = load_and_build(path, self.settings)
        if tree is None:
            self.problem = f"the manifest at {self.ref} does not validate"
            return
        self._tree = tree

    def _recorded_elsewhere(self, model: str, endpoint: str) -> str:
        """A problem when the record says the server at `endpoint` was last given other files
        of `model` than the manifest at this revision holds: sending these would load a model
        it never ran (the rollout before this one came from another revision)."""
        recorded = (self.given(endpoint) or {}).get(model) if self.given is not None else None
        if recorded is None or self._tree is None:
            return ""
        if model not in self._digests:  # this model's files only: a rollback may touch one of many
            self._digests.update(model_digests({e.path: e.content_sha256() for e in self._tree.entries
                                                if e.model == model}))
        if self._digests.get(model) == recorded:
            return ""
        return (f"the files of {model} at {self.ref} are not the ones this server was last given (the target's "
                f"rollout record); pass --rollback-to the revision last rolled out, or roll back with "
                f"`sync --revision` and a reload")

    def files(self, model: str, versions, endpoint: str = "") -> tuple:
        """({"file:<path in the model folder>": bytes}, problem): every file of `model` outside
        version folders plus the folders of `versions`; config.pbtxt excluded (sent as config).
        `endpoint`: the server they are for, checked against the rollout record."""
        self._load()
        if self.problem:
            return {}, self.problem
        wanted = {str(v) for v in versions}
        found, present = {}, set()
        for entry in self._tree.entries if self._tree is not None else ():
            if entry.model != model:
                continue
            inner = entry.path[len(model) + 1:]
            head = inner.split("/", 1)[0]
            if inner == "config.pbtxt" or (head.isdigit() and head not in wanted):
                continue
            if head.isdigit():
                present.add(head)
            if entry.data is not None:
                found[f"file:{inner}"] = entry.data
            elif entry.source is not None:
                found[f"file:{inner}"] = entry.source.read_bytes()
            else:
                return {}, f"{entry.path} at {self.ref} is a remote file not in the download cache"
        missing = sorted(wanted - present, key=int)
        if missing:
            return {}, f"versions {', '.join(missing)} of {model} are not in the manifest at {self.ref}"
        elsewhere = self._recorded_elsewhere(model, endpoint)
        return ({}, elsewhere) if elsewhere else (found, "")

    def close(self) -> None:
        self._stack.close()


def _config_json(config) -> str:
    return json_format.MessageToJson(config, preserving_proto_field_name=True)


def _wait_ready(client, name: str, expected: set, timeout: float):
    deadline = time.monotonic() + timeout
    while True:
        served = read_served(client).get(name)
        ready = served.ready if served else set()
        if ready == expected and not (served and served.busy):
            return ready, ""
        if time.monotonic() >= deadline:
            reasons = "; ".join(f"version {v}: {r}" for v, r in (served.failures(expected) if served else {}).items())
            return ready, reasons or f"versions READY {sorted(ready)}, expected {sorted(expected)}"
        time.sleep(0.2)


def restore_model(client, name: str, before: Served | None, previous: PreviousFiles, timeout: float) -> Restore:
    """Make `client` serve `name` as `before` says (unloaded when it was not served)."""
    served = read_served(client).get(name)
    now = set(served.ready) if served else set()
    if before is None or not before.ready:
        if not now:
            return Restore(name, KEPT, "was not served before, is not served now")
        try:
            client.unload(name)
        except TritonError as exc:
            return Restore(name, NOT_RESTORED, f"unload refused: {exc.message}", now)
        ready, problem = _wait_ready(client, name, set(), timeout)
        return Restore(name, NOT_RESTORED if problem else UNLOADED_AGAIN, problem or "was not served before", ready)
    if before.config is None:
        return Restore(name, NOT_RESTORED, "its config before the rollout could not be read", now)
    files, problem = previous.files(name, before.ready, str(client.endpoint))
    if problem:
        return Restore(name, NOT_RESTORED, problem, now)
    try:
        client.load(name, config=_config_json(before.config), files=files)
    except TritonError as exc:
        ready, _ = _wait_ready(client, name, before.ready, 0)
        return Restore(name, NOT_RESTORED, f"Triton refused the load: {exc.message}", ready)
    ready, problem = _wait_ready(client, name, before.ready, timeout)
    if problem:
        return Restore(name, NOT_RESTORED, problem, ready)
    return Restore(name, RESTORED, f"versions {', '.join(map(str, sorted(ready)))} from {previous.ref}", ready)
