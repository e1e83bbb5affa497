"""Compare what the target must hold with what we wrote (the state) and what is there (a listing).

Three sources, because each alone lies: the manifest says what should be there, the
state says what we put there last time (so a file we never wrote is never ours to
delete), and the listing says what is there now (so a hand edit or deletion is drift,
repaired on the next sync). Nothing here touches the target.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

from compiler.manifest.variants import is_config_path
from compiler.sync.state import Record

if TYPE_CHECKING:  # for annotations only: never imported at run time
    from compiler.sync.hashing import Want

CREATE, UPDATE, REPAIR, DELETE = "create", "update", "repair", "delete"
# The reason of an update that would replace a foreign file (guard.py refuses it without the flag).
NOT_OURS = "not written by triton-gitops (sync replaces it only with --overwrite-unmanaged)"


@dataclass
class Change:
    action: str  # create | update | repair | delete
    path: str
    size: int
    reason: str = ""
    want: Optional[Want] = None  # for everything but deletes
    skipped: bool = False  # a delete that needs --prune, or (drift) one prune leaves alone
    drift: bool = False  # a file we wrote, dropped by the manifest, changed on the target since: never deleted
    method: str = ""  # how a file reaches the target: "server-side" (copied within the store) or "upload"
    origin: object = None  # artifacts Origin to copy from, when another target holds it (promote.py)

    @property
    def model(self) -> str:
        return self.path.split("/", 1)[0]

    @property
    def version(self) -> str:
        """The version folder this file sits in, "" if none."""
        parts = self.path.split("/")
        return parts[1] if len(parts) > 2 and parts[1].isdigit() else ""

    @property
    def kind(self) -> str:
        if self.want is not None:
            return self.want.entry.kind
        return "config" if is_config_path(self.path) else "file"


@dataclass
class Plan:
    changes: list = field(default_factory=list)  # sorted by path
    adopt: dict = field(default_factory=dict)  # path -> Record: right on the target, not (yet) in the state
    forget: list = field(default_factory=list)  # in the state, gone from target and manifest
    unmanaged: list = field(default_factory=list)  # on the target, never written by us: left alone
    leftovers: list = field(default_factory=list)  # temporary names of an interrupted sync
    new_models: set = field(default_factory=set)  # no file of theirs on the target yet
    removed_models: set = field(default_factory=set)  # in the state, not in the manifest
    new_versions: set = field(default_factory=set)  # (model, version) with no file on the target yet
    # (model, version) folders on the target of which two or more files change: Triton must not
    # load them half changed (local.py swaps the folder whole, pinning.py pins it out).
    changed_versions: set = field(default_factory=set)
    # (model, version) folders of a model that stays, which prune empties or trims in two or more
    # deletes (with or without uploads): on object stores the files go one by one, so a config
    # still serving the folder must not be in force meanwhile (pinning.py; apply.py step 4).
    pruned_versions: set = field(default_factory=set)
    gone_versions: set = field(default_factory=set)  # those of them the manifest keeps no file of
    # For models that get a new version: {model: {version: all its wanted files listed?}} of the
    # version folders on the target now, and the wanted config (pinning.py needs both).
    target_versions: dict = field(default_factory=dict)
    config_wants: dict = field(default_factory=dict)  # {model: {config path: Want}}
    state_damaged: str = ""
    links: list = field(default_factory=list)  # local: links at or above a wanted or recorded path

    @property
    def active(self) -> list:
        return [c for c in self.changes if not c.skipped]

    @property
    def skipped(self) -> list:
        return [c for c in self.changes if c.skipped]

    @property
    def drifted(self) -> list:
        """Deletes prune will not do: the file's content is no longer what triton-gitops wrote."""
        return [c for c in self.changes if c.drift]

    @property
    def in_sync(self) -> bool:
        """The target's files equal the manifest's (deletions without --prune still count as different)."""
        return not self.changes

    @property
    def needs_write(self) -> bool:
        """A sync has something to do: transfers, deletions, or only the state to bring up to date."""
        return bool(self.active or self.adopt or self.forget or self.leftovers)

    def counts(self) -> Counter:
        counts = Counter(c.action for c in self.active)
        counts["skipped"] = len([c for c in self.skipped if not c.drift])
        counts["drift"] = len(self.drifted)
        return counts

    def by_model(self) -> dict:
        models: dict = {}
        for change in self.changes:
            key = "drift" if change.drift else DELETE + "-skipped" if change.skipped else change.action
            models.setdefault(change.model, Counter())[key] += 1
        return models

    def model_status(self, model: str) -> str:
        if model in self.new_models:
            return "new"
        if model in self.removed_models:
            return "removed"
        return "changed"


def _intact(remote, record: Record, rehash) -> bool:
    """Is the target's file still the one we wrote? Cheap checks first, content last."""
    if remote.size != record.size:
        return False
    if record.stamp and remote.stamp == record.stamp:
        return True
    if remote.md5 and record.md5:
        return remote.md5 == record.md5
    if rehash is not None:  # local disk: stamp moved (touch, copy back); the content decides
        return rehash(record.size) == record.sha256
    return False  # an opaque stamp changed: someone rewrote it; rewriting it back is cheap


def _matches(remote, want, rehash) -> bool:
    """Does a file we have no (verified) record of already hold the wanted content?"""
    if remote.size != want.size:
        return False
    if remote.md5:
        return remote.md5 == want.md5
    return rehash is not None and rehash(want.size) == want.sha256


def make_plan(wants: dict, state, listing, prune: bool, rehash_for=None, read_for=None) -> Plan:
    """`rehash_for(path)` returns a function hashing the target's copy (local targets), else None.
    `read_for(path)` likewise for a file the manifest dropped, on any target: before prune deletes
    one whose stamp and md5 cannot tell (a pending upload, an S3 multipart ETag), its content is
    read and compared, since a file replaced by hand is never deleted."""
    plan = Plan(leftovers=list(listing.leftovers), state_damaged=state.damaged)
    present = listing.files
    for path, want in wants.items():
        record, remote = state.files.get(path), present.get(path)
        rehash = rehash_for(path) if rehash_for else None
        if remote is None:
            if record is not None and not record.pending and record.sha256 == want.sha256:
                plan.changes.append(Change(REPAIR, path, want.size, "deleted on the target", want))
            else:
                plan.changes.append(Change(CREATE, path, want.size, "", want))
        elif record is None or record.pending:
            if _matches(remote, want, rehash):
                plan.adopt[path] = Record(want.size, want.sha256, want.md5, remote.stamp)
            else:
                why = "left unfinished by an interrupted sync" if record else NOT_OURS
                plan.changes.append(Change(UPDATE, path, want.size, why, want))
        elif record.sha256 != want.sha256:
            plan.changes.append(Change(UPDATE, path, want.size, "", want))
        elif not _intact(remote, record, rehash):
            plan.changes.append(Change(REPAIR, path, want.size, "changed on the target", want))
        elif remote.stamp != record.stamp:
            plan.adopt[path] = Record(record.size, record.sha256, record.md5, remote.stamp)  # touched only
    for path, record in state.files.items():
        if path in wants:
            continue
        if path not in present:
            plan.forget.append(path)
            continue
        remote = present[path]
        reader = read_for or rehash_for
        if not _intact(remote, record, reader(path) if reader else None):
            # Replaced by hand (or never finished): not ours to delete any more. Reported, kept,
            # and still listed in the state, so every run says so until someone decides.
            plan.changes.append(Change(DELETE, path, remote.size, "changed on the target since triton-gitops "
                                       "wrote it: prune leaves it (drift)", skipped=True, drift=True))
            continue
        plan.changes.append(Change(DELETE, path, remote.size, "" if prune else "needs --prune", skipped=not prune))
    plan.unmanaged = sorted(p for p in present if p not in wants and p not in state.files)
    for link in getattr(listing, "links", ()):
        below = link + "/"
        if link in wants or link in state.files or any(p.startswith(below) for p in (*wants, *state.files)):
            plan.links.append(link)
    plan.changes.sort(key=lambda c: c.path)
    wanted_models = {path.split("/", 1)[0] for path in wants}
    listed_models = {path.split("/", 1)[0] for path in present}
    plan.new_models = wanted_models - listed_models
    plan.removed_models = {path.split("/", 1)[0] for path in state.files} - wanted_models
    listed_versions = {tuple(path.split("/", 2)[:2]) for path in present}
    for change in plan.active:
        if (change.action != DELETE and change.version and change.model not in plan.new_models
                and (change.model, change.version) not in listed_versions):
            plan.new_versions.add((change.model, change.version))
    per_version = Counter((c.model, c.version) for c in plan.active if c.action != DELETE and c.version)
    plan.changed_versions = {mv for mv, n in per_version.items()
                             if n > 1 and mv in listed_versions and mv[0] not in plan.new_models}
    every = Counter((c.model, c.version) for c in plan.active if c.version)
    trimmed = {(c.model, c.version) for c in plan.active if c.action == DELETE and c.version}
    plan.pruned_versions = {mv for mv in trimmed if every[mv] > 1 and mv[0] not in plan.removed_models}
    wanted_versions = {tuple(path.split("/", 2)[:2]) for path in wants if path.count("/") >= 2}
    plan.gone_versions = plan.pruned_versions - wanted_versions
    growing = {model for model, _ in plan.new_versions | plan.changed_versions | plan.pruned_versions}
    missing = {(c.model, c.version) for c in plan.active if c.version and c.action != DELETE and c.path not in present}
    for path in present:
        parts = path.split("/")
        if len(parts) > 2 and parts[0] in growing and parts[1].isdigit():
            complete = (parts[0], parts[1]) not in missing
            plan.target_versions.setdefault(parts[0], {})[parts[1]] = complete
    for model in growing:
        plan.target_versions.setdefault(model, {})
    # Each config a server may load (config.pbtxt, or a variant under --model-config-name).
    for path, want in wants.items():
        model = path.split("/", 1)[0]
        if model in growing and is_config_path(path):
            plan.config_wants.setdefault(model, {})[path] = want
    return plan
