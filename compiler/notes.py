"""One-line notes on stderr, each at most once per run: things a user should know that are
neither errors nor warnings (a check that was skipped, a key worth adding). Kept off stdout so
that JSON output and exit codes stay as they are."""
from __future__ import annotations

import sys

_SHOWN: set = set()
ASKED: list = []  # every (key, text) asked for, shown or not (a replayed answer shows them again)


def note_once(key: str, text: str) -> None:
    ASKED.append((key, text))
    if key in _SHOWN:
        return
    _SHOWN.add(key)
    print(f"note: {text}", file=sys.stderr)


def reset() -> None:
    """For tests: show every note again."""
    _SHOWN.clear()
