"""Git LFS pointer files: the few-line stand-in git checks out when the real file was not pulled.

Shipping one to Triton fails late and obscurely ("failed to load model: protobuf parse
error"), so a pointer given as a source is reported up front, with the command that
fetches the real bytes. A pointer is, by the LFS spec, under 1024 bytes and starts with
`version https://git-lfs.github.com/spec/v1`; only files that small are ever opened.
"""
from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Optional

from compiler.console import human_size
from compiler.errors import Problem

MAX_POINTER = 1024
_HEADER = b"version https://git-lfs.github.com/spec/v1\n"
_SIZE = re.compile(rb"^size (\d+)$", re.M)


def pointer_size(path: Path, size: int) -> Optional[int]:
    """The real file's size if `path` is an LFS pointer, else None."""
    if size >= MAX_POINTER or size < len(_HEADER):
        return None
    try:
        with open(path, "rb") as handle:
            head = handle.read(MAX_POINTER)
    except OSError:
        return None
    if not head.startswith(_HEADER) or b"\noid sha256:" not in head:
        return None
    match = _SIZE.search(head)
    return int(match.group(1)) if match else 0


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
    return Problem(message, "source-lfs-pointer", doc_path, hint=hint)
