"""The local, content-addressed artifact cache, and the two indexes that make it cheap.

    <root>/blobs/sha256/ab/abcd...        verified bytes, named by their sha256, read-only
    <root>/tmp/<random>.part              downloads in progress (same disk: rename is atomic)
    <root>/index/remote/ab/<key>.json     URL + the store's stamp (ETag, generation, ...) -> sha256
    <root>/index/local.json               path -> stat (size, mtime, ctime, inode, device) + sha256

A blob only appears by `os.replace` of a complete download whose digest was computed
from the bytes written, so a crash or a mismatch never leaves a partial or unverified
blob. The remote index is what lets a second run skip the download (the store's stamp
changes whenever the object is rewritten); the local index lets a second run skip
re-hashing an unchanged local file (like git's index, ctime is in the key because
nothing can set it back; and like git's, an entry whose file changed within RACY_SECONDS of
being hashed is used by that run only, never saved: compiler/artifacts/file_digest.py).
Remote records are small files of their own; the local index is one file, read once and
written back once per run (merged with what other runs wrote meanwhile), because a manifest
may list thousands of small local files. Everything is written by rename, so parallel runs
never corrupt one another; losing the cache only costs time.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Optional

from compiler.errors import FatalError
from compiler.storage.files import write_atomic

TMP_MAX_AGE = 24 * 3600  # a .part file older than this belongs to no running download
LOCAL_INDEX_LIMIT = 200_000  # entries; the least recently used go first


def _key_name(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Cache:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.writable = True  # becomes False after the first failed write: warn once, go on
        self._local: Optional[dict] = None  # {path: [size, mtime_ns, ctime_ns, ino, dev, sha256, md5]}, loaded on first use
        self._local_changed: dict = {}
        self._lock = threading.Lock()

    def __reduce__(self):
        """Sent to another process (the prefetch helper writing a sync's plan), an index reopens
        its folder there and reads what this process saved (a lock does not cross processes)."""
        return (Cache, (self.root,))

    # -- blobs -----------------------------------------------------------------------------
    def blob(self, sha256: str) -> Path:
        return self.root / "blobs" / "sha256" / sha256[:2] / sha256

    def has(self, sha256: str, size: int = -1) -> Optional[Path]:
        """The blob's path if present (and of the expected size); marks it as used for prune."""
        path = self.blob(sha256)
        try:
            stat = path.stat()
        except OSError:
            return None
        if size >= 0 and stat.st_size != size:
            return None  # damaged by hand: ignore it, it will be replaced
        try:
            os.utime(path)  # prune removes what was not used recently
        except OSError:
            pass
        return path

    def temp_file(self, expected_size: int = 0) -> Path:
        """A fresh temporary name inside the cache, after checking there is room for the download."""
        folder = self.root / "tmp"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            free = shutil.disk_usage(folder).free
        except OSError as exc:
            raise FatalError(f"cannot use the artifact cache {self.root}: {exc.strerror or exc}",
                             "set TRITON_GITOPS_CACHE_DIR to a writable folder")
        if expected_size and free < expected_size + (64 << 20):
            raise FatalError(f"not enough space in the artifact cache {self.root}: {expected_size} bytes needed, "
                             f"{free} free", "run `triton-gitops cache prune`, or set TRITON_GITOPS_CACHE_DIR")
        handle, name = tempfile.mkstemp(prefix="dl-", suffix=".part", dir=folder)
        os.close(handle)
        return Path(name)

    def commit(self, temp: Path, sha256: str) -> Path:
        """Move a verified download into place under its digest."""
        target = self.blob(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(temp, 0o444)  # blobs are shared by every run: no one edits them in place
        os.replace(temp, target)  # another run may have placed the same bytes: same content
        return target

    # -- index -----------------------------------------------------------------------------
    def _record_path(self, kind: str, key: str) -> Path:
        name = _key_name(key)
        return self.root / "index" / kind / name[:2] / f"{name}.json"

    def lookup(self, kind: str, key: str) -> Optional[dict]:
        path = self._record_path(kind, key)
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or record.get("key") != key:
            return None
        try:
            os.utime(path)  # used: prune keeps it
        except OSError:
            pass
        return record

    def remember(self, kind: str, key: str, **values) -> None:
        if not self.writable:
            return
        path = self._record_path(kind, key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, json.dumps({"key": key, **values}, sort_keys=True))
        except OSError:
            self.writable = False  # a read-only cache only costs time on the next run

    # -- the local index ----------------------------------------------------------------------
    @property
    def _local_path(self) -> Path:
        return self.root / "index" / "local.json"

    def _read_local(self) -> dict:
        try:
            data = json.loads(self._local_path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def local_record(self, path: str) -> Optional[list]:
        with self._lock:
            if self._local is None:
                self._local = self._read_local()
            return self._local.get(path)

    def set_local_record(self, path: str, record: list, keep: bool = True) -> None:
        """Record a file's stat key and digests; `keep=False`: for this run only, never saved
        (a racy stat key, file_digest.digest_local: the next run must read the file again)."""
        with self._lock:
            if self._local is None:
                self._local = self._read_local()
            self._local[path] = record
            if keep:
                self._local_changed[path] = record
            else:
                # What this run learnt of an earlier state of the file is no use to the next.
                self._local_changed.pop(path, None)

    def save(self) -> None:
        """Write the local index back: merged with the file as it is now, newest entries last."""
        with self._lock:
            if not self._local_changed or not self.writable:
                return
            merged = self._read_local()
            for path, record in self._local_changed.items():
                merged.pop(path, None)
                merged[path] = record
            if len(merged) > LOCAL_INDEX_LIMIT:
                merged = dict(list(merged.items())[-LOCAL_INDEX_LIMIT:])
            try:
                self._local_path.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(self._local_path, json.dumps(merged, separators=(",", ":")))
                self._local_changed.clear()
            except OSError:
                self.writable = False

    # -- prune ------------------------------------------------------------------------------
    def prune(self, older_than_days: Optional[float]) -> tuple:
        """Remove blobs and records not used for `older_than_days` (None: everything).

        Returns (files removed, bytes freed, bytes kept). Temporary files of downloads
        still running elsewhere are young, so they are left alone.
        """
        now = time.time()
        limit = None if older_than_days is None else now - older_than_days * 86400
        removed = freed = kept = 0
        # builds: compile's records (compiler.compile.build_record); results: the per-model result cache
        # (compiler.fastpath.results), which a run computes again when it is gone
        for sub in ("blobs", "index", "tmp", "builds", "results"):
            for path in sorted((self.root / sub).rglob("*")) if (self.root / sub).is_dir() else ():
                try:
                    stat = path.lstat()
                except OSError:
                    continue
                if path.is_dir():
                    continue
                stale = limit is None or stat.st_mtime < limit
                if sub == "tmp":
                    stale = limit is None or stat.st_mtime < now - TMP_MAX_AGE
                if not stale:
                    kept += stat.st_size
                    continue
                try:
                    path.unlink()
                except OSError:
                    kept += stat.st_size
                    continue
                removed += 1
                freed += stat.st_size
        for folder in sorted((p for p in self.root.rglob("*") if p.is_dir()), reverse=True) \
                if self.root.is_dir() else ():
            try:
                folder.rmdir()  # only succeeds when empty
            except OSError:
                pass
        return removed, freed, kept
