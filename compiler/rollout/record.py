"""What each Triton was last given: a per-model digest of the files the sync state lists,
kept at the target root per server, so that `rollout --target` reloads a model whose bytes
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


def read_record(target, server: str) -> dict:
    from compiler.sync.state import read_control

    raw = read_control(target, RECORD_NAME)
    try:
        servers = json.loads(raw) if raw else {}
    except ValueError:  # a damaged record only costs one reload of everything
        servers = {}
    models = servers.get(server, {}) if isinstance(servers, dict) else {}
    return models if isinstance(models, dict) else {}


def write_record(target, server: str, digests: dict) -> None:
    from compiler.sync.state import read_control, write_control

    raw = read_control(target, RECORD_NAME)
    try:
        servers = json.loads(raw) if raw else {}
    except ValueError:
        servers = {}
    if not isinstance(servers, dict):
        servers = {}
    servers[server] = dict(sorted(digests.items()))
    write_control(target, RECORD_NAME, (json.dumps(servers, indent=1, sort_keys=True) + "\n").encode())
