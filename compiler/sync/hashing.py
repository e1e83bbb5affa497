"""Content digests of what a sync would write, with a cache so a no-op run reads no file.

Change detection is by content: sha256, which is what the state records. Stores report
md5 instead (S3 single-part ETags, GCS md5Hash, Azure Content-MD5), so an md5 is worked
out too, but only for files that need one (sent, or compared with a store's md5): md5 is
half as fast as sha256 here, and a fresh checkout must re-read every file.

Digests of local files are cached under the user cache dir, keyed like git's index:
path, size, mtime_ns, ctime_ns and inode. ctime is in the key because nothing can set it
back: an edit that keeps size and mtime (`touch -r`) still changes ctime, so it is still
caught; a fresh checkout changes them all, so it is re-hashed (and then moves nothing).
A version file from a remote source brings its digests along (`Entry.origin`, from the
artifacts layer): it is not read here, and may not even be on this machine.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional

from compiler.artifacts.digest import digest_path

_CACHE_FORMAT = 2
_CACHE_LIMIT = 200_000  # entries; older ones are dropped first


class Want:
    """One file the target must hold: its entry, size, sha256, and md5 when first asked for."""

    __slots__ = ("entry", "size", "sha256", "_md5", "_cache", "key")

    def __init__(self, entry, size: int, sha256: str, md5: Optional[str] = None, cache=None, key=None):
        self.entry, self.size, self.sha256, self._md5, self._cache = entry, size, sha256, md5, cache
        self.key = key  # the source's stat key when hashed: if it still matches, so does the content

    def unchanged(self, stat) -> bool:
        """Is the source, as `stat` shows it now, the file that was hashed?"""
        return self.key is None or HashCache.key(stat) == self.key

    @property
    def path(self) -> str:
        return self.entry.path

    @property
    def md5(self) -> str:
        if self._md5 is None:
            if self.entry.data is not None:
                self._md5 = hashlib.md5(self.entry.data).hexdigest()
            elif self.entry.source is None:
                self._md5 = ""  # a remote file left remote whose store reports no md5: unknown
            else:
                self._md5 = md5_local(Path(self.entry.source), self._cache)
        return self._md5


def cache_path() -> Path:
    """Beside the artifact cache: in TRITON_GITOPS_CACHE_DIR when set (tests, CI caches),
    else under $XDG_CACHE_HOME/triton-gitops."""
    explicit = os.environ.get("TRITON_GITOPS_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser() / "hashes.json"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "triton-gitops" / "hashes.json"


def _digest(path, *names) -> tuple:
    """(size, hexdigest per algorithm), streamed (compiler.artifacts.digest)."""
    return digest_path(path, *names)


def digest_file(path) -> tuple:
    """(size, sha256) of a file."""
    return _digest(path, "sha256")


class HashCache:
    """{absolute path: [size, mtime_ns, ctime_ns, inode, sha256, md5 or ""]} in one JSON file."""

    def __init__(self, path: Optional[Path] = None):
        self.path = path or cache_path()
        self.entries: dict = {}
        self.changed = False
        self._lock = threading.Lock()
        try:
            data = json.loads(self.path.read_text())
            if data.get("format") == _CACHE_FORMAT and isinstance(data.get("entries"), dict):
                self.entries = data["entries"]
        except (OSError, ValueError, AttributeError):
            pass  # no cache or a damaged one: hash again, nothing is lost

    @staticmethod
    def key(stat) -> list:
        return [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]

    def lookup(self, path: str, stat) -> Optional[list]:
        """[sha256, md5 or ""] when the file's stat key is the cached one."""
        hit = self.entries.get(path)
        if hit and hit[:4] == self.key(stat):
            return hit[4:6]
        return None

    def store(self, path: str, stat, sha256: str, md5: str = "") -> None:
        with self._lock:
            self.entries.pop(path, None)  # re-inserted last: the most recently used are kept
            self.entries[path] = self.key(stat) + [sha256, md5]
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


def _still(path: str, stat) -> bool:
    return HashCache.key(os.stat(path)) == HashCache.key(stat)


def hash_local(path: Path, cache: HashCache) -> tuple:
    """(size, sha256, md5 or None, stat key or None) of a local file, from the cache when its
    stat key matches. The key is None when the file changed while it was being read."""
    key = os.path.abspath(path)
    stat = os.stat(key)
    hit = cache.lookup(key, stat)
    if hit:
        return stat.st_size, hit[0], hit[1] or None, HashCache.key(stat)
    size, sha = digest_file(key)
    if size == stat.st_size and _still(key, stat):
        cache.store(key, stat, sha)  # only cache a digest of a file that held still
        return size, sha, None, HashCache.key(stat)
    return size, sha, None, [None]  # matches no stat: sending it will report the change


def md5_local(path: Path, cache: Optional[HashCache]) -> str:
    key = os.path.abspath(path)
    stat = os.stat(key)
    hit = cache.lookup(key, stat) if cache else None
    if hit and hit[1]:
        return hit[1]
    size, sha, md5 = _digest(key, "sha256", "md5")
    if cache is not None and size == stat.st_size and _still(key, stat):
        cache.store(key, stat, sha, md5)
    return md5


def wanted_files(tree, cache: HashCache, jobs: int = 4) -> dict:
    """{path: Want} for every entry of the tree, hashing in parallel where the cache misses."""
    def one(entry):
        if entry.data is not None:
            return Want(entry, len(entry.data), hashlib.sha256(entry.data).hexdigest())
        origin = entry.origin
        if origin is not None and origin.sha256:  # a remote file: its digests came with it (verified)
            return Want(entry, origin.size, origin.sha256, origin.md5 or None, cache)
        size, sha, md5, key = hash_local(entry.source, cache)
        return Want(entry, size, sha, md5, cache, key)

    sources = [e for e in tree.entries if e.data is None and e.origin is None]
    if len(sources) > 8 and jobs > 1:
        with ThreadPoolExecutor(max_workers=min(jobs, os.cpu_count() or 1, 8)) as pool:
            wants = list(pool.map(one, tree.entries))
    else:
        wants = [one(e) for e in tree.entries]
    return {w.path: w for w in wants}
