"""The Git LFS pointer format: the few-line text git holds (and checks out, when the real file
was not pulled) in place of a big file. By the LFS spec a pointer is under 1024 bytes and starts
with `version https://git-lfs.github.com/spec/v1`, so only files that small are ever opened. It
names the real file's sha256 (`oid sha256:<hex>`) and size. Read by the artifacts stage (a
pointer given as a source is an error: compiler/artifacts/lfs.py; a checked-out file's digest:
lfs_digest.py) and by the ONNX rule, which has no graph to check in one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

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
