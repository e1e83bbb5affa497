"""Fewer garbage-collector passes for `sync` and `plan` (a whole process, from compiler/__main__.py).

Imports and listings allocate hundreds of thousands of objects that all stay alive until the
process ends; the default collector walks them over and over to free nothing, and once more
at interpreter exit. A higher first threshold walks them less often, and frozen at exit they
are freed without being walked. What it saves: docs/benchmarks.md (Sync)."""
from __future__ import annotations

import atexit
import gc


def fewer_passes() -> None:
    atexit.register(gc.freeze)
    old = gc.get_threshold()
    gc.set_threshold(50_000, old[1], old[2])
