"""Content digests of what a sync would write, from the one local index, so a no-op reads no file.

Change detection is by content: sha256, which is what the state records. Stores report
md5 instead (S3 single-part ETags, GCS md5Hash, Azure Content-MD5), so an md5 is worked
out too, but only for files that need one (sent, or compared with a store's md5): md5 is
slower than sha256, and a fresh checkout must re-read every file.

Digests of local files live in the artifact cache's local index (compiler.artifacts.cache),
keyed like git's index by path, size, mtime_ns, ctime_ns, inode and device. ctime is in the
key because nothing can set it back: an edit that keeps size and mtime (`touch -r`) still
changes ctime, so it is still caught; a fresh checkout changes them all, so it is re-hashed
(and then moves nothing). Version files were already hashed by the artifacts stage of this
very run (the engine hands the same `Cache` to both), so here they are a stat and a lookup. A version file
from a remote source brings its digests along (`Entry.origin`): it is not read here, and may
not even be on this machine.
"""
from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

from compiler.artifacts.file_digest import digest_local, recorded_digests
from compiler.storage.files import stat_key


class Want:
    """One file the target must hold: its entry, size, sha256, and md5 when first asked for."""

    __slots__ = ("_md5", "cache", "entry", "key", "sha256", "size")

    def __init__(self, entry, size: int, sha256: str, md5: Optional[str] = None, cache=None, key=None):
        self.entry, self.size, self.sha256, self._md5, self.cache = entry, size, sha256, md5, cache
        self.key = key  # the source's stat key when hashed: if it still matches, so does the content

    def unchanged(self, stat) -> bool:
        """Is the source, as `stat` shows it now, the file that was hashed?"""
        return self.key is None or stat_key(stat) == self.key

    @property
    def path(self) -> str:
        return self.entry.path

    @property
    def known_md5(self) -> Optional[str]:
        """The md5 if worked out already, else None (asking `md5` may read the whole file)."""
        return self._md5

    @property
    def md5(self) -> str:
        if self._md5 is None:
            if self.entry.data is not None:
                self._md5 = hashlib.md5(self.entry.data).hexdigest()
            elif self.entry.source is None:
                self._md5 = ""  # a remote file left remote whose store reports no md5: unknown
            else:
                self._md5 = digest_local(self.cache, self.entry.source, want_md5=True)[1]
        return self._md5


def hash_local(path, cache) -> tuple:
    """(size, sha256, md5 or None, stat key) of a local file, from the index when its stat key
    matches. The key is [None] (matching no stat) when the file changed while it was read:
    sending it will then report the change."""
    sha, md5, key = digest_local(cache, path)
    if key is None:
        return os.stat(path).st_size, sha, None, [None]
    return key[0], sha, md5 or None, key


def _known(entry, cache) -> bool:
    """Cheap to settle on this thread: generated content, a remote file's digest, or an index hit."""
    if entry.data is not None or entry.origin is not None:
        return True
    try:
        path = os.path.abspath(entry.source)
        return recorded_digests(cache, path, os.stat(path)) is not None
    except OSError:
        return True  # fails the same way below, on this thread


def wanted_files(tree, cache, jobs: int = 4) -> dict:
    """{path: Want} for every entry of the tree; files the index does not know are hashed in
    parallel (hashlib lets go of the GIL). `cache`: the run's Cache, whose index the artifacts
    stage filled."""

    def one(entry):
        if entry.data is not None:
            return Want(entry, len(entry.data), hashlib.sha256(entry.data).hexdigest(), cache=cache)
        origin = entry.origin
        if origin is not None and origin.sha256:  # a remote file: its digests came with it (verified)
            return Want(entry, origin.size, origin.sha256, origin.md5 or None, cache)
        size, sha, md5, key = hash_local(entry.source, cache)
        return Want(entry, size, sha, md5, cache, key)

    here: list = []
    pooled: list = []
    for entry in tree.entries:
        (here if _known(entry, cache) else pooled).append(entry)
    wants = [one(e) for e in here]
    if len(pooled) > 1 and jobs > 1:
        with ThreadPoolExecutor(max_workers=min(jobs, len(pooled), 8)) as pool:
            wants += pool.map(one, pooled)
    else:
        wants += [one(e) for e in pooled]
    return {w.path: w for w in sorted(wants, key=lambda w: w.path)}
