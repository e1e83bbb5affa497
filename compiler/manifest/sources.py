"""Where a manifest's local sources may come from, and their resolved paths.

Kept apart from the rest of the build (and free of heavy imports) because compile's
up-to-date check needs the same boundary without loading the manifest.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from compiler.errors import Problem
from compiler.storage.urls import local_part


def source_boundary(folder: Path):
    """Where local sources may live: inside the git work tree that holds the manifest, which
    is what review covers. Otherwise a one-line PR such as `files: {env.txt: ../../.aws/credentials}`
    would ship whatever the CI machine has. Outside git (a local run, an imported repository)
    there is no review to protect and relative paths may go anywhere: None."""
    folder = folder.resolve()
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


_SYSTEM_ROOTS = ("/proc", "/sys", "/dev")


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


class SourceScope:
    """Where one manifest's local sources are looked up, with real paths remembered per
    folder for this one run: resolving `src/m/1` checks only the parts not seen before (one
    lstat for `m`, one for `1`), where os.path.realpath would lstat every part again for
    each of thousands of versions."""

    def __init__(self, root: Path, boundary):
        self.root, self.boundary = root, boundary
        self._folders: dict = {}
        self.asked: list = []  # every local path looked up, as local_source made it

    def _real_folder(self, folder: str) -> str:
        real = self._folders.get(folder)
        if real is None:
            parent, name = os.path.split(folder)
            if parent == folder or not name:  # the file system's root
                real = os.path.realpath(folder)
            else:
                real = self.realpath(folder)
            self._folders[folder] = real
        return real

    def realpath(self, path: str) -> str:
        """os.path.realpath of a normalized absolute path."""
        parent, name = os.path.split(path)
        joined = os.path.join(self._real_folder(parent), name)
        return os.path.realpath(joined) if os.path.islink(joined) else joined


def local_source(scope: SourceScope, source: str, doc_path: tuple, problems: list, need_file=False):
    """The resolved local path of `source` (a path, or a file:// or local:// URL: one rule for
    every way to name a local file), or None after adding a located problem.

    String checks on the real path rather than pathlib's `parents`: this runs once per
    version and file, thousands of times for a large manifest."""
    root, boundary = scope.root, scope.boundary
    written, source = source, local_part(source)
    if os.path.isabs(source) or source[1:3] in (":\\", ":/") or "\0" in source:
        problems.append(Problem(f"source {written!r} is an absolute path", "source-outside", doc_path,
                                hint="use a path relative to the manifest"))
        return None
    local = Path(os.path.normpath(os.path.join(root, source)))  # one Path made, not two
    scope.asked.append(str(local))
    try:
        real = scope.realpath(str(local))
        if boundary is not None and not _inside(real, str(boundary)):
            problems.append(Problem(f"source {written!r} is outside the git work tree {boundary}", "source-outside",
                                    doc_path, hint="use a path relative to the manifest, inside its git repository"))
            return None
        try:
            mode = os.stat(real).st_mode
        except FileNotFoundError:
            mode = None
        if any(_inside(real, r) for r in _SYSTEM_ROOTS) or (
                mode is not None and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))):
            problems.append(Problem(f"source {written!r} is not a regular file or folder ({real})", "source-special",
                                    doc_path, hint="point at model files, not at devices or system files"))
            return None
    except OSError as exc:  # e.g. a name longer than the file system allows
        problems.append(Problem(f"source {written!r} cannot be read: {exc.strerror}", "source-unreadable", doc_path))
        return None
    if mode is None or (need_file and not stat.S_ISREG(mode)):
        what = "file" if need_file else "source"
        problems.append(Problem(f"{what} {written!r} does not exist (looked for {local})", "source-missing",
                                doc_path, hint="fix the path; it is relative to the manifest"))
    return local
