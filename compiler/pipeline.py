"""The stages chained the way most commands need them: load, validate, build the tree."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from compiler.answers import PLAIN
from compiler.artifacts.lockfile import lock_entries, lock_path, render_lock, write_lock
from compiler.artifacts.settings import LOCK_IGNORE, Settings
from compiler.compile.tree import build_tree
from compiler.manifest import LoadedManifest, load_manifest

if TYPE_CHECKING:  # for annotations only: never imported at run time
    from compiler.artifacts.cache import Cache


def load(manifest_path, settings: Settings, results=PLAIN) -> LoadedManifest:
    """The manifest read and checked against the schema, Triton's rules and the storage policy
    of `settings` (no source is read)."""
    return load_manifest(Path(manifest_path), str(manifest_path), results, settings.policy)


def build(loaded: LoadedManifest, settings: Settings, after_load=None, results=PLAIN,
          cache: Optional[Cache] = None):
    """The Tree of a loaded manifest, or None when it has problems (those the tree finds are
    located and added to `loaded`). `settings`: how the artifacts stage treats the sources;
    `cache`: the run's download cache, when a later stage reads its index too (sync).

    `after_load(loaded)` runs before the tree is built: sync learns its target there, so that
    reading the target overlaps the hashing of the sources. `results`: answers of earlier
    runs to reuse (compiler/answers.py; the commands pass compiler.fastpath's cache)."""
    if loaded.manifest is None:
        return None
    if after_load is not None:
        after_load(loaded)
    # Built even when Triton's rules failed, so that problems only the tree finds (warmup
    # data that does not fit, unreadable sources) are reported in the same run.
    tree, problems = build_tree(loaded.manifest, settings, Path(loaded.manifest.path).name, results, cache)
    for problem in problems:
        loaded.document.place(problem)
    loaded.problems.extend(problems)
    results.save()
    return tree if loaded.ok else None


def load_and_build(manifest_path, settings: Settings, after_load=None, results=PLAIN,
                   cache: Optional[Cache] = None):
    """(LoadedManifest, Tree or None): `load`, then `build`."""
    loaded = load(manifest_path, settings, results)
    return loaded, build(loaded, settings, after_load, results, cache)


def lock_manifest(manifest_path, settings: Settings, check: bool = False):
    """(LoadedManifest, LockUpdate or None): models.lock as the manifest's sources are now,
    written unless `check`; None when the manifest does not build (its problems say why)."""
    # The old lock is what is being replaced, so it is not checked; digests are needed, bytes
    # are not (a remote file seen before is not downloaded again just to be locked).
    loaded, tree = load_and_build(manifest_path, replace(settings, lock=LOCK_IGNORE, fetch=False))
    if tree is None:
        return loaded, None
    path = lock_path(manifest_path)
    entries = lock_entries(loaded.manifest)
    text = render_lock(Path(manifest_path).name, entries)
    try:
        current = path.read_text(encoding="utf-8")
    except OSError:
        current = None
    changed = current != text
    if changed and not check:
        write_lock(path, text)
    return loaded, LockUpdate(path, len(entries), changed, written=changed and not check)


@dataclass(frozen=True)
class LockUpdate:
    path: Path
    sources: int  # version sources locked
    changed: bool  # models.lock differs (or differed) from the manifest's sources
    written: bool
