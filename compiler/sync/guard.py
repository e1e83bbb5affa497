"""What a sync refuses to do before it writes anything: the checks between a plan and its applying.

* Overwrite a file that triton-gitops did not write (no record of it in the sync state and
  content other than the manifest's), unless the user says so with --overwrite-unmanaged:
  a model named like a folder that already holds someone's code must not replace it.
* Write or delete through a symbolic link inside a local target: a version folder (or any
  folder on the way, or the file itself) linked to a shared store would otherwise have the
  sync "repair" or prune the store. The link is named and nothing is written.

A manifest's local target itself must stay inside the manifest's repository: see
boundary.py, checked as soon as the target is resolved.
"""
from __future__ import annotations

import os
import stat

from compiler.errors import FatalError, printable
from compiler.sync.plan import NOT_OURS, UPDATE

OVERWRITE_FLAG = "--overwrite-unmanaged"
_SHOWN = 5  # paths named in an error; the rest are counted


def unmanaged_overwrites(plan) -> list:
    """Changes that would replace a file triton-gitops never wrote."""
    return [c for c in plan.active if c.action == UPDATE and c.reason == NOT_OURS]


def check_plan(plan, target, overwrite_unmanaged: bool = False) -> None:
    """Raise FatalError (nothing written yet) when the plan would overwrite a foreign file or
    write through a link."""
    foreign = [] if overwrite_unmanaged else unmanaged_overwrites(plan)
    if foreign:
        names = _listed([c.path for c in foreign])
        raise FatalError(f"{target.display}: {names} already on the target, not written by triton-gitops; "
                         "nothing was changed",
                         f"move them away, or pass {OVERWRITE_FLAG} to replace them with the manifest's files")
    if target.local:
        links = find_links(target.root, [c.path for c in plan.active] + list(plan.leftovers) + list(plan.links))
        if links:
            shown = "; ".join(f"{printable(rel)} -> {printable(dest)}" for rel, dest in links[:_SHOWN])
            more = f" (and {len(links) - _SHOWN} more)" if len(links) > _SHOWN else ""
            raise FatalError(f"{target.display}: the sync would write or delete through a symbolic link: "
                             f"{shown}{more}; nothing was changed",
                             "sync never follows links inside a target; replace each link with a real folder "
                             "or file (or remove it) and run sync again")


def _listed(paths: list) -> str:
    shown = ", ".join(printable(p) for p in paths[:_SHOWN])
    more = f" and {len(paths) - _SHOWN} more" if len(paths) > _SHOWN else ""
    return f"{len(paths)} file{'s' if len(paths) != 1 else ''} ({shown}{more})"


def find_links(root: str, rels) -> list:
    """[(path relative to root, where it points)] of every symbolic link on the way to each of
    `rels` (absolute paths, such as staging folders beside the root, are checked from their
    parent). The root itself may be a link: the user named it."""
    seen: dict = {}
    found = []
    for rel in rels:
        if os.path.isabs(rel):
            base, parts = os.path.dirname(rel), [os.path.basename(rel)]
        else:
            base, parts = root, rel.split("/")
        current = base
        for part in parts:
            current = os.path.join(current, part)
            known = seen.get(current)
            if known is None:
                try:
                    known = seen[current] = stat.S_ISLNK(os.lstat(current).st_mode)
                except OSError:  # missing (to be created) or unreadable: nothing to follow
                    known = seen[current] = False
                    break
                if known:
                    found.append((os.path.relpath(current, root), _readlink(current)))
            if known:
                break
    return sorted(set(found))


def _readlink(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "?"

