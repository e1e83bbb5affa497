"""A field-level diff of two model configs (the canonical dicts `ModelSpec.config_dict`).

    diff_configs({"max_batch_size": 8}, {"max_batch_size": 16})
    -> [FieldChange("max_batch_size", 8, 16)]

Paths read like the manifest: `dynamic_batching.max_queue_delay_microseconds`,
`input[TEXT].dims` (list items that all carry a unique `name` are matched by it, so
reordering inputs is no change and a renamed input is one removed and one added),
`instance_group[0].count` (other lists of mappings by position). A list of plain values
(`dims`, `versions`) is one value. A sub-mapping present on one side only is one change
with the whole value, not one line per leaf.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-/]*$")
_WORDS = {"true", "false", "null", "yes", "no", "on", "off", "~"}


@dataclass(frozen=True)
class FieldChange:
    path: str
    before: Any  # MISSING when the field is new
    after: Any  # MISSING when the field was removed

    @property
    def kind(self) -> str:
        if self.before is MISSING:
            return "added"
        if self.after is MISSING:
            return "removed"
        return "changed"

    def as_dict(self) -> dict:
        out = {"path": self.path, "kind": self.kind}
        if self.before is not MISSING:
            out["before"] = self.before
        if self.after is not MISSING:
            out["after"] = self.after
        return out


def diff_configs(before: dict, after: dict) -> list:
    """Every field that differs, in a stable order (the after side's key order, then removed keys)."""
    changes: list = []
    _diff(before or {}, after or {}, "", changes)
    return changes


def _join(prefix: str, key) -> str:
    return f"{prefix}.{key}" if prefix else str(key)


def _diff_keyed(a: dict, b: dict, child_path, out: list) -> None:
    """Mappings (and lists keyed by `name`): the new order first, then what was removed."""
    for key in list(b) + [k for k in a if k not in b]:
        child = child_path(key)
        if key not in a:
            out.append(FieldChange(child, MISSING, b[key]))
        elif key not in b:
            out.append(FieldChange(child, a[key], MISSING))
        else:
            _diff(a[key], b[key], child, out)


def _diff(a, b, path: str, out: list) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        _diff_keyed(a, b, lambda key: _join(path, key), out)
        return
    if isinstance(a, list) and isinstance(b, list) and a != b:
        named_a, named_b = _by_name(a), _by_name(b)
        if named_a is not None and named_b is not None:
            _diff_keyed(named_a, named_b, lambda name: f"{path}[{name}]", out)
            return
        if a and b and all(isinstance(x, dict) for x in a + b):
            for index in range(max(len(a), len(b))):
                child = f"{path}[{index}]"
                if index >= len(a):
                    out.append(FieldChange(child, MISSING, b[index]))
                elif index >= len(b):
                    out.append(FieldChange(child, a[index], MISSING))
                else:
                    _diff(a[index], b[index], child, out)
            return
    if a != b or type(a) is not type(b):
        out.append(FieldChange(path, a, b))


def _by_name(items: list):
    """{name: item} when every item is a mapping with a distinct string `name`, else None."""
    if not items or not all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in items):
        return None
    named = {i["name"]: i for i in items}
    return named if len(named) == len(items) else None


def format_value(value, limit: int = 160) -> str:
    """Compact flow-style YAML for a table cell: `[1, 2]`, `{kind: KIND_CPU, count: 1}`."""
    if value is MISSING:
        return ""
    text = _flow(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _flow(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        if _PLAIN.match(value) and value.lower() not in _WORDS:
            return value
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_flow(str(k))}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)
