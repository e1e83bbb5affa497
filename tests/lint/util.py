"""Helpers for lint tests: write files into a temporary tree, find the corpus."""
from __future__ import annotations

from pathlib import Path

# The shared corpus sits next to the repository: <clone>/../shared/corpus (read-only, never copied in).
CORPUS = (Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus").resolve()


def write(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
