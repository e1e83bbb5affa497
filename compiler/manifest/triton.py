"""The manifest's `triton:` keys (top level and per target): which Triton release serves it.

Each is a version ("2.51"), a container tag ("24.10") or a list of them (several servers share
the repository). The configs are the same for every target, so the rules check them against the
oldest release any of them names (`oldest`), and say whose it is.
"""
from __future__ import annotations

from typing import Optional

from compiler import triton_releases
from compiler.errors import Problem
from compiler.notes import Note


def _one(value, doc_path, problems):
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        problems.append(Problem(f"triton: {value!r} is not a Triton release", "triton-release", doc_path,
                                hint='write the version ("2.51") or the container tag ("24.10"), quoted'))
        return None
    if isinstance(value, (int, float)):
        guess = f"{value:.2f}" if isinstance(value, float) and value >= 20 else str(value)
        problems.append(Problem(f"triton: {value} is a number, not a release name", "triton-release", doc_path,
                                hint=f'quote it: "{guess}" (YAML reads an unquoted 24.10 as the number 24.1)'))
        return None
    release, why = triton_releases.parse(value)
    if release is None:
        problems.append(Problem(why, "triton-release", doc_path,
                                hint="the table is compiler/data/triton_releases.json (scripts/triton_releases.py)"))
    return release


def releases_of(value, doc_path, problems):
    """The oldest release `value` names, or None (nothing given, or only problems)."""
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    if not items:
        problems.append(Problem("triton: an empty list names no release", "triton-release", doc_path,
                                hint='name at least one, e.g. ["24.10"]'))
        return None
    found = [_one(v, doc_path + ((i,) if isinstance(value, list) else ()), problems) for i, v in enumerate(items)]
    found = [r for r in found if r is not None]
    return min(found) if found else None


def oldest(manifest):
    """(release, who) the rules check against: the oldest of the manifest's and the targets'."""
    candidates = []
    if manifest.triton is not None:
        candidates.append((manifest.triton, "the manifest"))
    for name, target in sorted(manifest.targets.items()):
        if target.triton is not None:
            candidates.append((target.triton, f"target '{name}'"))
    if not candidates:
        return None, ""
    return min(candidates, key=lambda c: c[0])


def unsaid_note(manifest, display: str) -> Optional[Note]:
    """The note for a manifest that names no Triton release anywhere, or None."""
    if manifest.triton is not None or any(t.triton is not None for t in manifest.targets.values()):
        return None
    newest = triton_releases.newest()
    return Note("triton-unsaid", f"{display} does not say which Triton serves it; add e.g. `triton: \"24.10\"` "
                                 f"(the container tag or version you run, up to {newest.container}) and what that "
                                 "release does not know becomes an error")
