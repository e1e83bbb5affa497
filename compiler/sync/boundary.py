"""Where a local target named by the manifest may be: inside the repository the manifest is in.

A reviewer reads `targets: {local: {url: ../elsewhere}}` as a folder name, not as "write
next to the deploy scripts". So a local target that comes from the manifest (no --target,
or --target NAME) must resolve, links followed, inside the manifest's git work tree, or its
folder when it is not in git, and must not hold the manifest itself (a model named like one
of the repository's own folders would then be written among its files). A folder or URL
given on the command line is the user's own choice and is not checked here.
"""
from __future__ import annotations

import os
from pathlib import Path

from compiler.errors import FatalError, printable
from compiler.manifest.sources import source_boundary


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def from_command_line(manifest, requested) -> bool:
    """Did the user name this target's location (a path or URL) on the command line?"""
    return bool(requested) and requested not in manifest.targets


def check_local_target(target, manifest, requested, document=None) -> None:
    """FatalError, located in the manifest, when its local target leaves its repository."""
    if not target.local or from_command_line(manifest, requested):
        return
    folder = Path(os.path.abspath(manifest.path)).parent
    boundary = source_boundary(folder) or folder.resolve()
    real = os.path.realpath(target.root)
    manifest_real = os.path.realpath(manifest.path)
    where = "its git work tree" if (Path(boundary) / ".git").exists() else "the manifest's folder"
    if not _inside(real, str(boundary)):
        problem = f"is outside {where} {boundary}"
    elif _inside(manifest_real, real):
        problem = "holds the manifest itself; the model repository must be a folder of its own"
    else:
        return
    spec = manifest.targets.get(target.name)
    place = ""
    if document is not None and spec is not None:
        line, column = document.locate((*spec.doc_path, "url"))
        place = f"{document.file}:{line}:{column}: "
    shown = printable(spec.url if spec is not None else target.url)
    raise FatalError(f"{place}target {printable(target.name)!r}: local folder {shown!r} ({real}) {problem}",
                     "keep a manifest's local target inside its repository (e.g. build/model_repository); "
                     "to sync to a folder elsewhere, name it on the command line: --target /path/to/folder")
