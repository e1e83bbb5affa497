"""The stages chained the way most commands need them: load, validate, build the tree."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from compiler.answers import PLAIN
from compiler.manifest import load_manifest


def load_and_build(manifest_path, after_load=None, results=PLAIN):
    """(LoadedManifest, Tree or None). Tree problems are located and added to the result.

    `after_load(loaded)` runs between the two stages: sync learns its target there, so that
    reading the target overlaps the hashing of the sources. `results`: answers of earlier
    runs to reuse (compiler/answers.py; the commands pass compiler.fastpath's cache)."""
    from compiler.compile.tree import build_tree

    path = Path(manifest_path)
    loaded = load_manifest(path, str(manifest_path), results)
    if loaded.manifest is None:
        return loaded, None
    if after_load is not None:
        after_load(loaded)
    # Built even when Triton's rules failed, so that problems only the tree finds (warmup
    # data that does not fit, unreadable sources) are reported in the same run.
    tree, problems = build_tree(loaded.manifest, path.name, results)
    for problem in problems:
        loaded.document.place(problem)
    loaded.problems.extend(problems)
    results.save()
    return loaded, tree if loaded.ok else None


def lock_manifest(manifest_path, check: bool = False):
    """(LoadedManifest, LockUpdate or None): models.lock as the manifest's sources are now,
    written unless `check`; None when the manifest does not build (its problems say why)."""
    from compiler.artifacts import settings
    from compiler.artifacts.lockfile import lock_entries, lock_path, render_lock, write_lock

    # The old lock is what is being replaced, so it is not checked; digests are needed, bytes
    # are not (a remote file seen before is not downloaded again just to be locked).
    with settings.using(lock=settings.LOCK_IGNORE, fetch=False):
        loaded, tree = load_and_build(manifest_path)
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
