"""Resolve every version source of a manifest before the tree is built.

For each version: list the source (local walk, or one HEAD/LIST on its store), get every
file's sha256 (index, cache or a download, in parallel), then check the `sha256:` pin and
`models.lock`, look for Git LFS pointers, and fill in the checksum agent's MD5 parameters.
The result is stored on the version (`VersionSpec.artifact`) for the tree, the plan and
`lock`; problems come back with document paths so they point at the manifest line.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Optional

from compiler.artifacts.cache import Cache
from compiler.artifacts.checksum import add_md5_parameters, checksum_agent, cloud_target_warnings
from compiler.artifacts.digest import folder_digest
from compiler.artifacts.fetch import Mismatch, in_parallel
from compiler.artifacts.file_digest import local_digests, recorded_digests, remote_file
from compiler.artifacts.lfs import pointer_problem
from compiler.artifacts.lockfile import differences, key_of, lock_path, read_lock
from compiler.artifacts.settings import LOCK_IGNORE, LOCK_STRICT, Settings
from compiler.artifacts.source import FILE, list_local, list_remote
from compiler.errors import ERROR, WARNING, FatalError, Problem
from compiler.storage import destinations
from compiler.storage.env import expand
from compiler.storage.lfs_pointer import pointer_size
from compiler.storage.stores import Filesystems
from compiler.storage.urls import redact_url


@dataclass
class Artifact:
    """A resolved version source: what the tree copies and what the plan and lock show."""

    source: str  # as written in the manifest
    kind: str  # file | folder
    files: list = field(default_factory=list)  # [ArtifactFile], sorted by path
    digest: str = ""  # sha256 of the file, or the folder digest; "" when not computed (lazy sync)
    remote: bool = False
    pinned: bool = False
    lock_state: str = ""  # "" (no lock), ok, drift, missing

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def downloaded(self) -> int:
        return sum(1 for f in self.files if f.fetched)


def _label(item, root) -> str:
    """How messages name one file: its URL, or its path from the manifest's folder."""
    if item.origin is not None:
        return redact_url(item.origin.url)
    path = os.path.abspath(item.local)
    inside = path.startswith(os.path.join(os.path.abspath(root), ""))
    return os.path.relpath(path, root) if inside else path


class _Run:
    def __init__(self, manifest, settings: Settings, cache: Optional[Cache]):
        self.manifest, self.settings = manifest, settings
        self.cache = cache if cache is not None else Cache(settings.cache_root)
        self.filesystems = Filesystems(settings.storage_timeout)
        self.policy = settings.policy
        self.lock = None if settings.lock == LOCK_IGNORE else read_lock(lock_path(manifest.path))
        self.strict = settings.lock == LOCK_STRICT
        self.problems: list = []

    def lock_entry(self, model, version):
        return None if self.lock is None else self.lock.get(key_of(model.name, version.number))

    # -- listing ---------------------------------------------------------------------------
    def list(self, pair):
        _model, version = pair
        problems: list = []
        doc_path = version.doc_path + ("source",)
        if version.remote:
            # Checked when the manifest was built; again here, right before the first request.
            problems.extend(destinations.check(version.source, version.storage_options, version.doc_path,
                                               self.policy, "source"))
            options = expand(dict(version.storage_options), version.doc_path + ("storage_options",), problems,
                             self.policy, rule="source-env")
            kind, files = (None, []) if problems else list_remote(version.source, options, self.filesystems,
                                                                  doc_path, problems)
        elif version.local_path is not None and version.local_path.exists():
            kind, files = list_local(version.local_path, doc_path, problems)
        else:
            kind, files = None, []  # missing local sources were reported while building the manifest
        return kind, files, problems

    # -- digests ---------------------------------------------------------------------------
    def known(self, task) -> bool:
        """A local file whose digests the index holds: cheaper looked up here than in a pool.
        Everything else is read or fetched on threads (hashlib and network waits let go of the
        GIL), so a fresh checkout hashes on every core."""
        item = task[3]
        if item.origin is not None:
            return False
        try:
            path = os.path.abspath(item.local)
            known = recorded_digests(self.cache, path, os.stat(path), want_md5=task[4] == "md5")
        except OSError:
            return True  # unreadable: reported from the calling thread, no pool needed
        if known is not None:
            item.sha256, item.md5 = known  # what `digest` would look up again a moment later
        return known is not None

    def expectation(self, model, version, kind, item) -> str:
        """The sha256 one file must have ("" if nothing says): the pin, else with --locked the lock."""
        if kind == FILE and version.sha256:
            return version.sha256
        entry = self.lock_entry(model, version)
        if self.strict and entry is not None and entry.source == version.source and entry.kind == kind:
            return entry.sha256 if kind == FILE else entry.files.get(item.rel, "")
        return ""

    def digest(self, task):
        model, version, kind, item, need_bytes = task
        expected = self.expectation(model, version, kind, item)
        if item.origin is None:
            if not item.sha256:  # else `known` found it in the index
                item.sha256, item.md5 = local_digests(self.cache, item.local, want_md5=need_bytes == "md5")
            if expected and item.sha256 != expected:
                raise Mismatch(_label(item, self.manifest.root), expected, item.sha256)
            return item
        need_digest = bool(version.sha256 or self.lock_entry(model, version) is not None
                           or self.settings.lock == LOCK_IGNORE or self.settings.digests)
        return remote_file(self.cache, self.filesystems, item, expected, bool(need_bytes), need_digest,
                           _label(item, self.manifest.root))

    # -- checks ----------------------------------------------------------------------------
    def mismatch_problem(self, model, version, exc: Mismatch, kind) -> Problem:
        if kind == FILE and version.sha256:  # the pin is what a single file is checked against first
            return Problem(f"{exc.label}: sha256 is {exc.actual}, but the manifest pins {exc.expected}",
                           "source-digest-mismatch", version.doc_path + ("sha256",),
                           hint="if the new bytes are intended, update sha256 (and run `triton-gitops lock`)")
        return Problem(f"{exc.label}: sha256 is {exc.actual}, models.lock has {exc.expected}", "lock-mismatch",
                       version.doc_path + ("source",),
                       hint="run `triton-gitops lock` to accept the new bytes (and review its diff)")

    def check(self, model, version, artifact) -> None:
        doc_path = version.doc_path + ("source",)
        files = artifact.files
        if all(f.sha256 for f in files):
            artifact.digest = files[0].sha256 if artifact.kind == FILE else \
                folder_digest((f.rel, f.sha256) for f in files)
        if version.sha256 and artifact.digest and artifact.digest != version.sha256:
            what = f"{version.source!r}" if artifact.kind != FILE else _label(files[0], self.manifest.root)
            self.problems.append(Problem(
                f"{artifact.kind} {what}: sha256 is {artifact.digest}, but the manifest pins {version.sha256}",
                "source-digest-mismatch", version.doc_path + ("sha256",),
                hint="if the new bytes are intended, update sha256 (folder digest: see README, Model artifacts)"))
        artifact.pinned = bool(version.sha256)
        self.check_lock(model, version, artifact, doc_path)
        sized = [(f, pointer_size(f.local, f.size)) for f in files if f.local is not None]
        pointers = [(f.local, _label(f, self.manifest.root), real) for f, real in sized if real is not None]
        if pointers:
            self.problems.append(pointer_problem(pointers, redact_url(version.source), doc_path, version.remote))

    def check_lock(self, model, version, artifact, doc_path) -> None:
        if self.lock is None:
            return
        severity = ERROR if self.strict else WARNING
        entry = self.lock_entry(model, version)
        if entry is None:
            artifact.lock_state = "missing"
            self.problems.append(Problem(f"{key_of(model.name, version.number)} is not in models.lock",
                                         "lock-missing", doc_path, severity=severity,
                                         hint="run `triton-gitops lock` and commit models.lock"))
            return
        found = differences(entry, version.source, artifact.kind, artifact.digest,
                            {f.rel: f.sha256 for f in artifact.files})
        artifact.lock_state = "drift" if found else "ok"
        if found:
            self.problems.append(Problem(f"{redact_url(version.source)} no longer matches models.lock: "
                                         + "; ".join(found), "lock-mismatch", doc_path, severity=severity,
                                         hint="run `triton-gitops lock` to accept the change (and review its diff)"))

    def stale_lock_entries(self, keys) -> None:
        if self.lock is None:
            if self.strict:
                self.problems.append(Problem(f"--locked, but there is no {lock_path(self.manifest.path).name} next "
                                             "to the manifest", "lock-missing", (),
                                             hint="run `triton-gitops lock` and commit the file"))
            return
        for key in sorted(set(self.lock) - set(keys)):
            self.problems.append(Problem(f"models.lock has {key}, which the manifest no longer has", "lock-stale", (),
                                         severity=ERROR if self.strict else WARNING,
                                         hint="run `triton-gitops lock` to drop it"))


def resolve_versions(manifest, settings: Settings, cache: Optional[Cache] = None) -> list:
    """Resolve every version (in place: `version.artifact`); returns problems with document paths.

    `cache`: the run's download cache and hash index, when a later stage reads it too (sync
    hashes the tree against the same index in memory); else one is opened for this call."""
    run = _Run(manifest, settings, cache)
    try:
        return _resolve(run, manifest)
    finally:
        run.cache.save()  # the digests learnt this run, even when it stops on an error


def unlocked_remote_sources(manifest, lock) -> list:
    """With --locked: a Problem for each remote version the lock does not vouch for (no entry,
    or another source than the one locked). Needs no request, so it runs before any: a pull
    request that points a version elsewhere without a reviewed lock change reaches no host."""
    problems = []
    for model in manifest.models.values():
        for version in model.versions.values():
            if not version.remote:
                continue
            entry = None if lock is None else lock.get(key_of(model.name, version.number))
            if entry is None or entry.source != version.source:
                why = "is not in models.lock" if entry is None else f"was locked with source {entry.source!r}"
                problems.append(Problem(f"--locked: {key_of(model.name, version.number)} {why}; its source is not "
                                        "read", "lock-missing" if entry is None else "lock-mismatch",
                                        version.doc_path + ("source",),
                                        hint="run `triton-gitops lock` and commit models.lock"))
    return problems


def locked_precheck(manifest, settings: Settings) -> list:
    """`unlocked_remote_sources` for this run's settings ([] unless --locked)."""
    if settings.lock != LOCK_STRICT:
        return []
    return unlocked_remote_sources(manifest, read_lock(lock_path(manifest.path)))


def _resolve(run, manifest) -> list:
    pairs = [(m, v) for m in manifest.models.values() for v in m.versions.values() if v.source]
    locked_keys = [key_of(m.name, v.number) for m, v in pairs]
    if run.strict:
        refused = unlocked_remote_sources(manifest, run.lock)
        if run.lock is not None:  # no lock at all: said once, below
            run.problems.extend(refused)
        skipped = {p.path[:-1] for p in refused}
        pairs = [(m, v) for m, v in pairs if v.doc_path not in skipped]
    workers = run.settings.workers
    listed = in_parallel(run.list, pairs, workers, inline=lambda pair: not pair[1].remote)
    tasks: list = []
    artifacts: dict = {}
    for (model, version), result, exc in listed:
        if exc is not None:
            raise exc
        kind, files, problems = result
        run.problems.extend(problems)
        if kind is None or problems:
            continue
        artifacts[id(version)] = Artifact(version.source, kind, files, remote=version.remote)
        md5 = "md5" if checksum_agent(model.config) is not None else ""
        need_bytes = md5 or (run.settings.fetch and "bytes")
        tasks.extend((model, version, kind, item, need_bytes) for item in files)
    failed = set()
    # Local files only (the usual case): hashing is CPU work, one thread per free core does it.
    if all(task[3].origin is None for task in tasks):
        workers = run.settings.hash_threads
    for task, _, exc in in_parallel(run.digest, tasks, workers, inline=run.known):
        model, version, kind, item, _ = task
        if exc is None:
            continue
        if isinstance(exc, (FatalError, KeyboardInterrupt)):
            raise exc
        failed.add(id(version))
        if isinstance(exc, Mismatch):
            run.problems.append(run.mismatch_problem(model, version, exc, kind))
        else:
            run.problems.append(Problem(f"cannot read {_label(item, manifest.root)}: {type(exc).__name__}: {exc}",
                                        "source-unreadable", version.doc_path + ("source",),
                                        hint="check the source, storage_options and credentials"))
    for model, version in pairs:
        artifact = artifacts.get(id(version))
        if artifact is None or id(version) in failed:
            continue
        version.artifact = artifact
        run.check(model, version, artifact)
    run.problems.extend(_checksums(manifest, run.cache))
    run.stale_lock_entries(locked_keys)
    run.problems.extend(cloud_target_warnings(manifest))
    return run.problems


def _checksums(manifest, cache) -> list:
    problems = []
    for model in manifest.models.values():
        if checksum_agent(model.config) is None:
            continue
        md5s = {}
        for version in model.versions.values():
            artifact: Any = getattr(version, "artifact", None)
            for item in artifact.files if artifact else ():
                name = model.default_model_filename if artifact.kind == FILE else item.rel
                md5s[f"{version.number}/{name}"] = item.md5 or local_digests(cache, item.local, want_md5=True)[1]
        for spec in model.files.values():
            if spec.local_path.is_file():
                md5s[spec.name] = local_digests(cache, spec.local_path, want_md5=True)[1]
        problems.extend(add_md5_parameters(model, md5s))
    return problems
