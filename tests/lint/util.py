"""Helpers for lint tests: write files into a temporary tree, find the corpus."""
from __future__ import annotations

from pathlib import Path

from tests.helpers import CORPUS  # noqa: F401  (re-exported for the lint tests)


def write(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
