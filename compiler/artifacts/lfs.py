"""Git LFS pointer files: the few-line stand-in git checks out when the real file was not pulled.

Shipping one to Triton fails late and obscurely ("failed to load model: protobuf parse
error"), so a pointer given as a source is reported up front, with the command that
fetches the real bytes. A pointer is, by the LFS spec, under 1024 bytes and starts with
`version https://git-lfs.github.com/spec/v1`; only files that small are ever opened.
The pointer git holds for a big file also names its content's sha256 (`oid sha256:<hex>`):
lfs_digest.py takes a checked-out file's digest from it when git vouches for the file.
"""
from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from compiler.console import human_size
from compiler.errors import Problem

MAX_POINTER = 1024
_HEADER = b"version https://git-lfs.github.com/spec/v1\n"
_SIZE = re.compile(rb"^size (\d+)$", re.M)
_OID = re.compile(rb"^oid sha256:([0-9a-f]{64})$", re.M)


@dataclass(frozen=True)
class Pointer:
    """What a pointer says, as far as it says it: `sha256` is "" and `size` None when their
    line is missing, malformed or given twice (no reader may pick one of two)."""

    sha256: str
    size: Optional[int]


def parse_pointer(text: bytes) -> Optional[Pointer]:
    """The pointer `text` is (the whole of a file or blob), or None when it is not one."""
    if len(text) >= MAX_POINTER or not text.startswith(_HEADER) or b"\noid sha256:" not in text:
        return None
    oids, sizes = _OID.findall(text), _SIZE.findall(text)
    return Pointer(oids[0].decode() if len(oids) == 1 else "", int(sizes[0]) if len(sizes) == 1 else None)


def pointer_size(path: Path, size: int) -> Optional[int]:
    """The real file's size if `path` is an LFS pointer, else None (0 when it does not say)."""
    if size >= MAX_POINTER or size < len(_HEADER):
        return None
    try:
        with open(path, "rb") as handle:
            head = handle.read(MAX_POINTER)
    except OSError:
        return None
    pointer = parse_pointer(head)
    if pointer is None:
        return None
    return pointer.size or 0


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
