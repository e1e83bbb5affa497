"""Content digests of what a sync would write, with a cache so a no-op run reads no file.

Change detection is by content (sha256, plus md5 because that is what S3 ETags and GCS/
Azure listings report). Hashing gigabytes on every run would be slow, so digests of local
files are cached under the user cache dir, keyed like git's index: path, size, mtime_ns,
ctime_ns and inode. ctime is in the key because nothing can set it back: an edit that
keeps size and mtime (`touch -r`) still changes ctime, so it is still caught; a fresh
checkout changes them all, so it is re-hashed (and then moves nothing).
"""
from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

CHUNK = 1 << 20
_CACHE_FORMAT = 1
_CACHE_LIMIT = 200_000  # entries; older ones are dropped first


@dataclass(frozen=True)
class Want:
    """One file the target must hold."""

    entry: object  # compiler.compile.tree.Entry
    size: int
    sha256: str
    md5: str

    @property
    def path(self) -> str:
        return self.entry.path


def cache_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "triton-gitops" / "hashes.json"


def digest_bytes(data: bytes) -> tuple:
    return hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest()


def digest_file(path) -> tuple:
    """(size, sha256, md5) read in chunks: constant memory whatever the size."""
    sha, md5, size = hashlib.sha256(), hashlib.md5(), 0
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(CHUNK)
            if not chunk:
                return size, sha.hexdigest(), md5.hexdigest()
            size += len(chunk)
            sha.update(chunk)  # hashlib drops the GIL for big buffers: threads hash in parallel
            md5.update(chunk)


class HashCache:
    """{absolute path: [size, mtime_ns, ctime_ns, inode, sha256, md5]} in one JSON file."""

    def __init__(self, path: Optional[Path] = None):
        self.path = path or cache_path()
        self.entries: dict = {}
        self.changed = False
        try:
            data = json.loads(self.path.read_text())
            if data.get("format") == _CACHE_FORMAT and isinstance(data.get("entries"), dict):
                self.entries = data["entries"]
        except (OSError, ValueError, AttributeError):
            pass  # no cache or a damaged one: hash again, nothing is lost

    @staticmethod
    def _key(stat) -> list:
        return [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]

    def lookup(self, path: str, stat) -> Optional[tuple]:
        hit = self.entries.get(path)
        if hit and hit[:4] == self._key(stat):
            self.entries[path] = self.entries.pop(path)  # most recently used last
            return hit[4], hit[5]
        return None

    def store(self, path: str, stat, sha256: str, md5: str) -> None:
        self.entries.pop(path, None)
        self.entries[path] = self._key(stat) + [sha256, md5]
        self.changed = True

    def save(self) -> None:
        if not self.changed:
            return
        entries = self.entries
        if len(entries) > _CACHE_LIMIT:
            entries = dict(list(entries.items())[-_CACHE_LIMIT:])
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps({"format": _CACHE_FORMAT, "entries": entries}, separators=(",", ":")))
            os.replace(tmp, self.path)  # readers never see half a file
        except OSError:
            tmp.unlink(missing_ok=True)  # a read-only home only costs re-hashing next time


def hash_local(path: Path, cache: HashCache) -> tuple:
    """(size, sha256, md5) of a local file, from the cache when its stat key matches."""
    key = os.path.abspath(path)
    stat = os.stat(key)
    hit = cache.lookup(key, stat)
    if hit:
        return stat.st_size, hit[0], hit[1]
    size, sha, md5 = digest_file(key)
    after = os.stat(key)
    if size == after.st_size and HashCache._key(after) == HashCache._key(stat):
        cache.store(key, stat, sha, md5)  # only cache a digest of a file that held still
    return size, sha, md5


def wanted_files(tree, cache: HashCache, jobs: int = 4) -> dict:
    """{path: Want} for every entry of the tree, hashing in parallel where the cache misses."""
    def one(entry):
        if entry.data is not None:
            sha, md5 = digest_bytes(entry.data)
            return Want(entry, len(entry.data), sha, md5)
        size, sha, md5 = hash_local(entry.source, cache)
        return Want(entry, size, sha, md5)

    sources = [e for e in tree.entries if e.data is None]
    if len(sources) > 8 and jobs > 1:
        with ThreadPoolExecutor(max_workers=min(jobs, os.cpu_count() or 1, 8)) as pool:
            wants = list(pool.map(one, tree.entries))
    else:
        wants = [one(e) for e in tree.entries]
    return {w.path: w for w in wants}
