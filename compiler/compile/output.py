"""Write a tree to a local folder atomically, or say what writing it would change.

The repository is assembled in a sibling folder and swapped in with one rename
(renameat2 RENAME_EXCHANGE on Linux), so a reader such as a polling Triton sees either
the old repository or the new one, never a mix, and an interrupted compile leaves the
old one untouched.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from compiler.compile.assemble import assemble
from compiler.compile.build_record import MARKER
from compiler.control_files import CONTROL_NAMES, LOCK_NAME, ROLLOUT_NAME, STATE_NAME, TMP_PREFIX, Record, State
from compiler.errors import FatalError

_IGNORED_DIRS = {"__pycache__"}  # Triton's Python backend writes these beside model.py; sync ignores them too

CREATE, UPDATE, DELETE, UNCHANGED = "create", "update", "delete", "unchanged"


@dataclass
class FileChange:
    action: str
    path: str
    size: int  # new size (old size for deletes)
    old_size: int = 0


@dataclass
class DiffResult:
    changes: list = field(default_factory=list)  # everything but unchanged files

    @property
    def pending(self) -> bool:
        return bool(self.changes)


def _existing_files(out: Path) -> dict:
    found = {}
    stack = [(out, "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            items = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        for item in items:
            rel = prefix + item.name
            if item.is_dir(follow_symlinks=False):
                stack.append((Path(item.path), rel + "/"))
            elif rel not in CONTROL_NAMES:
                found[rel] = item.stat(follow_symlinks=False).st_size
    return found


def _same_content(entry, existing: Path) -> bool:
    if entry.data is not None:
        return existing.read_bytes() == entry.data
    with open(entry.source, "rb") as a, open(existing, "rb") as b:
        while True:
            chunk_a, chunk_b = a.read(1 << 20), b.read(1 << 20)
            if chunk_a != chunk_b:
                return False
            if not chunk_a:
                return True


def diff_tree(tree, out: Path) -> DiffResult:
    """What `write_tree(tree, out)` would change, by content (never by mtime)."""
    existing = _existing_files(out) if out.is_dir() else {}
    result = DiffResult()
    for entry in tree.entries:
        old = existing.pop(entry.path, None)
        if old is None:
            result.changes.append(FileChange(CREATE, entry.path, entry.size))
        elif old != entry.size or not _same_content(entry, out / entry.path):
            result.changes.append(FileChange(UPDATE, entry.path, entry.size, old))
    for path, size in sorted(existing.items()):
        result.changes.append(FileChange(DELETE, path, size, size))
    result.changes.sort(key=lambda c: c.path)
    return result


def _synced_files(out: Path) -> set | None:
    """The files a sync recorded as its own in `out`, or None if no sync wrote there."""
    try:
        raw = (out / STATE_NAME).read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise FatalError(f"cannot read {out / STATE_NAME}: {exc.strerror}")
    state = State.from_bytes(raw)
    return None if state.damaged else set(state.files)


def _not_ours(out: Path, ours: set) -> list:
    """Files under `out` that a sync left alone as not written by triton-gitops."""
    found = []
    for rel in _existing_files(out):
        parts = rel.split("/")
        if rel in ours or any(p in _IGNORED_DIRS for p in parts[:-1]) or any(TMP_PREFIX in p for p in parts):
            continue
        found.append(rel)
    return sorted(found)


def check_replaceable(out: Path) -> None:
    """Refuse to replace a folder we did not write: `--out ~` must not wipe a home folder. A
    folder compile wrote (its marker) or a sync wrote (its state) is ours, unless a sync left
    files there that are not: compile replaces the whole folder and would delete them."""
    if out.exists() and not out.is_dir():
        raise FatalError(f"{out} exists and is not a folder", "pass a folder for --out")
    if not out.is_dir() or not any(out.iterdir()) or (out / MARKER).exists():
        return
    if (out / LOCK_NAME).exists():
        raise FatalError(f"{out}: a sync holds its lock ({LOCK_NAME})",
                         "wait for that sync to finish; if none is running, `triton-gitops sync --force-unlock` "
                         "removes the lock")
    synced = _synced_files(out)
    if synced is None:
        raise FatalError(f"{out} is not empty and was not written by triton-gitops",
                         "pass a new or empty folder for --out; compile replaces the whole folder")
    foreign = _not_ours(out, synced)
    if foreign:
        shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
        raise FatalError(f"{out} holds {len(foreign)} file(s) triton-gitops did not write: {shown}",
                         "compile replaces the whole folder: move them away, or use `sync`, which leaves them alone")


def _state_of(written: dict, manifest_name: str, ensembles) -> bytes:
    """The sync state of a freshly assembled folder: every file with its size and sha256, and
    nothing that depends on when or where (no stamps, no time), so the output stays the same
    bytes for the same manifest. A sync after it checks the files by content once and keeps
    their stamps from then on."""
    files = {path: Record(found[0], found[-1]) for path, found in written.items()}
    return State(files, None, manifest_name, "", ensembles=sorted(ensembles)).to_bytes()


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2); False where unsupported."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    if ctypes.get_errno() in (errno.EINVAL, errno.ENOSYS, errno.EPERM):
        return False
    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), str(b))


def write_tree(tree, out: Path, manifest_name: str = "", ensembles=()) -> dict:
    """Replace `out` with the tree; {path: stamp + [sha256]} of every file written."""
    out = Path(out)
    check_replaceable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.tmp-{os.getpid()}"
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging.mkdir()
        written = assemble(tree, staging)
        (staging / MARKER).write_bytes(b"")
        (staging / STATE_NAME).write_bytes(_state_of(written, manifest_name, ensembles))
        if (out / ROLLOUT_NAME).is_file():  # what rollout loaded from this folder stays known
            shutil.copy2(out / ROLLOUT_NAME, staging / ROLLOUT_NAME)
        if out.exists():
            if _exchange(staging, out):
                shutil.rmtree(staging)  # now holds the previous repository
                return written
            os.rename(out, old)
            os.rename(staging, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(staging, out)
        return written
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        raise FatalError(f"cannot write {out}: {where}{exc.strerror or exc}",
                         "the previous repository is untouched; check the sources, permissions and free space")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
