"""Small helpers shared by tests: run the CLI in-process and capture what it printed."""
from __future__ import annotations

import contextlib
import io
import json
import os
import time
from pathlib import Path

from compiler.cli import main
from compiler.storage import files as storage_files

REPO = Path(__file__).resolve().parents[1]
# Triton QA model-config cases and real-world configs, vendored with their licenses
# (tests/corpus/README.md says where each file comes from).
CORPUS = REPO / "tests" / "corpus"


def run_cli(*args, cwd=None):
    """(exit code, stdout, stderr) of `triton-gitops ARGS`, run in-process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), contextlib.chdir(cwd or Path.cwd()):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def run_json(*args, cwd=None):
    code, out, err = run_cli(*args, "--output", "json", cwd=cwd)
    return code, json.loads(out), err


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


class _CoarseStat:
    """A stat result whose mtime and ctime are those of a file system with a coarse clock."""

    def __init__(self, real, origin_ns: int, tick_ns: int):
        self._real = real
        self.st_mtime_ns, self.st_ctime_ns = (_tick_start(t, origin_ns, tick_ns)
                                              for t in (real.st_mtime_ns, real.st_ctime_ns))
        self.st_mtime, self.st_ctime = self.st_mtime_ns / 1e9, self.st_ctime_ns / 1e9

    def __getattr__(self, name):
        return getattr(self._real, name)

    def __getitem__(self, index):
        return self._real[index]


def _tick_start(stamp_ns: int, origin_ns: int, tick_ns: int) -> int:
    return stamp_ns if stamp_ns < origin_ns else origin_ns + (stamp_ns - origin_ns) // tick_ns * tick_ns


def coarse_stamps(monkeypatch, tick_seconds: float = 60.0) -> None:
    """Simulate a file system whose clock ticks every `tick_seconds` (FAT's ticks every 2 s), one
    tick beginning now: `os.stat` reports every mtime and ctime from now on as the start of its
    tick, so a file rewritten within the tick it was written in keeps its stat key, as it would
    there. (This machine's ext4 gives each write a stamp of its own: the case cannot be made for
    real here.) Only `os.stat` is coarse; `os.lstat`, `os.scandir` and `os.fstat` are not. The
    racy window is set to the tick, as the rule assumes (compiler/storage/files.py); a tick of
    a minute keeps a slow run of the test inside one."""
    real = os.stat
    origin, tick = time.time_ns(), int(tick_seconds * 1_000_000_000)
    monkeypatch.setattr(storage_files, "RACY_SECONDS", tick_seconds)
    monkeypatch.setattr(os, "stat", lambda *args, **kwargs: _CoarseStat(real(*args, **kwargs), origin, tick))
