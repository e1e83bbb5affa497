"""The record a sync keeps at the target root of what it wrote, and how it is read and written.

`.triton-gitops-state.json` (a file, not a folder: Triton takes every folder at the
repository root for a model and fails to load a `.triton-gitops/`) lists each managed
file's path, size, sha256, md5 and the store's stamp for it as seen right after the
write (S3 ETag, GCS generation, Azure ETag, or inode+mtime+ctime on disk). Comparing a
listing with these stamps is how hand edits and deletions are noticed without
downloading anything. Files listed as `pending` were announced before an upload that
may not have finished: they are ours (so prune may remove them) but unverified.

    {"format": 1, "tool": "triton-gitops 0.1.0", "revision": "<git sha or null>",
     "manifest": "models.yaml", "synced_at": "2025-01-01T00:00:00Z", "ensembles": ["m_ens"],
     "files": {"m/1/model.py": {"size": 10, "sha256": "...", "md5": "...", "stamp": "..."},
               "m/2/model.py": {"size": 12, "sha256": "...", "md5": "...", "pending": true}}}
"""
from __future__ import annotations

import os
import time
from typing import Optional

# The names and the state's format are shared with compile (compiler/control_files.py).
from compiler.control_files import (  # noqa: F401 (re-exported: sync's modules read them from here)
    COMPILED_NAME,
    CONTROL_NAMES,
    FORMAT,
    LOCK_NAME,
    ROLLOUT_NAME,
    STATE_NAME,
    TMP_PREFIX,
    Record,
    State,
)
from compiler.storage.files import write_atomic


def now_iso(offset: float = 0.0) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + offset))


def read_control(target, name: str) -> Optional[bytes]:
    """The bytes of one of our control files at the target root, or None if absent."""
    try:
        # start=0: a plain ranged GET; without it s3fs asks for the size first (a second request).
        return target.fs.cat_file(target.path(name), start=0)
    except FileNotFoundError:
        return None


def write_control(target, name: str, data: bytes) -> None:
    """Replace a control file whole: readers see the old or the new one, never a torn one."""
    path = target.path(name)
    if target.local:
        os.makedirs(target.root, exist_ok=True)
        # The temporary name starts with TMP_PREFIX: a listing sets it aside as a leftover.
        write_atomic(path, data, temp_name=f"{TMP_PREFIX}{name}.{os.getpid()}")
    else:
        target.fs.pipe_file(path, data)


def create_control(target, name: str, data: bytes) -> bool:
    """Create a control file only if absent; False if it already exists.

    Local disks use O_EXCL. Object stores get a conditional write (S3 If-None-Match,
    GCS ifGenerationMatch=0, Azure If-None-Match) through fsspec's mode="create"; where
    a backend or emulator ignores the condition, the caller's read-back settles it.
    """
    path = target.path(name)
    if target.local:
        os.makedirs(target.root, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return True
    try:
        target.fs.pipe_file(path, data, mode="create")
    except FileExistsError:
        return False
    except OSError as exc:
        if _refused_create(exc):
            return False
        raise
    return True


def _refused_create(exc: OSError) -> bool:
    """Is `exc` an S3 store's 412 to our create (If-None-Match: *, the only condition we send), that
    is, the object exists? s3fs calls a 412 FileExistsError only when the error names the
    condition (<Condition>If-None-Match</Condition>, as AWS and moto send); SeaweedFS names none,
    and s3fs then raises OSError(EINVAL) with botocore's error as the cause."""
    cause = exc.__cause__
    response = getattr(cause, "response", None)
    if not isinstance(response, dict):
        return False
    error, meta = response.get("Error") or {}, response.get("ResponseMetadata") or {}
    return error.get("Code") == "PreconditionFailed" or meta.get("HTTPStatusCode") == 412


def remove_control(target, name: str) -> None:
    try:
        target.fs.rm_file(target.path(name))
    except FileNotFoundError:
        pass


def state_from(raw: Optional[bytes]) -> State:
    """The state in the bytes read from the target (None: there is none yet)."""
    state = State() if raw is None else State.from_bytes(raw)
    state.raw = raw
    return state


def read_state(target) -> State:
    return state_from(read_control(target, STATE_NAME))
