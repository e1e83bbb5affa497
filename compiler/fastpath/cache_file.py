"""The files the fast path keeps in the cache folder (results.py, verdict.py): each stamped with
the tool that wrote it (compiler/compile/tool_stamp.py, as compile's build record is) and read
back only by that same tool; marshal of plain data, never pickle. Light on purpose: a replayed
answer (verdict.py) imports this, not protobuf's generated classes."""
from __future__ import annotations

import dataclasses
import marshal
from pathlib import Path

from compiler.compile import tool_stamp
from compiler.errors import Problem
from compiler.storage.files import write_atomic


def read(file: Path, magic: bytes):
    """What `write(file, magic, ...)` of this very tool left in `file`; None when there is none,
    another tool version wrote it, or it is not ours or is damaged."""
    try:
        with open(file, "rb") as handle:
            raw = handle.read()
    except OSError:
        return None
    head = magic + tool_stamp.fingerprint() + b"\n"
    if not raw.startswith(head):
        return None  # another tool version, or not ours
    try:
        return marshal.loads(raw[len(head):])
    except Exception:  # noqa: BLE001 - corrupt or truncated: as if there were none
        return None


def write(file: Path, magic: bytes, value) -> None:
    """Keep `value` (plain data) in `file`, whole or not at all; a cache folder that cannot be
    written is no error (the next run computes again)."""
    try:
        payload = marshal.dumps(value)
        file.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(file, magic + tool_stamp.fingerprint() + b"\n" + payload)
    except (OSError, ValueError):
        pass


def may_hold_credentials(value) -> bool:
    """Whether a parsed manifest has a place a credential can be written literally: storage
    options (keys, secrets, tokens, connection strings) or a URL with user info or a query (a
    SAS token, a signed URL). Such a manifest is never written to the cache folder: a secret
    must not outlive the run on disk (tests/hardening/test_sync_secrets.py looks there too)."""
    if isinstance(value, dict):
        return "storage_options" in value or any(may_hold_credentials(v) for v in value.values())
    if isinstance(value, list):
        return any(may_hold_credentials(v) for v in value)
    if isinstance(value, str) and "://" in value:
        authority = value.split("://", 1)[1].split("/", 1)[0]
        return "@" in authority or "?" in value
    return False


def problem_fields(problem) -> list:
    return [list(value) if isinstance(value, tuple) else value
            for value in (getattr(problem, f.name) for f in dataclasses.fields(problem))]


def problem_from(values):
    """A Problem exactly as cached (its message was made printable when first built: not again)."""
    names = [f.name for f in dataclasses.fields(Problem)]
    if len(values) != len(names):
        raise ValueError("a cached problem of another shape")
    problem = object.__new__(Problem)
    problem.__dict__.update(zip(names, values))
    problem.path = tuple(problem.path)
    return problem
