"""Plain data -> readable YAML text, written by hand rather than with yaml.dump.

PyYAML chooses flow or block style for a whole document at once and cannot place a
comment; a manifest people will edit wants both: short leaves on one line
(`dims: [3, 224, 224]`, `- {name: INPUT0, data_type: FP32, dims: [16]}`), the structure
in block style, and a comment where the import has something to say. Every scalar is
written so that YAML 1.2 (our loader, compiler/manifest/yaml_source.py) and YAML 1.1
tools read the same value back: anything that could be taken for a number, a boolean or
null, or that needs escaping, is written as a double-quoted (JSON) string.
"""
from __future__ import annotations

import json
import math
import re

WIDTH = 100
_PLAIN = re.compile(r"^[A-Za-z_/$.][A-Za-z0-9_./$-]*$")
# Plain text that YAML reads as a number (`.5`, `.inf`, `.NaN`) or a document marker.
_SPECIAL = re.compile(r"^(\.[0-9]|\.(inf|nan)$|\.\.\.)", re.IGNORECASE)
# YAML 1.1 resolves these to booleans or null; quote them so no reader disagrees.
_AMBIGUOUS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}


def scalar(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        return text if any(c in text for c in ".eE") else text + ".0"
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _AMBIGUOUS and not _SPECIAL.match(text):
        return text
    return json.dumps(text, ensure_ascii=False)


def _flow(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{scalar(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return scalar(value)


def flow(value) -> str:
    """A value on one line in flow style: `[{kind: KIND_GPU, count: 2}]`."""
    return _flow(value)


def _depth(value) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _fits(value, used: int) -> bool:
    """Flow style for small leaves only: at most two levels deep and on one short line."""
    if not value:
        return True
    return _depth(value) <= 3 and used + len(_flow(value)) <= WIDTH


class Writer:
    """Builds the document line by line; `comments` maps a path (tuple of keys) to the
    comment lines written just above that key."""

    def __init__(self, comments=None, block_paths=(), spaced_paths=()):
        self.lines: list = []
        self.comments = comments or {}
        # Paths preceded by an empty line (each model after the first), for the eye.
        self.spaced_paths = set(spaced_paths)
        # Paths always written in block style (the root, `models`, each model entry).
        self.block_paths = set(block_paths)

    def _comment(self, path, indent: int) -> None:
        for line in self.comments.get(path, ()):
            self.lines.append(" " * indent + ("# " + line if line else "#"))

    def mapping(self, value: dict, indent: int, path: tuple) -> None:
        for i, (key, item) in enumerate(value.items()):
            if i and path + (key,) in self.spaced_paths:
                self.lines.append("")
            self._comment(path + (key,), indent)
            self._entry(f"{' ' * indent}{scalar(key)}:", item, indent, path + (key,))

    def _entry(self, head: str, item, indent: int, path: tuple) -> None:
        block = path in self.block_paths
        if not isinstance(item, (dict, list)) or (not block and _fits(item, len(head) + 1)):
            self.lines.append(f"{head} {_flow(item)}")
        elif isinstance(item, dict):
            self.lines.append(head)
            self.mapping(item, indent + 2, path)
        else:
            self.lines.append(head)
            self.sequence(item, indent + 2, path)

    def sequence(self, value: list, indent: int, path: tuple) -> None:
        for i, item in enumerate(value):
            dash = " " * indent + "-"
            if not isinstance(item, (dict, list)) or _fits(item, len(dash) + 1):
                self.lines.append(f"{dash} {_flow(item)}")
            elif isinstance(item, dict):
                # The first key shares the dash's line; the rest line up under it.
                start = len(self.lines)
                self.mapping(item, indent + 2, path + (i,))
                self.lines[start] = dash + self.lines[start][indent + 1:]
            else:
                self.lines.append(dash)
                self.sequence(item, indent + 2, path + (i,))

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def dump(data: dict, header=(), comments=None, block_paths=(), spaced_paths=()) -> str:
    writer = Writer(comments, block_paths=set(block_paths) | {()}, spaced_paths=spaced_paths)
    writer.lines.extend(("# " + line if line else "#") for line in header)
    writer.mapping(data, 0, ())
    return writer.text()
