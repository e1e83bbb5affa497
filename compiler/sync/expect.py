"""A guess, before the target answers, of whether this sync will write anything.

When the prefetch helper (prefetch.py) reads the target, this process has not imported the
storage SDK. A plan with work is carried out by the helper (compiler/fastpath/handover.py),
except a promotion (--from-target), which this process writes: it then imports the SDK
(~0.2 s) and creates a client, best while the helper works. Guessing early allows that, and
the guess is cheap: the digest of the wanted files (paths and sha256) is remembered, per
target, whenever a run leaves that target with nothing to do; the same digest next time
means "probably nothing to do again" (a no-op, a fresh checkout), another one (an edit, a
new target) means "work ahead". A wrong guess costs time only: what is sent is decided by
the plan, as always.

Kept in `sync-targets.json` beside the hash index (the artifact cache folder), keyed by a
hash of the target's URL and endpoint, so that no URL (or its query) is written down.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from compiler.storage.files import stat_key, write_atomic

_LIMIT = 1000  # targets remembered; the oldest are dropped first


def _file(cache_root: Path) -> Path:
    return cache_root / "index" / "sync-targets.json"


def _key(target) -> str:
    return hashlib.sha256(f"{target.url}\n{target.endpoint}".encode()).hexdigest()[:32]


def wanted_digest(wants: dict) -> str:
    digest = hashlib.sha256()
    for path in sorted(wants):
        digest.update(f"{path}\0{wants[path].sha256}\n".encode())
    return digest.hexdigest()


def _read(cache_root: Path) -> dict:
    try:
        data = json.loads(_file(cache_root).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def likely_done(target, wants: dict, cache_root: Path) -> bool:
    """Did a run leave this target holding these very files, with nothing left to do?"""
    return _read(cache_root).get(_key(target)) == wanted_digest(wants)


def remember_done(target, wants: dict, cache_root: Path) -> None:
    """This run leaves the target with nothing to do for these wanted files."""
    _remember_sources(target, wants, cache_root)
    known = _read(cache_root)
    key, digest = _key(target), wanted_digest(wants)
    if known.get(key) == digest:
        return
    known.pop(key, None)
    known[key] = digest
    if len(known) > _LIMIT:
        known = dict(list(known.items())[-_LIMIT:])
    path = _file(cache_root)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(known))
    except OSError:
        pass  # a read-only cache: the guess is only ever "work ahead"


# The local files behind the wanted files of the last run that left a target done, with their
# stat keys (compiler/storage/files.stat_key): read before the manifest is loaded, they
# tell "a few sources changed since" (an edit: work ahead, almost surely) from "none changed"
# (a no-op) and "all changed" (a fresh checkout: new inodes, most likely the same content).
# The prefetch helper imports the storage SDK early on the first only, and only when a changed
# file is too big for the write without the SDK (compiler/fastpath/prefetch.py, s3_store.py).


def _sources_file(target, cache_root: Path) -> Path:
    return cache_root / "index" / f"sync-sources-{_key(target)}.json"


def _remember_sources(target, wants: dict, cache_root: Path) -> None:
    sources = sorted([str(want.entry.source), *want.key] for want in wants.values()
                     if getattr(want, "key", None) is not None and getattr(want.entry, "source", None) is not None)
    if not sources:  # a run that knows no stat keys (plan's replayed local half) has nothing to say
        return
    path = _sources_file(target, cache_root)
    text = json.dumps(sources)
    try:
        if path.exists() and path.read_text() == text:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, text)
    except OSError:
        pass  # a read-only cache: no early guess


def few_sources_changed(target, cache_root: Path, larger_than: int = -1) -> bool:
    """Did some, but not all, of the local sources of the last run that left `target` done change
    (stat key) since, one of them now larger than `larger_than` bytes? False when unknown."""
    try:
        sources = json.loads(_sources_file(target, cache_root).read_text())
    except (OSError, ValueError):
        return False
    changed, largest = 0, -1
    for path, *key in sources if isinstance(sources, list) else ():
        try:
            stat = os.stat(path)
        except (OSError, TypeError, ValueError):
            changed, largest = changed + 1, max(largest, 0)
            continue
        if stat_key(stat) != key:
            changed += 1
            largest = max(largest, stat.st_size)
    return 0 < changed < len(sources) and largest > larger_than
