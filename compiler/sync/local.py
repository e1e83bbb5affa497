"""Writing to a local (or mounted) repository so that a polling Triton never sees half a change.

Triton 2.51 in poll mode, measured: a version folder that shows up before its `model.py`
stays LOADING for good and stalls the poller; a `model.py` caught half-written can load
as READY and then hang. Triton (core's ModelTimestamp) re-reads a model when the newest
mtime under its folder grows, and reloads a served version when its own folder, or any
entry of the model folder that is neither the config nor a version folder, changed. So:

* each file is written under a temporary name in its folder and renamed over the old one;
* a new version folder is assembled aside, in a staging folder beside the repository
  (a folder at the repository root, hidden or not, is taken for a model; one inside the
  model folder would make Triton reload every served version), and renamed into place whole;
* a version folder already there of which two or more files change is assembled aside the
  same way (the unchanged files hard-linked in) and swapped with the old one in one step
  (renameat2 RENAME_EXCHANGE): Triton loads the old version or the new one, never a mix,
  and a sync killed before the swap leaves the old one untouched. Where the file system
  cannot swap, the old folder is renamed away and the new one in right after (a poll in
  between sees the version gone, never mixed);
* a new model is assembled in the staging folder and renamed in once its config is there;
* a removed version or model is renamed out of sight first, then deleted, and only when
  it holds nothing but our files (and Triton's `__pycache__/`); otherwise its managed
  files are deleted one by one and the rest stays.

Nothing here follows a symbolic link below the repository root: guard.py refuses a plan
that would, and each write or delete checks its folders again (lstat) right before it
happens; new files are created with O_EXCL|O_NOFOLLOW.

Renames need the staging folder on the same filesystem; where the parent folder cannot
be written, folders are assembled inside the model folder under a temporary name, and new
models are written in place (versions first, config last).
"""
from __future__ import annotations

import ctypes
import errno
import os
import shutil
import stat
import threading
from typing import Any

from compiler.errors import FatalError, printable
from compiler.manifest.variants import FOLDER, is_config_path
from compiler.sync.guard import find_links
from compiler.sync.listing import IGNORED_DIRS
from compiler.sync.state import TMP_PREFIX
from compiler.sync.transfer import write_local

VERSIONS_STAGE = TMP_PREFIX + "versions"  # in the staging folder: <model>/<version> being assembled


class LocalWriter:
    local = True

    def __init__(self, target, plan):
        self.target = target
        self.root = target.root
        self.fs = target.fs
        os.makedirs(self.root, exist_ok=True)
        self.staging = None
        self._checked: set = set()  # folders already seen to hold no link on the way
        self.new_models = {m for m in plan.new_models if not os.path.lexists(self._final(m))}
        self.new_versions = {(m, v) for (m, v) in plan.new_versions if not os.path.lexists(self._final(m, v))}
        self.swapped = {(m, v) for (m, v) in plan.changed_versions if _real_dir(self._final(m, v))}
        if self.new_models or self.new_versions or self.swapped:
            self.staging = self._make_staging()
        in_place_models = set() if self.staging else self.new_models
        self.new_versions |= {(c.model, c.version) for c in plan.active
                              if c.model in in_place_models and c.version}
        self.relinked: set = set()  # unchanged files carried into swapped folders (their stamps change)

    # -- where things go ------------------------------------------------------------------
    def _final(self, *parts) -> str:
        return os.path.join(self.root, *parts)

    def _staging_name(self) -> str:
        parent, name = os.path.split(self.root.rstrip("/"))
        return os.path.join(parent, f".{name}{TMP_PREFIX}{os.getpid()}")

    def _make_staging(self):
        path = self._staging_name()
        try:
            os.makedirs(path, exist_ok=True)
            if not _real_dir(path) or os.stat(path).st_dev != os.stat(self.root).st_dev:
                os.rmdir(path)
                return None  # another filesystem: rename would not be atomic (or possible)
            return path
        except OSError:
            return None

    def _version_stage(self, model: str, version: str) -> str:
        """Where a new or swapped version folder is assembled."""
        if self.staging:
            return os.path.join(self.staging, VERSIONS_STAGE, model, version)
        return self._final(model, TMP_PREFIX + version)

    def dest(self, path: str) -> str:
        model, rest = path.split("/", 1)
        if self.staging and model in self.new_models:
            return os.path.join(self.staging, path)
        head, _, tail = rest.partition("/")
        if tail and ((model, head) in self.new_versions or (model, head) in self.swapped):
            return os.path.join(self._version_stage(model, head), tail)
        return self._final(path)

    def _no_links(self, path: str) -> None:
        """Refuse to act at `path` if a folder on its way below the root (or the staging folder),
        or `path` itself, is a symbolic link."""
        base = self.staging if self.staging and _inside(path, self.staging) else self.root
        rel = os.path.relpath(path, base)
        if rel == ".":
            return
        links = find_links(base, [rel.replace(os.sep, "/")])
        if links:
            where, dest = links[0]
            raise FatalError(f"{self.target.display}: {printable(where)} is a symbolic link (to {printable(dest)}); "
                             "sync never writes or deletes through a link",
                             "replace the link with a real folder or file (or remove it) and run sync again")

    def _folder(self, folder: str) -> None:
        """Make `folder` (and its parents), refusing to go through a link on the way."""
        if folder in self._checked:
            return
        self._no_links(folder)  # before: makedirs would create folders wherever a link points
        os.makedirs(folder, exist_ok=True)
        self._no_links(folder)
        self._checked.add(folder)

    # -- writing ------------------------------------------------------------------------------
    def put(self, change):
        dest = self.dest(change.path)
        folder, name = os.path.split(dest)
        self._folder(folder)
        tmp = os.path.join(folder, f"{TMP_PREFIX}{os.getpid()}-{threading.get_ident()}-{name}")
        try:
            sent = write_local(change.want, tmp)
            os.replace(tmp, dest)  # atomic: a reader sees the old file or the new one; a link is replaced, not followed
        except BaseException:
            _unlink(tmp)
            raise
        return sent

    def publish_versions(self) -> None:
        for model, version in sorted(self.new_versions):
            staged = self._version_stage(model, version)
            if os.path.isdir(staged):
                _move_into_place(staged, self._final(model, version))
        for model, version in sorted(self.swapped):
            staged = self._version_stage(model, version)
            if os.path.isdir(staged):
                self._swap_in(model, version, staged)

    def _swap_in(self, model: str, version: str, staged: str) -> None:
        """Replace the version folder with the one assembled in `staged`, in one step."""
        final = self._final(model, version)
        self._no_links(final)
        self._carry_over(final, staged, f"{model}/{version}/")
        if _exchange(staged, final):
            shutil.rmtree(staged, ignore_errors=True)  # the old folder, now out of sight
            return
        aside = f"{staged}{TMP_PREFIX}old"
        shutil.rmtree(aside, ignore_errors=True)
        os.rename(final, aside)
        os.rename(staged, final)
        shutil.rmtree(aside, ignore_errors=True)

    def _carry_over(self, old: str, new: str, prefix: str) -> None:
        """Hard-link (or copy) into `new` what `old` holds that `new` does not: the files the sync
        leaves unchanged, ours or not. Links are copied as links, never followed."""
        for current, dirs, files in os.walk(old):
            rel_dir = os.path.relpath(current, old)
            keep = []
            for name in dirs:
                if name in IGNORED_DIRS or name.startswith(TMP_PREFIX):
                    continue
                if os.path.islink(os.path.join(current, name)):
                    files.append(name)  # recreated as a link below
                else:
                    keep.append(name)
            dirs[:] = keep
            for name in files:
                if name.startswith(TMP_PREFIX):
                    continue
                rel = name if rel_dir == "." else os.path.join(rel_dir, name)
                src, dst = os.path.join(old, rel), os.path.join(new, rel)
                if os.path.lexists(dst):
                    continue  # written by this sync
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                if os.path.islink(src):
                    os.symlink(os.readlink(src), dst)
                    continue
                try:
                    os.link(src, dst, follow_symlinks=False)
                except OSError:
                    shutil.copy2(src, dst, follow_symlinks=False)
                self.relinked.add(prefix + rel.replace(os.sep, "/"))

    def publish_models(self, models) -> None:
        for model in models:
            if self.staging and model in self.new_models:
                staged = os.path.join(self.staging, model)
                if os.path.isdir(staged):
                    _move_into_place(staged, self._final(model))

    # -- removing -------------------------------------------------------------------------------
    def remove_models(self, deletes, removed_models) -> list:
        """Take away removed models whole (callers order them: ensembles first).

        Returns the deletes still to do: those of models holding files we did not write.
        """
        remaining = {c.path: c for c in deletes}
        for model in removed_models:
            paths = {p for p in remaining if p.startswith(model + "/")}
            if paths and self._only(self._final(model), model, paths):
                self._discard(self._final(model), model_level=True)
                for path in paths:
                    remaining.pop(path)
        return [remaining[p] for p in sorted(remaining)]

    def remove_versions(self, deletes) -> list:
        """Take away version folders left with nothing of ours; return the deletes still to do."""
        remaining = {c.path: c for c in deletes}
        for model, version in sorted({(c.model, c.version) for c in deletes if c.version}):
            prefix = f"{model}/{version}/"
            paths = {p for p in remaining if p.startswith(prefix)}
            if self._only(self._final(model, version), prefix.rstrip("/"), paths):
                self._discard(self._final(model, version), model_level=False)
                for path in paths:
                    remaining.pop(path)
        return [remaining[p] for p in sorted(remaining)]

    def _only(self, folder: str, rel: str, managed: set) -> bool:
        """Does `folder` hold only files in `managed` (besides __pycache__ and our temp names)?
        A link anywhere in it is not ours: then no."""
        if not _real_dir(folder):
            return False
        for current, dirs, files in os.walk(folder):
            if any(os.path.islink(os.path.join(current, d)) for d in dirs):
                return False
            dirs[:] = [d for d in dirs if d not in IGNORED_DIRS and not d.startswith(TMP_PREFIX)]
            prefix = os.path.relpath(current, folder)
            for name in files:
                if name.startswith(TMP_PREFIX):
                    continue
                path = rel + "/" + (name if prefix == "." else f"{prefix}/{name}")
                if path not in managed or os.path.islink(os.path.join(current, name)):
                    return False
        return True

    def _discard(self, folder: str, model_level: bool) -> None:
        self._no_links(folder)
        parent, name = os.path.split(folder)
        if model_level:
            aside = self.staging or self._make_staging()
            if aside is None:  # nowhere outside the repository: take the config first
                _unlink(os.path.join(folder, "config.pbtxt"))
                shutil.rmtree(os.path.join(folder, FOLDER), ignore_errors=True)  # variants: configs too
                shutil.rmtree(folder, ignore_errors=True)
                return
            self.staging = aside
            gone = os.path.join(aside, f"{TMP_PREFIX}gone-{name}")
        else:
            gone = os.path.join(parent, f"{TMP_PREFIX}gone-{name}")
        shutil.rmtree(gone, ignore_errors=True)
        try:
            os.rename(folder, gone)  # out of Triton's sight in one step
        except FileNotFoundError:
            return  # someone removed it already
        shutil.rmtree(gone, ignore_errors=True)

    def delete(self, change) -> None:
        path = self._final(change.path)
        self._no_links(path)
        _unlink(path)
        folder = os.path.dirname(path)
        top = self._final(change.model)
        while folder != top and folder.startswith(top):  # drop folders the deletion emptied
            try:
                os.rmdir(folder)
            except OSError:
                break
            folder = os.path.dirname(folder)

    # -- housekeeping -------------------------------------------------------------------------
    def clean_leftovers(self, leftovers) -> None:
        """Remove temporary files and folders an interrupted sync left behind (ours by name)."""
        for rel in leftovers:
            if os.path.isabs(rel):  # a staging folder beside the repository
                if rel != self.staging:
                    _remove(rel)
                continue
            parts = rel.split("/")
            for i, part in enumerate(parts):
                if TMP_PREFIX in part:
                    victim = self._final(*parts[:i + 1])
                    if i:
                        self._no_links(os.path.dirname(victim))
                    _remove(victim)
                    break

    def finish(self) -> None:
        if self.staging:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _real_dir(path: str) -> bool:
    """A folder, not a link to one."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _remove(path: str) -> None:
    """Remove a file, a link (not what it points to) or a folder tree (rmtree follows no link)."""
    if _real_dir(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        _unlink(path)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_renameat2: Any = None  # the C function, False where there is none, None until looked up


def _exchange(a: str, b: str) -> bool:
    """Swap two folders' names atomically (Linux renameat2 RENAME_EXCHANGE). False where the
    C library or the file system cannot (the caller then renames twice)."""
    global _renameat2
    if _renameat2 is None:
        try:
            _renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
        except (AttributeError, OSError):
            _renameat2 = False
    if _renameat2 is False:
        return False
    if _renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), b)


def _move_into_place(staged: str, final: str) -> None:
    """Rename a staged folder to its final name; merge file by file if that name appeared meanwhile."""
    try:
        os.rename(staged, final)
        return
    except OSError:
        if not _real_dir(final):
            raise
    configs = []
    for current, _dirs, files in os.walk(staged):
        for name in files:
            src = os.path.join(current, name)
            dst = os.path.join(final, os.path.relpath(src, staged))
            if is_config_path("m/" + os.path.relpath(dst, final).replace(os.sep, "/")):
                configs.append((src, dst))  # last, once everything they refer to is there
                continue
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            os.replace(src, dst)
    for src, dst in configs:
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        os.replace(src, dst)
    shutil.rmtree(staged, ignore_errors=True)
