"""Notes: one-line things a user should know that are neither errors nor warnings (a check that
was skipped, a key worth adding).

The stages only collect them, as data: `LoadedManifest.notes` (the manifest stage, and the
notes of Triton's rules on its models), the rules' `Findings`, lint's and import's results.
The commands show them (compiler/commands/__init__.py, `show_notes`): each key once per run,
on stderr, so that JSON output and exit codes stay as they are. Being plain data, they are
kept and replayed with the answers of the fast path like problems are.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple


class Note(NamedTuple):
    key: str  # the kind of note: a run shows the first of each kind
    text: str


def as_data(notes: Iterable[Note]) -> list:
    """[[key, text], ...]: notes as the fast path's files keep them (marshal, JSON)."""
    return [list(note) for note in notes]


def from_data(pairs: Iterable) -> list[Note]:
    """The notes `as_data` kept."""
    return [Note(str(key), str(text)) for key, text in pairs]
