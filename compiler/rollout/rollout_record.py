"""What each Triton was last given: a per-model digest of the files the sync state lists,
kept at the target root per server (known by what it says about itself, server.py), so that `rollout --target` reloads a model whose bytes
changed even when its config and versions did not (a new model.py in version 2).

Triton's API cannot tell which files a loaded model came from; the sync state can (each
file's sha256), so the digest is taken from there, never by reading the files again.
"""
from __future__ import annotations

import hashlib
import json
from typing import Optional

from compiler.rollout.client import TritonClient, parse_url
from compiler.rollout.explicit_load import FAILED, UNLOADED
from compiler.rollout.server import ask_with, find_entry, identify
from compiler.sync.state import ROLLOUT_NAME as RECORD_NAME
from compiler.sync.state import read_control, write_control


def model_digests(files: dict) -> dict:
    """{model: sha256 over its files' paths and digests}, from {path: sha256} (a sync state's
    files, or a tree's entries)."""
    lines: dict = {}
    for path in sorted(files):
        model = path.split("/", 1)[0]
        lines.setdefault(model, []).append(f"{path} {files[path]}\n")
    return {model: hashlib.sha256("".join(entries).encode()).hexdigest() for model, entries in lines.items()}


def read_servers(target) -> list:
    """The record's server entries: {"name", "version", "hosts", "addresses", "models"} each
    (server.py says how a server is recognised). A damaged record only costs one reload."""
    raw = read_control(target, RECORD_NAME)
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    if isinstance(data.get("servers"), list):
        return [entry for entry in data["servers"] if isinstance(entry, dict)]
    # The first format: {server URL: models}, one entry per spelling of a URL.
    return [{"addresses": [url], "models": models} for url, models in data.items() if isinstance(models, dict)]


def models_of(entry) -> dict:
    models = entry.get("models") if entry else None
    return models if isinstance(models, dict) else {}


def write_server(target, me, known, models: dict) -> None:
    """Record what server `me` now runs. `known` is its entry as found before the rollout
    (None for a server met for the first time); this address joins that entry's."""
    servers = read_servers(target)
    mine = set(known.get("addresses", ())) if known else set()
    entry = next((e for e in servers if mine & set(e.get("addresses", ()))), None)
    if entry is None:
        entry = {}
        servers.append(entry)
    entry.update({"name": me.name, "version": me.version,
                  "hosts": sorted(set(entry.get("hosts", ())) | set(me.hosts)),
                  "addresses": sorted(set(entry.get("addresses", ())) | set(me.addresses)),
                  "models": dict(sorted(models.items()))})
    data = {"format": 2, "servers": servers}
    write_control(target, RECORD_NAME, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode())


class ServerRecords:
    """Each replica as the target's rollout record knows it: one Triton is one server however
    its URL is spelled (compiler/rollout/server.py). Learnt when its rollout starts, used when
    what it now runs is recorded."""

    def __init__(self, check, timeout: float):
        # check: compiler.rollout.target_check.TargetCheck (None without --target: nothing recorded)
        self.check, self.timeout = check, timeout
        self.found: dict = {}  # endpoint -> (the server as it says, its record entry or None)

    @property
    def recording(self) -> bool:
        return self.check is not None and self.check.storage is not None

    def files_changed(self, client) -> set:
        """Models whose files differ from what this server was last given (all of them when
        there is no record of it yet: a first rollout with --target loads everything once)."""
        if not self.recording:
            return set()

        me = identify(client)
        ask = ask_with(lambda address, seconds: TritonClient(address, timeout=seconds), min(self.timeout, 10.0))
        known = find_entry(read_servers(self.check.storage), me, ask)
        self.found[str(client.endpoint)] = (me, known)
        previous = models_of(known)
        return {model for model, digest in self.check.digests.items() if previous.get(model) != digest}

    def given(self, endpoint: str) -> Optional[dict]:
        """{model: digest} of what the server at `endpoint` was last given, per the record;
        None when nothing is recorded of it (no --target, or its first rollout)."""
        known = self.found.get(endpoint, (None, None))[1]
        return models_of(known) if known is not None else None

    def changed_why(self, client) -> str:
        if self.found.get(str(client.endpoint), (None, None))[1] is None:
            return "first rollout to this server from this target: no record of what it was given"
        return "files changed since the last rollout to this server"

    def remember(self, url: str, outcomes) -> None:
        """Record what the server now runs; a failed model keeps its old digest, so it is retried."""
        found = self.found.get(str(parse_url(url)))
        if not self.recording or found is None:
            return

        me, known = found
        record = dict(models_of(known))
        for outcome in outcomes:
            if outcome.action == UNLOADED:
                record.pop(outcome.name, None)
            elif outcome.action != FAILED and outcome.name in self.check.digests:
                record[outcome.name] = self.check.digests[outcome.name]
        write_server(self.check.storage, me, known, record)
