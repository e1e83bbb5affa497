"""Git LFS pointer files: the few-line stand-in git checks out when the real file was not pulled.

Shipping one to Triton fails late and obscurely ("failed to load model: protobuf parse
error"), so a pointer given as a source is reported up front, with the command that
fetches the real bytes. The format itself: compiler/storage/lfs_pointer.py.
The pointer git holds for a big file also names its content's sha256 (`oid sha256:<hex>`):
lfs_digest.py takes a checked-out file's digest from it when git vouches for the file.
"""
from __future__ import annotations

import os
import posixpath
from pathlib import Path
from typing import Optional

from compiler.console import human_size
from compiler.errors import Problem


def _repository_root(path: Path) -> Optional[Path]:
    for folder in [path.parent, *path.parent.parents]:
        if (folder / ".git").exists():  # a folder, or a file in worktrees and submodules
            return folder
    return None


def pointer_problem(files: list, source: str, doc_path: tuple, remote: bool) -> Problem:
    """One problem for a version whose files include pointers: `files` is [(path, label, real size)]."""
    _, first, real = files[0]
    more = f" (and {len(files) - 1} more)" if len(files) > 1 else ""
    message = (f"{first} is a Git LFS pointer, not the model file{more}: the real file"
               f"{f' ({human_size(real)})' if real else ''} was never pulled")
    if remote:
        return Problem(message, "source-lfs-pointer", doc_path,
                       hint=f"{source} holds pointer files: upload the real files (run `git lfs pull` where they "
                            "were committed, then copy them)")
    root = _repository_root(Path(files[0][0]).resolve())
    if root is None:
        hint = "fetch the real file with `git lfs pull` in the repository it came from"
    else:
        rels = [Path(p).resolve().relative_to(root).as_posix() for p, _, _ in files]
        folder = posixpath.commonpath([posixpath.dirname(r) for r in rels])
        pattern = ",".join(rels) if len(rels) <= 3 else (folder + "/**" if folder else "*")
        hint = f"run `git lfs pull --include=\"{pattern}\"` in {root}"
        if os.environ.get("GITHUB_ACTIONS") == "true":  # the checkout step is where a workflow fixes it
            hint += " (in a GitHub Actions workflow: `lfs: true` under the actions/checkout step's `with:`)"
    return Problem(message, "source-lfs-pointer", doc_path, hint=hint)
