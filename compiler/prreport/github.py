"""Writing where a GitHub Actions runner reads: the job summary and step outputs.

The runner names both files in the environment (`GITHUB_STEP_SUMMARY`, `GITHUB_OUTPUT`);
a multi-line output is written in the heredoc form with a random delimiter that cannot
occur in the value.
"""
from __future__ import annotations

import os
import secrets

from compiler.errors import FatalError


def _file(variable: str) -> str:
    path = os.environ.get(variable, "")
    if not path:
        raise FatalError(f"${variable} is not set", "this option is for GitHub Actions; run it in a workflow step")
    return path


def append_summary(markdown: str) -> None:
    with open(_file("GITHUB_STEP_SUMMARY"), "a", encoding="utf-8") as handle:
        handle.write(markdown if markdown.endswith("\n") else markdown + "\n")


def set_outputs(values: dict) -> None:
    """Append `name=value` (or the heredoc form for multi-line values) to $GITHUB_OUTPUT."""
    with open(_file("GITHUB_OUTPUT"), "a", encoding="utf-8") as handle:
        for name, value in values.items():
            text = str(value)
            if "\n" not in text and "\r" not in text:
                handle.write(f"{name}={text}\n")
                continue
            delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
            while delimiter in text:  # pragma: no cover - 128 random bits
                delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
            handle.write(f"{name}<<{delimiter}\n{text}\n{delimiter}\n")


def read_outputs(path) -> dict:
    """Parse a $GITHUB_OUTPUT file the way the runner does (used by the tests)."""
    values: dict = {}
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body = []
            while lines[index] != delimiter:
                body.append(lines[index])
                index += 1
            index += 1
            values[name] = "\n".join(body)
        else:
            name, value = line.split("=", 1)
            values[name] = value
    return values
