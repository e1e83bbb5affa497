"""`sync --target prod --from-target staging`: the files the plan sends to prod that another target
of the same store already holds, byte for byte, are copied there by the store (S3 CopyObject,
UploadPartCopy beyond 5 GiB; GCS rewrite; Azure copy): no byte passes through this machine.

The manifest stays what is synced: the plan (what prod needs) is made as always, from the
manifest's files and their sha256; the other target is only a place to copy bytes from. A file
is copied from it only when its sync state there records the very sha256 the manifest wants,
not pending, and its listing shows the object still carries the stamp recorded when that sync
wrote it (S3: the copy is moreover conditional on that ETag, so an object replaced in
between fails the copy instead of being copied). Anything else (drift on staging, a file staging
does not have, another store) is uploaded from here as without the option. What arrives is
verified like any other transfer.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

from compiler.artifacts.remote_copy import SERVER_SIDE, family, same_store
from compiler.artifacts.source import Origin
from compiler.errors import FatalError
from compiler.sync.read import read_target
from compiler.sync.state import state_from
from compiler.sync.storage_failures import explain
from compiler.sync.target import resolve_target

if TYPE_CHECKING:  # for annotations only: never imported at run time
    from compiler.artifacts.settings import Settings


def read_source(manifest, requested: str, target, settings: Settings):
    """(source Target, its state, its listing), read once before planning, with this run's
    storage policy and timeout."""
    source = resolve_target(manifest, requested, settings.policy, timeout=settings.storage_timeout)
    if source.local or target.local:
        raise FatalError(f"--from-target {requested}: both targets must be in an object store for a copy "
                         "made by the store", "drop --from-target: a local folder is written from here anyway")
    if source.url.rstrip("/") == target.url.rstrip("/"):
        raise FatalError(f"--from-target {requested} is the target itself", "name the target to copy from")
    if not same_store(_origin(source, "", 0, "", "", ""), target.url, target.options):
        raise FatalError(f"--from-target {source.display} and --target {target.display} are not the same store "
                         "reached with the same storage options, so the store cannot copy between them",
                         "give both targets the same endpoint and storage_options, or drop --from-target")
    try:
        raw, listing = read_target(source)
        state = state_from(raw)
    except FatalError:
        raise
    except Exception as exc:
        raise explain(exc, source, "read the target to copy from") from exc
    return source, state, listing


def _origin(source, rel: str, size: int, etag: str, sha256: str, md5: str) -> Origin:
    return Origin(url=f"{source.url.rstrip('/')}/{rel}", protocol=family(source.url.split("://", 1)[0]),
                  path=source.path(rel) if rel else "", size=size, stamp=json.dumps({"ETag": etag}) if etag else "",
                  sha256=sha256, md5=md5, storage_options=source.options)


def mark_copies(plan, seen) -> int:
    """Mark each change of the plan that `seen` (read_source's answer) holds intact for a copy by
    the store; returns how many."""
    source, state, listing = seen
    count = 0
    for change in plan.changes:
        want = change.want
        if want is None:
            continue
        record, remote = state.files.get(change.path), listing.files.get(change.path)
        if (record is None or remote is None or record.pending or record.sha256 != want.sha256
                or record.size != want.size or remote.size != want.size or not record.stamp
                or remote.stamp != record.stamp):
            continue
        etag = remote.stamp if family(source.url.split("://", 1)[0]) == "s3" else ""
        change.origin = _origin(source, change.path, want.size, etag, want.sha256, remote.md5 or "")
        change.method = SERVER_SIDE
        count += 1
    return count
