"""A manifest's local target, checked once more on the folder `plan` or `sync` resolved.

The rule and its reasons: compiler/manifest/local_target.py, which also reports it when the
manifest is built (so `validate` says it). Here it runs on the folder about to be used, right
before the first read of it. A folder or URL given on the command line is the user's own
choice and is not checked.
"""
from __future__ import annotations

from compiler.errors import FatalError, printable
from compiler.manifest.local_target import folder_problem


def from_command_line(manifest, requested) -> bool:
    """Did the user name this target's location (a path or URL) on the command line?"""
    return bool(requested) and requested not in manifest.targets


def check_local_target(target, manifest, requested, document=None) -> None:
    """FatalError, located in the manifest, when its local target leaves its repository."""
    if not target.local or from_command_line(manifest, requested):
        return
    spec = manifest.targets.get(target.name)
    written = spec.url if spec is not None else target.written  # as written: never a variable's value
    doc_path = spec.doc_path if spec is not None else ("targets", target.name)
    problem = folder_problem(written, target.root, manifest.path, doc_path, target.values)
    if problem is None:
        return
    place = ""
    if document is not None and spec is not None:
        line, column = document.locate(problem.path)
        place = f"{document.file}:{line}:{column}: "
    raise FatalError(f"{place}target {printable(target.name)!r}: {problem.message}", problem.hint)
