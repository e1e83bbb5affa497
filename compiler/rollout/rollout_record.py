"""What each Triton was last given: a per-model digest of the files the sync state lists,
kept at the target root per server (known by what it says about itself, server.py), so that `rollout --target` reloads a model whose bytes
changed even when its config and versions did not (a new model.py in version 2).

Triton's API cannot tell which files a loaded model came from; the sync state can (each
file's sha256), so the digest is taken from there, never by reading the files again.
"""
from __future__ import annotations

import hashlib
import json

from compiler.sync.state import ROLLOUT_NAME as RECORD_NAME


def model_digests(state) -> dict:
    """{model: sha256 over its files' paths and digests}, from a sync state."""
    lines: dict = {}
    for path in sorted(state.files):
        model = path.split("/", 1)[0]
        lines.setdefault(model, []).append(f"{path} {state.files[path].sha256}\n")
    return {model: hashlib.sha256("".join(entries).encode()).hexdigest() for model, entries in lines.items()}


def read_servers(target) -> list:
    """The record's server entries: {"name", "version", "hosts", "addresses", "models"} each
    (server.py says how a server is recognised). A damaged record only costs one reload."""
    from compiler.sync.state import read_control

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
    from compiler.sync.state import write_control

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
