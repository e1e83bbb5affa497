"""`plan`'s local half against an object-store target, kept as plain data (verdict.PlanVerdict).

A plan is two halves. What the target must hold: the manifest loaded and checked, the tree
built, each wanted file's size, sha256 and md5, and what is printed before the plan (the
warnings, the sources block; the sources records of the JSON). That is a function of local
inputs only, the very ones verdict.py keys its answers with. And what the target holds: its
state object and one listing, which no key here can vouch for. So for an object store the
first half is kept (against a local target verdict.py keeps the whole output, the folder
being part of its key), and a replay reads the target fresh and plans with the engine's own
code (engine.plan_only): it says what a full run would say about the target as it is now.

Kept only under verdict.py's rules (no remote source, no credential anywhere in the
manifest, no symbolic link, no racy input), and only for a target without ${VARIABLES}
(its URL as written is all there is, and is what messages show); the target is resolved
again at replay from the manifest's targets as kept, with today's environment and policy,
and must come out the same. A version file of a remote source (an `origin`) is never kept.
"""
from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Optional

from compiler.fastpath import cache_file


@dataclass
class Half:
    """A kept local half, its target resolved again: `context(early)` is the engine's Context."""

    target: object  # compiler.sync.target.Target
    rows: list  # (path, model, kind, size, sha256, md5 or None, local source or None), by path
    head: str  # text output: what the plan's own lines follow (warnings, sources block)
    sources: list  # JSON output: the "sources" records
    manifest_name: str
    settings: object  # this run's (compiler.artifacts.settings.Settings)
    notes: list = field(default_factory=list)  # (key, text) of compiler.notes, as verdict.py keeps them

    def context(self, early):
        """engine.Context of these wanted files and target; `early` (the prefetch helper, or None)
        is sent the target, as the engine's own preparation does."""
        from compiler.artifacts.cache import Cache  # noqa: PLC0415 - a replay's only: what keeps the sync stage light for others
        from compiler.compile.tree import Entry  # noqa: PLC0415 - see above
        from compiler.sync import engine  # noqa: PLC0415 - see above
        from compiler.sync.hashing import Want  # noqa: PLC0415 - see above

        engine.quiet_libraries()  # as engine.prepare does: the SDKs' log records stay off stderr
        if early is not None:
            early.send(self.target)
        cache = Cache(self.settings.cache_root)
        wants = {}
        for path, model, kind, size, sha256, md5, source in self.rows:
            # The source is read only to work out an md5 not known yet (a plan sends nothing):
            # 20,000 Path objects cost ~0.15 s, so only those that may be read get one.
            local = Path(source) if source is not None and md5 is None else None
            entry = Entry(path, model, kind, size, source=local, sha256=sha256)
            wants[path] = Want(entry, size, sha256, md5, cache)
        hashing: Future = Future()
        hashing.set_result(wants)
        # plan_only reads the target, the wanted files and the cache only: no manifest, no tree.
        return engine.Context(None, None, self.target, hashing, cache, set(),
                              self.manifest_name, self.settings, early)


def fields(manifest, ctx, head: str, sources: list) -> Optional[dict]:
    """What a later run keeps of this one's local half (ctx: its engine.Context), or None when
    it must not be kept."""
    target = ctx.target
    if target.local or target.values or cache_file.may_hold_credentials(target.written):
        return None
    rows = []
    for path, want in ctx.wants.items():
        entry = want.entry
        if entry.origin is not None:
            return None  # a remote source's file: never kept (the manifest is not, either)
        # Generated content: its md5 now (a few hundred bytes); a local file's only if known
        # (working it out reads the file; a replay asks the hash index, as a full run would).
        md5 = want.md5 if entry.data is not None else want.known_md5
        rows.append((path, entry.model, entry.kind, want.size, want.sha256, md5,
                     None if entry.data is not None else str(entry.source)))
    return {"half": {"targets": [(spec.name, spec.url) for spec in manifest.targets.values()],
                     "target": (target.name, target.written), "manifest_name": Path(manifest.path).name,
                     "rows": rows, "head": head, "sources": sources}}


def half_of(entry: dict, requested, settings) -> Optional[Half]:
    """The kept half, its target resolved again for `requested` (--target); None when the target
    comes out otherwise today (another variable, policy or environment) or is no object store."""
    from compiler.model import TargetSpec  # noqa: PLC0415 - a replay's only
    from compiler.sync.target import resolve_target  # noqa: PLC0415 - a replay's only

    kept = entry["half"]
    targets = {str(name): TargetSpec(str(name), str(url)) for name, url in kept["targets"]}
    stand_in = SimpleNamespace(targets=targets, path=Path(str(kept["manifest_name"])), root=None)
    try:
        target = resolve_target(stand_in, requested, settings.policy, timeout=settings.storage_timeout)
    except Exception:  # noqa: BLE001 - the full run explains it
        return None
    if target.local or target.values or [target.name, target.written] != list(kept["target"]):
        return None
    return Half(target, list(kept["rows"]), str(kept["head"]), list(kept["sources"]), str(kept["manifest_name"]),
                settings)
