"""Digests of model artifacts, always streamed: memory stays flat whatever the file size.

Definitions (documented in README, "Model artifacts"):

* a file's digest is the sha256 of its bytes, exactly what `sha256sum FILE` prints;
* a folder's digest is the sha256 of the text `sha256sum` prints for its files, in byte
  order of their POSIX paths relative to the folder, one line each:
  `<64 hex digest><two spaces><relative path>\\n`. Skipped names (`__pycache__`, `.git`,
  `.DS_Store`) are left out as they are left out of the repository. So anyone can check a
  folder pin with coreutils alone:

      cd FOLDER && find . -type f -printf '%P\\0' | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum

  File names holding a newline or a backslash (which `sha256sum` would escape) are refused.
"""
from __future__ import annotations

import hashlib

# hashlib drops the GIL on buffers this large, so threads hash in parallel, and the
# per-call overhead vanishes: throughput matches `openssl dgst -sha256` (see bench/).
CHUNK = 4 << 20


def sha256_file(path) -> str:
    with open(path, "rb", buffering=0) as handle:
        if hasattr(hashlib, "file_digest"):  # Python >= 3.11: hashes straight from the fd
            return hashlib.file_digest(handle, "sha256").hexdigest()
        return _digest_stream(handle, hashlib.sha256())


def md5_file(path) -> str:
    """Only for Triton's checksum agent, which knows no other algorithm; computed on demand."""
    with open(path, "rb", buffering=0) as handle:
        return _digest_stream(handle, hashlib.md5())


def _digest_stream(handle, hasher) -> str:
    return digest_stream(handle, hasher)[1]


def digest_stream(handle, *hashers) -> tuple:
    """(bytes read, hexdigest per hasher) in one pass with a fixed buffer: constant memory
    whatever the size. Shared by the artifacts and the sync's hash cache."""
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    size = 0
    while True:
        count = handle.readinto(buffer)
        if not count:
            return (size, *(h.hexdigest() for h in hashers))
        size += count
        for hasher in hashers:
            hasher.update(view[:count])


def digest_path(path, *names) -> tuple:
    """(size, hexdigest per algorithm name) of a file."""
    with open(path, "rb", buffering=0) as handle:
        return digest_stream(handle, *(hashlib.new(name) for name in names))


def bad_name(rel: str) -> bool:
    """A name the folder digest cannot represent unambiguously."""
    return "\n" in rel or "\\" in rel


def folder_digest(files) -> str:
    """`files`: iterable of (relative POSIX path, sha256 hex). Order does not matter."""
    outer = hashlib.sha256()
    for rel, sha in sorted(files, key=lambda item: item[0].encode("utf-8")):
        outer.update(f"{sha}  {rel}\n".encode("utf-8"))
    return outer.hexdigest()


def is_sha256(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)
