"""For sync: how a version file with a remote origin reaches a target, and doing it.

When the origin and the target are the same store reached with the same storage options
(same protocol family, same endpoint, same credentials), the copy is made by the store
itself (S3 CopyObject, GCS rewrite, Azure copy-from-URL through fsspec's `cp_file`): no
byte passes through this machine. Otherwise the file is fetched into the cache (verified)
and uploaded from there like any local file.

On S3 the copy is conditional on the ETag seen when the source was listed and hashed
(`CopySourceIfMatch`), so an object replaced in between is never copied under the old
digest; the copy fails instead and the next run sees the new object. Where the ETag is the
content md5 (single-part, not KMS), the copy's own ETag is checked too, which also covers
stores (and emulators) that ignore the condition.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import cast

from compiler.artifacts.cache import Cache
from compiler.artifacts.file_digest import remote_file
from compiler.artifacts.source import ArtifactFile
from compiler.storage.stores import Filesystems
from compiler.storage.urls import redact_url

SERVER_SIDE, UPLOAD = "server-side", "upload"
_FAMILIES = {"s3": "s3", "s3a": "s3", "gs": "gs", "gcs": "gs", "az": "az", "abfs": "az", "abfss": "az"}
_S3_COPY_LIMIT = 5 * 2**30  # CopyObject's limit; beyond it s3fs copies in parts


def family(protocol: str) -> str:
    return _FAMILIES.get(protocol.lower(), protocol.lower())


def same_store(origin, target_url: str, target_options: dict) -> bool:
    """True when the target can copy `origin` server-side."""
    if origin is None or "://" not in target_url:
        return False
    target_family = family(target_url.split("://", 1)[0])
    if target_family not in ("s3", "gs", "az") or family(origin.protocol) != target_family:
        return False
    # The target's credentials perform the copy, so they must be the source's too: the
    # simplest rule that is never wrong is "the same options" (after ${ENV} expansion).
    return json.dumps(origin.storage_options, sort_keys=True, default=str) == \
        json.dumps(target_options or {}, sort_keys=True, default=str)


def copy_method(entry, target_url: str, target_options: dict) -> str:
    """What the plan says for one entry: SERVER_SIDE or UPLOAD."""
    origin = getattr(entry, "origin", None)
    return SERVER_SIDE if same_store(origin, target_url, target_options) else UPLOAD


def _etag(origin) -> str:
    try:
        return json.loads(origin.stamp).get("ETag", "") if origin.stamp else ""
    except ValueError:
        return ""


class SourceChanged(OSError):
    """The source object is no longer the one that was listed (and hashed)."""


def server_side_copy(origin, target_fs, target_path: str) -> None:
    """Copy `origin` to `target_path` on `target_fs` without reading its bytes here."""
    source_path = origin.path
    etag = _etag(origin)
    if family(origin.protocol) == "s3" and etag and origin.size <= _S3_COPY_LIMIT:
        bucket, key, _ = target_fs.split_path(target_path)
        source_bucket, source_key, version = target_fs.split_path(source_path)
        copy_source = {"Bucket": source_bucket, "Key": source_key, **({"VersionId": version} if version else {})}
        result = target_fs.call_s3("copy_object", Bucket=bucket, Key=key, CopySource=copy_source,
                                   CopySourceIfMatch=etag)
        target_fs.invalidate_cache(target_path)
        copied = str(result.get("CopyObjectResult", {}).get("ETag", "")).strip('"').lower()
        if origin.md5 and copied and copied != origin.md5:
            target_fs.rm_file(target_path)
            raise SourceChanged(f"{redact_url(origin.url)} changed since it was listed (md5 {copied}, "
                                f"listed as {origin.md5}); the copy was removed: run again")
        return
    target_fs.cp_file(source_path, target_path)


def local_copy(origin, cache_root: Path, expected: str = "") -> Path:
    """A verified local copy of `origin` (a blob of the cache at `cache_root`, the run's
    `Settings.cache_root`), fetched once: for uploads to another store."""
    cache = Cache(cache_root)
    item = ArtifactFile("", origin.size, origin=origin)
    remote_file(cache, Filesystems(), item, expected or origin.sha256, need_bytes=True, need_digest=True,
                label=redact_url(origin.url))
    return cast(Path, item.local)  # need_bytes: remote_file leaves the verified copy here
