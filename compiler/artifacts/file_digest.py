"""The digest (and, where needed, local bytes) of one artifact file, doing as little as possible.

A local file is hashed once; later runs (and the sync, in the same run) find its digest in
the cache's local index for as long as its stat key (size, mtime, ctime, inode, device) is
unchanged, unless it was hashed within RACY_SECONDS of its last change (git's racy rule,
compiler/storage/files.py): then only the run that hashed it uses the digest, and the next
run hashes it again, until its stamps are old enough to vouch for it. A big file that git
checked out from a Git LFS pointer and vouches for as unmodified takes its sha256 from the
pointer instead of being read (lfs_digest.py). A remote file whose store
stamp was seen before is not read again: its digest comes from the remote index and its
bytes, when needed, from the content-addressed blob. Everything else is downloaded once.
"""
from __future__ import annotations

import os
import time
from dataclasses import replace
from typing import Optional
from urllib.parse import urlsplit, urlunsplit

from compiler.artifacts import lfs_digest
from compiler.artifacts.fetch import Mismatch, download
from compiler.storage.files import md5_file, racy, sha256_file, stamp_ns, stat_key

REMOTE = "remote"


def recorded_digests(cache, path: str, stat, want_md5: bool = False) -> Optional[tuple]:
    """(sha256, md5 or "") from the index when the file's stat key is the recorded one."""
    record = cache.local_record(path)
    if record and record[:5] == stat_key(stat) and record[5] and (record[6] or not want_md5):
        return record[5], record[6]
    return None


def digest_local(cache, path, want_md5: bool = False) -> tuple:
    """(sha256, md5 or "", stat key) of a local file: from the index while its stat key still
    matches, else from its Git LFS pointer when git vouches for the file, else read (md5 only
    when asked, and always read: it is slower than sha256). The key is None when the file
    changed while it was read (then nothing is recorded, and the digest belongs to no stat
    anyone will see again). A digest taken while the file's stamps were racy (storage/files.py:
    written within RACY_SECONDS of the stat) serves this run only: a same-tick rewrite would
    keep its stat key. The one place a local file's sha256 is taken."""
    key = os.path.abspath(path)
    moment = time.time_ns()  # before the stat: a write after it must not be able to keep the stamps
    stat = os.stat(key)
    known = recorded_digests(cache, key, stat, want_md5)
    if known:
        return known[0], known[1], stat_key(stat)
    record = cache.local_record(key)
    sha = record[5] if record and record[:5] == stat_key(stat) else ""  # then only the md5 is missing
    sha = sha or lfs_digest.pointer_sha256(key, stat) or sha256_file(key)
    md5 = md5_file(key) if want_md5 else ""
    if stat_key(os.stat(key)) == stat_key(stat):  # only remember a digest of a file that held still
        cache.set_local_record(key, stat_key(stat) + [sha, md5], keep=not racy(stamp_ns(stat), moment))
        return sha, md5, stat_key(stat)
    return sha, md5, None


def local_digests(cache, path, want_md5: bool = False) -> tuple:
    """(sha256, md5 or "") of a local file, from the index when its stat key still matches."""
    return digest_local(cache, path, want_md5)[:2]


def _remote_key(origin) -> str:
    """The URL without its query (signed URLs change on every signing; the object does not),
    plus the store's stamp and size: a rewrite of the object gives a new key."""
    parts = urlsplit(origin.url)
    return "\n".join([urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), origin.stamp,
                      str(origin.size)])


def recall(cache, origin) -> str:
    """The sha256 recorded for this very object version, or ""."""
    if not origin.stamp:
        return ""  # nothing tells us the object is the one we saw: never trust a record
    record = cache.lookup(REMOTE, _remote_key(origin))
    return record.get("sha256", "") if record else ""


def remote_file(cache, filesystems, item, expected: str, need_bytes: bool, need_digest: bool, label: str):
    """Fill `item` (an ArtifactFile with an origin): sha256 and, if `need_bytes`, `local` (a blob).

    Raises Mismatch when the bytes are not `expected`, without caching them.
    """
    origin = item.origin
    sha = recall(cache, origin)
    if sha and expected and sha != expected:
        raise Mismatch(label, expected, sha)  # the very bytes we hashed before: no need to read again
    if sha:
        blob = cache.has(sha, origin.size) if need_bytes else None
        if blob is not None or not need_bytes:
            return _known(item, sha, blob)
    elif not (need_bytes or need_digest):
        return item  # stays remote and unhashed: sync may copy it server-side
    fs, _ = filesystems.get(origin.url, origin.storage_options)
    blob, sha = download(fs, origin, cache, expected=expected, label=label)
    if origin.stamp:
        cache.remember(REMOTE, _remote_key(origin), sha256=sha, size=origin.size)
    item.fetched = True
    return _known(item, sha, blob)


def _known(item, sha: str, blob):
    # The origin travels on the tree's entries to sync: it carries the digest with it.
    item.sha256, item.local, item.origin = sha, blob, replace(item.origin, sha256=sha)
    return item
