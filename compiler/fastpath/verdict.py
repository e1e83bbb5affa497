"""`validate`'s whole answer, replayed while nothing it depends on has changed.

With the per-model cache (results.py) warm, a `validate` of 10,000 models still builds every
model, lists every source folder and looks up every file's digest, to print the same problems
and counts as last time. This is the level above: one answer per manifest (its problems, as
located, the notes, the number of models and files), kept with a key of everything the answer
is a function of, and replayed without loading the manifest at all:

- the manifest's bytes, its path (absolute, real, and as shown in messages), and models.lock's
  bytes;
- the run's settings (lock mode, cache folder, ...), the storage policy, where the git work
  tree begins (the boundary for local sources), and the values of the variables a remote
  target's URL uses (kept with the answer, as compile's build record keeps them);
- where each local target resolves now (the variables the policy lets it expand, `~` and the
  links on the way: manifest/local_target.py's fingerprint), since validate checks it stays in
  the repository;
- the tool itself (compiler/compile/tool_stamp.py: version, Python, the stamps of its files and of
  protobuf's, tritonclient's and onnx's);
- the file system under every local path the manifest names (sources, `files:`, warmup files,
  found or missing): each folder on the way there (type, inode, device), and everything
  under it (name, type, and the stat key the hash index trusts: size, mtime, ctime, inode,
  device). A new, removed, renamed or edited file shows; a chmod shows in the ctime.

Never kept: a manifest that did not load (document or schema errors), one with remote
sources (their stores are read each run), one with a place a credential can be written
(cache_file.may_hold_credentials), one with a symbolic link on the way to or inside a source
(what it points at is not in the key), one naming a source the plain code refuses to look
into (outside the git work tree, a device or /proc: never walked), and an answer some input
of which changed less than RACY_SECONDS before the run began, or during it (its stamps cannot
tell an edit made while the run read it; like git's racy index, that answer is not kept: the
rule is compiler/storage/files.py's `racy`, shared with the hash index and the rules' results).

One file per manifest beside the per-model cache: `<cache>/results/<hash>.verdict`. A file
that is corrupt, foreign or unwritable is ignored, never an error.
"""
from __future__ import annotations

import hashlib
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from compiler.artifacts.lockfile import lock_path
from compiler.console import use_colour
from compiler.fastpath import cache_file, plan_half
from compiler.manifest import local_target
from compiler.manifest.sources import source_boundary
from compiler.manifest.yaml_source import MAX_BYTES
from compiler.notes import as_data, from_data
from compiler.storage.env import target_variables, variables_digest
from compiler.storage.files import racy, stamp_ns, stat_key
from compiler.sync.listing import staging_leftovers

_MAGIC = b"triton-gitops verdict 1\n"
# Sources the plain code refuses before listing them (outside the work tree, /proc and the like,
# links out of a folder): a manifest naming one is never kept, so that nothing walks them.
_REFUSED_SOURCES = {"source-outside", "source-special", "source-unreadable", "source-symlink-escape",
                    "source-symlink-loop"}


@dataclass
class Answer:
    """What `validate` prints: the located problems, and the counts of its OK line."""

    problems: list
    ok: bool
    models: int
    files: int
    notes: list  # compiler.notes.Note of the loaded manifest, shown again with a replay


class _Kept:
    """One command's kept answer for one manifest: its key, the check of the sources, the file."""

    suffix = ""

    def __init__(self, manifest_path, settings, extra: str = ""):
        self.manifest_path, self.settings = manifest_path, settings
        self.started = time.time_ns()
        # One file per manifest and command line: `plan` as text and as JSON do not take turns.
        name = hashlib.sha256(os.fsencode(os.path.abspath(manifest_path)) + b"\0"
                              + extra.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        self.file = Path(settings.cache_root) / "results" / f"{name}.{self.suffix}"
        self.extra = extra
        self.key = _key(manifest_path, settings, extra)

    def _entry(self) -> Optional[dict]:
        """The kept entry for these very inputs (the key, and the sources as they are now), or None."""
        if self.key is None:
            return None
        entry = cache_file.read(self.file, _MAGIC)
        try:
            if not isinstance(entry, dict) or entry.get("key") != self.key:
                return None
            paths = entry["paths"]
            if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
                return None
            if not _same_storage(entry.get("storage"), self.settings.policy):
                return None
            if not local_target.unchanged(entry.get("local_targets"), self.manifest_path, lambda: self.settings.policy):
                return None
            found = _signature(paths)
            self._walked = (paths, found)  # taken after the run began: `_keep` may use it (see there)
            return entry if found is not None and found[0] == entry["signature"] else None
        except Exception:  # noqa: BLE001 - corrupt or foreign: as if there were none
            return None

    def _keep(self, loaded, fields: dict, newest: int = 0) -> None:
        """Write `fields` down with the key, when the answer may be replayed (see the module's
        list of what is never kept). `newest`: the newest stamp (stamp_ns) of other inputs seen."""
        manifest = loaded.manifest
        if self.key is None or manifest is None or loaded.document.problems:
            return
        if cache_file.may_hold_credentials(loaded.document.data) or manifest.has_remote_sources:
            return
        if any(p.rule in _REFUSED_SOURCES for p in loaded.problems):
            return  # a path the plain code refused to look into is not walked here either
        paths = list(dict.fromkeys(manifest.local_sources))
        # The walk `_entry` took of the same paths (an edited source: the key matched, the
        # signature did not) is as good as a new one: it was taken after `started`, so a change
        # before it shows in its stamps (racy, below) and one after it in the next run's walk.
        walked = getattr(self, "_walked", None)
        found = walked[1] if walked is not None and walked[0] == paths else _signature(paths)
        if found is None or racy(max(found[1], newest), self.started):
            return
        if _key(self.manifest_path, self.settings, self.extra) != self.key:  # the manifest or lock changed meanwhile
            return
        names = target_variables(manifest.targets.values())
        storage = None if names is None else {"names": names, "digest": variables_digest(self.settings.policy, names)}
        local_targets = local_target.fingerprints(manifest.targets.values(), self.manifest_path, self.settings.policy)
        cache_file.write(self.file, _MAGIC, {"key": self.key, "paths": paths, "signature": found[0],
                                             "storage": storage, "local_targets": local_targets, **fields})


def _same_storage(kept, policy) -> bool:
    """Whether the variables a remote target's URL uses hold the values the answer was checked
    with (validate expands them, and the result decides where credentials may go); the policy
    itself is in the key."""
    if kept is None:
        return True
    names = kept["names"]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return False
    return variables_digest(policy, names) == kept["digest"]



class Verdict(_Kept):
    """validate's kept answer for one manifest (`replay()`, `keep(loaded, answer)`)."""

    suffix = "verdict"

    def replay(self) -> Optional[Answer]:
        """The answer kept for these very inputs, or None."""
        entry = self._entry()
        if entry is None:
            return None
        try:
            return Answer([cache_file.problem_from(fields) for fields in entry["problems"]], bool(entry["ok"]),
                          int(entry["models"]), int(entry["files"]), _notes(entry))
        except Exception:  # noqa: BLE001 - a malformed entry: computed again
            return None

    def keep(self, loaded, answer: Answer) -> None:
        self._keep(loaded, {"problems": [cache_file.problem_fields(p) for p in answer.problems], "ok": answer.ok,
                            "models": answer.models, "files": answer.files, "notes": as_data(answer.notes)})


def _notes(entry) -> list:
    return from_data(entry["notes"])


class PlanVerdict(_Kept):
    """`plan`'s kept output against a local target: replayed while, besides everything validate's
    answer depends on, the command line, the working folder, whether stdout takes colours, and
    the target folder (every file and folder in it, the way to it, the staging folders beside it)
    are unchanged. Only for a target the manifest names without ${VARIABLES}.

    Against an object store, only the local half is kept, under the same key: the wanted files
    with their digests and what is printed before the plan (plan_half.py); the target's state
    and listing are read each run."""

    suffix = "plan"

    def __init__(self, options, settings):
        super().__init__(options.manifest, settings, repr((sorted(vars(options).items(), key=repr), os.getcwd(),
                                                           use_colour())))
        self.requested = options.target

    def replay(self):
        """(stdout, exit code, notes) of the kept plan against a local target, the kept local half
        (plan_half.Half) against an object store, or None."""
        entry = self._entry()
        if entry is None:
            return None
        try:
            if "half" in entry:
                half = plan_half.half_of(entry, self.requested, self.settings)
                if half is not None:
                    half.notes = _notes(entry)
                return half
            found = _target_signature(entry["target"])
            # Taken after the run began, like `_walked`: `keep` uses it instead of walking again.
            self._target_walked = (entry["target"], found)
            if found is None or found[0] != entry["target_signature"]:
                return None
            return str(entry["out"]), int(entry["code"]), _notes(entry)
        except Exception:  # noqa: BLE001 - a malformed entry: computed again
            return None

    def keep(self, loaded, ctx, out: str, code: int, head: str, sources: list) -> None:
        """Keep the plan's output `out` (a local target), or its local half (an object store:
        `head` the text before the plan's lines, `sources` the JSON's records); ctx is the
        engine's Context the plan was made with, loaded.notes the notes a replay shows."""
        target, notes = ctx.target, as_data(loaded.notes)
        if not target.local:
            found = plan_half.fields(loaded.manifest, ctx, head, sources)
            if found is not None:
                self._keep(loaded, {**found, "notes": notes})
            return
        if target.values or not target.name:
            return
        walked = getattr(self, "_target_walked", None)
        found = walked[1] if walked is not None and walked[0] == target.root else _target_signature(target.root)
        if found is None:
            return
        self._keep(loaded, {"target": target.root, "target_signature": found[0], "out": out, "code": code,
                            "notes": notes}, newest=found[1])


def _target_signature(root: str):
    """`_signature` of a local target folder, with the staging folders beside it that the
    listing reports as an interrupted sync's leftovers (by listing.py's own rule)."""
    found = _signature([root])
    if found is None:
        return None
    beside = sorted(staging_leftovers(root))
    return hashlib.sha256(found[0] + "\0".join(beside).encode("utf-8", "surrogatepass")).digest(), found[1]


def _key(manifest_path, settings, extra: str = "") -> Optional[bytes]:
    """The digest of everything but the source folders, or None when the manifest (or its lock)
    changed too recently to be trusted, or cannot be read (the plain code then explains)."""

    moment = time.time_ns()
    digest = hashlib.sha256()
    try:
        for path in (manifest_path, lock_path(manifest_path)):
            try:
                with open(path, "rb") as handle:
                    info = os.fstat(handle.fileno())
                    # Too big to load (yaml_source.MAX_BYTES): never kept, and never read whole here.
                    if not stat.S_ISREG(info.st_mode) or racy(stamp_ns(info), moment) or info.st_size > MAX_BYTES:
                        return None
                    data = handle.read(MAX_BYTES + 1)
                    if len(data) > MAX_BYTES:  # grew since: as above
                        return None
            except FileNotFoundError:
                data = None
            digest.update(repr((str(path), data is None)).encode() + b"\0" + (data or b"") + b"\0")
        real = os.path.realpath(manifest_path)
        root = Path(real).parent
        boundary = source_boundary(root)
        digest.update(repr((os.path.abspath(manifest_path), str(manifest_path), real, repr(settings),
                            repr(settings.policy), str(boundary), extra)).encode("utf-8", "surrogatepass"))
    except Exception:  # noqa: BLE001 - anything odd: no replay, the plain code runs and explains
        return None
    return digest.digest()


def _signature(paths: list):
    """(digest, newest stamp_ns) of the file system under `paths` (see the module's doc), or
    None when a symbolic link is on the way to or inside one of them. The text is hashed once,
    at the end: 20,000 source folders are ~100,000 lines, and a call per line cost a third."""
    parts: list = []
    folders: dict = {}
    newest = 0
    for path in paths:
        parent = os.path.dirname(path)
        if parent not in folders:
            chain = []
            while parent not in folders and parent != os.path.dirname(parent):
                chain.append(parent)
                parent = os.path.dirname(parent)
            for folder in reversed(chain):
                try:
                    info = os.lstat(folder)
                    folders[folder] = (info.st_mode, info.st_ino, info.st_dev)
                except OSError as exc:
                    folders[folder] = exc.errno
                if isinstance(folders[folder], tuple) and stat.S_ISLNK(folders[folder][0]):
                    return None
                parts.append(f"{folder}\0{folders[folder]}\n")
        try:
            info = os.lstat(path)
        except OSError as exc:
            parts.append(f"{path}\0-{exc.errno}\n")
            continue
        if stat.S_ISLNK(info.st_mode):
            return None
        newest = max(newest, stamp_ns(info))
        parts.append(f"{path}\0{_stamp(info)}")
        if stat.S_ISDIR(info.st_mode):
            below = _walk(path, parts)
            if below is None:
                return None
            newest = max(newest, below)
    return hashlib.sha256("".join(parts).encode("utf-8", "surrogatepass")).digest(), newest


def _walk(folder: str, parts: list) -> Optional[int]:
    """Everything under `folder` onto `parts`; the newest stamp (stamp_ns) seen, or None at a symbolic link."""
    newest = 0
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as found:
                entries = list(found)
        except OSError as exc:
            parts.append(f"{current}\0-{exc.errno}\n")
            continue
        if len(entries) > 1:
            entries.sort(key=_name)
        parts.append(f"{current}\0{len(entries)}\n")
        for entry in entries:
            if entry.is_symlink():
                return None
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError as exc:
                parts.append(f"{entry.name}\0-{exc.errno}\n")
                continue
            # stamp_ns(info), inlined: this runs once per file, 100,000 times at 10,000 models
            if info.st_ctime_ns > newest:
                newest = info.st_ctime_ns
            if info.st_mtime_ns > newest:
                newest = info.st_mtime_ns
            parts.append(f"{entry.name}\0{_stamp(info)}")
            if stat.S_ISDIR(info.st_mode):
                stack.append(entry.path)
    return newest


def _name(entry) -> str:
    return entry.name


def _stamp(info) -> str:
    """The type and permissions, and the hash index's stat key (a chmod shows in both)."""
    return f"{info.st_mode:o} {stat_key(info)}\n"
