"""Digests of model artifacts: the folder digest and the names it can represent (a file's digest is
compiler.storage.files.sha256_file, streamed).

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


def bad_name(rel: str) -> bool:
    """A name the folder digest cannot represent unambiguously."""
    return "\n" in rel or "\\" in rel


def folder_digest(files) -> str:
    """`files`: iterable of (relative POSIX path, sha256 hex). Order does not matter."""
    outer = hashlib.sha256()
    for rel, sha in sorted(files, key=lambda item: item[0].encode("utf-8")):
        outer.update(f"{sha}  {rel}\n".encode())
    return outer.hexdigest()
