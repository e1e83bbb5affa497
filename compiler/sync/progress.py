"""Progress while a sync runs: a redrawn bar on a terminal, one plain line per file elsewhere.

CI logs keep every line, so there a bar would be noise; a person at a terminal wants one
line that moves. Both go to stderr, so `--output json` keeps stdout machine-readable. The
plain lines are for runs whose stdout does not list the files already (`--output json`):
text output has printed the plan, file by file, so a CI log needs each file only once.
"""
from __future__ import annotations

import sys
import time

from compiler.console import human_size
from compiler.errors import printable

_PAST = {"create": "created", "update": "updated", "repair": "repaired", "delete": "deleted"}


class Progress:
    def __init__(self, stream=None, enabled: bool = True, tty=None, lines: bool = True):
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.lines = lines  # one line per file where there is no bar
        self.tty = (hasattr(self.stream, "isatty") and self.stream.isatty()) if tty is None else tty
        self.files = self.bytes = self.total_files = self.total_bytes = 0
        self.started = time.monotonic()
        self._last_draw = 0.0

    def start(self, total_files: int, total_bytes: int) -> None:
        self.total_files, self.total_bytes = total_files, total_bytes
        self.started = time.monotonic()

    def note(self, message: str) -> None:
        if self.enabled:
            self._clear()
            self.stream.write(printable(message) + "\n")
            self.stream.flush()

    def done(self, action: str, path: str, size: int) -> None:
        self.files += 1
        self.bytes += size if action != "delete" else 0
        if not self.enabled:
            return
        if self.tty:
            now = time.monotonic()
            if now - self._last_draw >= 0.1 or self.files == self.total_files:
                self._draw()
                self._last_draw = now
        elif self.lines:
            extra = f" ({human_size(size)})" if action != "delete" else ""
            self.stream.write(f"{_PAST.get(action, action)} {printable(path)}{extra}\n")
            self.stream.flush()

    def _draw(self) -> None:
        width = 30
        fraction = self.bytes / self.total_bytes if self.total_bytes else self.files / max(self.total_files, 1)
        filled = int(width * min(fraction, 1.0))
        rate = self.bytes / max(time.monotonic() - self.started, 1e-6)
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.files}/{self.total_files} files "
                          f"{human_size(self.bytes)}/{human_size(self.total_bytes)} {human_size(int(rate))}/s ")
        self.stream.flush()

    def _clear(self) -> None:
        if self.tty and self._last_draw:
            self.stream.write("\r\033[K")

    def finish(self) -> None:
        if self.enabled and self.tty and self._last_draw:
            self.stream.write("\n")
            self.stream.flush()
        self._last_draw = 0.0

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started
